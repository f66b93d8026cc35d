"""Components of the `azure` target (Pulumi Azure Native provider)."""
