# Applied once with `gone` and the first values, then changed to this and planned:
# `terraform plan -out plan.bin && terraform show -json plan.bin`.
resource "terraform_data" "kept" {
  input = { acl = "private" }
}

resource "terraform_data" "changed" {
  input = { acl = "public-read" }
}

resource "terraform_data" "replaced" {
  input            = { size = "large" }
  triggers_replace = ["v2"]
}
