"""iackms: static checks for AWS KMS keys in Terraform and CloudFormation."""

__version__ = "0.1.0"
