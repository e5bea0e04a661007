# Lowered to rotation_max_days.
resource "aws_kms_key" "backups" {
  description             = "Backup vault encryption"
  enable_key_rotation     = true
  rotation_period_in_days = 730 # two years
}

# Added after enable_key_rotation (unset, AWS rotates every 365 days); the group is realigned.
resource "aws_kms_key" "reports" {
  description         = "Reporting bucket encryption"
  enable_key_rotation = true
}
