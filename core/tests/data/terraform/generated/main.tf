# Made with Terraform 1.11.4 and its built-in provider only (the registry is not reachable
# here): `terraform init && terraform plan -out plan.bin && terraform show -json plan.bin`.
variable "env" {
  default = "dev"
}

resource "terraform_data" "bucket" {
  input = { acl = "public-read", env = var.env }
}

resource "terraform_data" "later" {
  input = { id = terraform_data.bucket.id, ports = [22, terraform_data.bucket.id] }
}

module "web" {
  source = "./web"
}
