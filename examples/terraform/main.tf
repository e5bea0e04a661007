# A typical key: policy from a policy document, one role that both
# administers and uses the key, and rotation left off.
data "aws_caller_identity" "current" {}

variable "rotate" {
  type    = bool
  default = false
}

resource "aws_iam_role" "app" {
  name               = "app"
  assume_role_policy = "{}"
}

resource "aws_kms_key" "app" {
  description             = "application data"
  enable_key_rotation     = var.rotate
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.app.json
}

resource "aws_kms_alias" "app" {
  name          = "alias/app"
  target_key_id = aws_kms_key.app.key_id
}

data "aws_iam_policy_document" "app" {
  statement {
    sid       = "EnableRoot"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "AppAdminAndUse"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.app.arn]
    }
  }
}

# An HMAC key: it cannot rotate automatically, so no rotation finding.
resource "aws_kms_key" "mac" {
  description              = "request signing"
  key_usage                = "GENERATE_VERIFY_MAC"
  customer_master_key_spec = "HMAC_256"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "EnableRoot"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}
