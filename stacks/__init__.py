"""Per-target assembly of a recipe into one Pulumi program, installed as `mlstack.stacks`."""
