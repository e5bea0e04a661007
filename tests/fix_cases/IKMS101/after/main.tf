# Flipped: rotation written as false, the comment after it kept.
resource "aws_kms_key" "payments" {
  description         = "Payments database encryption"
  enable_key_rotation = true # off during the migration
}

# Added: rotation not set (the default is off), in its place and aligned.
resource "aws_kms_key" "logs" {
  description             = "Application log encryption"
  enable_key_rotation     = true
  deletion_window_in_days = 30
}

# Added to an empty block.
resource "aws_kms_key" "scratch" {
  enable_key_rotation = true
}

# A quoted value stays quoted.
resource "aws_kms_key" "quoted" {
  enable_key_rotation = "true"
}

# Added before tags, the next attribute in the usual order.
resource "aws_kms_key" "with_policy" {
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = []
  })
  enable_key_rotation = true
  tags = {
    Team = "payments"
  }
}
