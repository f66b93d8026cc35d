"""How the offline plan fakes the Kubernetes provider: it echoes what it is given. The API server's defaults are not
part of a plan, and `mlstack render` writes the plan's objects as they are: nothing is added here."""

from __future__ import annotations

from typing import Any

from mlstack.components.kubernetes import settings as s


def attributes(typ: str, name: str, inputs: dict[str, Any], placement: s.KubernetesTarget) -> dict[str, Any]:
    return {}


def call(placement: s.KubernetesTarget) -> dict[str, Any]:
    return {}
