"""iackms rules as Checkov external checks (`checkov --external-checks-dir`)."""
