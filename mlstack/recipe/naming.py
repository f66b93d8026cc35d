"""Deterministic resource names derived from the recipe name, shared by every target.

Each target's own naming rules (S3, GCS, Azure, ...) live in its package: `components/<target>/naming.py`.
"""

from __future__ import annotations

import hashlib


def bounded_name(stack: str, suffix: str, limit: int) -> str:
    """`<stack>-<suffix>` within `limit` characters (Container Apps and ALBs: 32); a short hash of the stack name
    keeps long names distinct when they must be cut."""
    name = f"{stack}-{suffix}"
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(stack.encode()).hexdigest()[:6]
    return f"{stack[: limit - len(suffix) - 8].rstrip('-')}-{digest}-{suffix}"
