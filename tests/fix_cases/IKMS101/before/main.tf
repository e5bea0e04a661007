# Flipped: rotation written as false, the comment after it kept.
resource "aws_kms_key" "payments" {
  description         = "Payments database encryption"
  enable_key_rotation = false # off during the migration
}

# Added: rotation not set (the default is off), in its place and aligned.
resource "aws_kms_key" "logs" {
  description             = "Application log encryption"
  deletion_window_in_days = 30
}

# Added to an empty block.
resource "aws_kms_key" "scratch" {}

# A quoted value stays quoted.
resource "aws_kms_key" "quoted" {
  enable_key_rotation = "false"
}

# Added before tags, the next attribute in the usual order.
resource "aws_kms_key" "with_policy" {
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = []
  })
  tags = {
    Team = "payments"
  }
}
