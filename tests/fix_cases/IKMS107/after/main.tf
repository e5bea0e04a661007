resource "aws_kms_key" "sessions" {
  description             = "Session store encryption"
  enable_key_rotation     = true
  deletion_window_in_days = 30 # expect: IKMS107
}

resource "aws_kms_key" "queues" {
  enable_key_rotation     = true
  deletion_window_in_days = "30"
}
