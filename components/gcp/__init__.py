"""Components of the `gcp` target (Pulumi Google Cloud provider)."""
