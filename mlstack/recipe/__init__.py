"""The recipe: a declarative description of one MLOps stack. Imports nothing of Pulumi."""
