"""Components of the `aws` target (Pulumi AWS provider)."""
