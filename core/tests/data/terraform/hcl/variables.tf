variable "environment" {
  default = "dev"
}

variable "instance_type" {
  default = "t3.small"
}

variable "admin_cidr" {}

locals {
  owner = "payments"
  tags  = { environment = var.environment, owner = local.owner }
}

provider "aws" {
  region = "eu-central-1"
  default_tags {
    tags = { cost-center = "cc-3120" }
  }
}
