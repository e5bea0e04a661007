# Rotation requested of keys AWS cannot rotate: removed.
resource "aws_kms_key" "webhook_hmac" {
  description              = "Webhook signature HMAC key"
  customer_master_key_spec = "HMAC_256"
  key_usage                = "GENERATE_VERIFY_MAC"
}

resource "aws_kms_key" "signing" {
  customer_master_key_spec = "ECC_NIST_P256"
  key_usage                = "SIGN_VERIFY"
  deletion_window_in_days  = 30
}
