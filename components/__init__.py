"""Pulumi ComponentResources, installed as `mlstack.components` (one folder per target family)."""
