resource "aws_kms_key" "vault_unseal" {
  description         = "Vault auto-unseal key"
  enable_key_rotation = true
}

resource "aws_kms_key" "app" {
  description         = "Application data"
  enable_key_rotation = true
}

# The bypass written on the policy resource is removed there.
resource "aws_kms_key_policy" "app" {
  key_id = aws_kms_key.app.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "Root"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::111122223333:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}
