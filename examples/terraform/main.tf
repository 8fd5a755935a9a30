# The two incidents paved's infrastructure rules are for, as a developer's change would make
# them: a bucket policy fat-fingered public, and a large instance in a development account with
# no owner. `plan.json` is this configuration's plan in `terraform show -json`'s format.
provider "aws" {
  region = "eu-west-1"
  default_tags {
    tags = { cost-center = "cc-3120" }
  }
}

resource "aws_s3_bucket" "exports" {
  bucket = "acme-customer-exports"
  tags   = { owner = "data-platform" }
}

resource "aws_s3_bucket_policy" "exports" {
  bucket = aws_s3_bucket.exports.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "PartnerRead"
      Effect    = "Allow"
      Principal = "*"
      Action    = ["s3:GetObject"]
      Resource  = "arn:aws:s3:::acme-customer-exports/*"
    }]
  })
}

resource "aws_s3_bucket_public_access_block" "exports" {
  bucket                  = aws_s3_bucket.exports.id
  block_public_acls       = true
  block_public_policy     = false
  ignore_public_acls      = true
  restrict_public_buckets = false
}

resource "aws_s3_bucket_server_side_encryption_configuration" "exports" {
  bucket = aws_s3_bucket.exports.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
  }
}

resource "aws_instance" "load_test" {
  ami           = "ami-0c1c30571d2dae5c9"
  instance_type = "c5.4xlarge"
  subnet_id     = aws_subnet.dev.id
  tags          = { environment = "dev", Name = "load-test" }
  root_block_device {
    encrypted = true
  }
}

resource "aws_subnet" "dev" {
  vpc_id     = "vpc-0a1b2c3d4e5f60718"
  cidr_block = "10.20.1.0/24"
  tags       = { environment = "dev", owner = "platform" }
}

resource "aws_eip" "bastion" {
  domain = "vpc"
  tags   = { environment = "dev", owner = "platform" }
}

# Its source is the bastion's address, known only after apply: the rule that keeps SSH closed
# to the internet is `unknown` on this plan, never a silent pass.
resource "aws_security_group_rule" "ssh_from_bastion" {
  type              = "ingress"
  from_port         = 22
  to_port           = 22
  protocol          = "tcp"
  cidr_blocks       = ["${aws_eip.bastion.public_ip}/32"]
  security_group_id = "sg-0123456789abcdef0"
}
