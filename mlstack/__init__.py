"""mlstack: provision a complete MLOps stack from one declarative YAML recipe, with Pulumi."""

__version__ = "0.1.0"
