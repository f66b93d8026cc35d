"""What the kubernetes target does around the engine, for whichever provisioner provides the cluster
(components/kubernetes/clusters/): preflight, prepare, `destroy --purge` (delete what destroy kept, after the
engine's destroy, so a purge never runs an update and works after an earlier plain destroy too) and `doctor`
(the current context's API server answers in 5 s, and each provisioner's own checks)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlstack.components.kubernetes import access, clusters
from mlstack.components.kubernetes.settings import KubernetesTarget
from mlstack.errors import MlstackError


def preflight(placement: KubernetesTarget, stack: str) -> clusters.Gate | None:
    return clusters.of(placement).preflight(placement, stack)


def prepare(
    placement: KubernetesTarget, stack: str, components: dict[str, Any], work_dir: Path, emit: Callable[[str], None]
) -> None:
    clusters.of(placement).prepare(placement, stack, components, work_dir, emit)


def purge(placement: KubernetesTarget, stack: str) -> str | None:
    """Delete what destroy kept; what was deleted, or None when nothing was there."""
    return clusters.of(placement).purge(placement, stack)


def doctor_checks() -> list[clusters.Check]:
    checks: list[clusters.Check] = []
    try:
        cluster = access.connect(None)
    except MlstackError as exc:
        checks.append(("context", False, exc.message))
    else:
        checks.append(("context", True, f"{cluster.context}: {cluster.server} answers"))
    for provisioner in clusters.provisioners():
        checks += provisioner.doctor()
    return checks
