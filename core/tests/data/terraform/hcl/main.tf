resource "aws_instance" "api" {
  count         = 2
  ami           = "ami-0c1c30571d2dae5c9"
  instance_type = var.instance_type
  subnet_id     = aws_subnet.private.id
  tags          = merge(local.tags, { Name = "api-${var.environment}" })

  root_block_device {
    encrypted = true
  }

  dynamic "ebs_block_device" {
    for_each = var.volumes
    content {
      device_name = ebs_block_device.value
    }
  }
}

resource "aws_security_group_rule" "admin" {
  type        = "ingress"
  from_port   = 22
  to_port     = 22
  protocol    = "tcp"
  cidr_blocks = [var.admin_cidr]
}

resource "aws_iam_policy" "deploy" {
  policy = <<-EOT
    {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
  EOT
}

module "network" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.8.1"
  cidr    = "10.0.0.0/16"
}
