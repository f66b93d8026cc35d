"""What the recipe tests share: the smallest good recipe, which each test breaks in one way."""

from __future__ import annotations

GOOD = """\
apiVersion: mlstack/v1
name: demo
target: local
components:
  registry:
    flavor: distribution
  orchestrator:
    flavor: local
"""
