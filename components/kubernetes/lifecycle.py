"""What the kubernetes target does around the engine: preflight (the cluster answers, the namespace is the stack's;
kind's tools); `destroy --purge` deletes what destroy keeps (the stack's namespace with its volumes, or the whole kind
cluster) after the engine's destroy, so a purge never runs an update and works after an earlier plain destroy too;
`doctor` checks that the current context's API server answers (5 s) and, for kind, that its tools are there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlstack.components.kubernetes import access, kind
from mlstack.components.kubernetes import naming as n
from mlstack.components.kubernetes.settings import DELETE_TIMEOUT_S
from mlstack.errors import MlstackError


def purge(placement: dict[str, Any], stack: str) -> str | None:
    """Delete what destroy kept; what was deleted, or None when nothing was there."""
    if (placement.get("cluster") or {}).get("type") == "kind":
        return kind.delete_cluster(placement, stack)
    cluster = access.connect(n.context_of(stack, placement))
    namespace = n.namespace_of(stack, placement)
    timeout = int(placement.get("delete_timeout_s") or DELETE_TIMEOUT_S)
    if access.delete_namespace(cluster, namespace, stack, timeout):
        return f"namespace {namespace} and its volumes"
    return None


def preflight(placement: dict[str, Any], stack: str) -> Callable[[], None] | None:
    """Before the engine: kind's tools for a kind cluster (mlstack creates it); otherwise the cluster must answer
    and the stack's namespace, if it exists, must be the stack's own — checked in the background (importing the
    Kubernetes client and two requests take ~0.4 s); the returned gate waits for it."""
    if (placement.get("cluster") or {}).get("type") == "kind":
        kind.preflight(placement, stack)
        return None
    return access.in_background(access.preflight, placement, stack)


def doctor_checks() -> list[tuple[str, bool, str]]:
    checks = []
    try:
        cluster = access.connect(None)
    except MlstackError as exc:
        checks.append(("context", False, exc.message))
    else:
        checks.append(("context", True, f"{cluster.context}: {cluster.server} answers"))
    missing = kind.missing_tools()
    checks.append(
        (
            "kind",
            not missing,
            "kind and a container engine found"
            if not missing
            else "for `cluster: {type: kind}`: needs " + " and ".join(missing),
        )
    )
    return checks
