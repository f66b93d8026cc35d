"""What a kubernetes stack needs of its cluster: the CPU, memory and storage its workloads request (what the
scheduler reserves) and are limited to (what they may burst to), per component, from the offline plan. No money:
the cluster is the user's (a managed cluster's node pools would be priced by its cloud's module). What renders only
at deploy (a chart, KFP's manifests without the mirror) is named as not sized, never counted as 0."""

from __future__ import annotations

import re
from typing import Any

from mlstack.components.kubernetes import naming as n
from mlstack.components.kubernetes import policy
from mlstack.cost.estimate import Priced, Pricing, component_of

NOTES = (
    "the cluster is yours: its capacity is reported, not priced",
    "a pod's request is the larger of its init containers' and the sum of its containers'; Jobs run to completion "
    "(listed, not added to what the cluster keeps reserved)",
)
SUFFIX = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
TRANSIENT = ("kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob")
USES: tuple[str, ...] = ()  # no usage decides a cluster's capacity here


def quantity(value: Any) -> float:
    """A Kubernetes quantity in base units (cores, bytes)."""
    match = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value).strip())
    if not match or match.group(2) not in SUFFIX:
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    return float(match.group(1)) * SUFFIX[match.group(2)]


def _pod(resource: Any, path: tuple[str, ...]) -> dict[str, Any]:
    pod: Any = resource.inputs
    for key in path:
        pod = (pod or {}).get(key)
    return pod or {}


def _sum(containers: list[dict[str, Any]], kind: str, what: str) -> float:
    return sum(quantity(((c.get("resources") or {}).get(kind) or {}).get(what, 0)) for c in containers)


def _needs(pod: dict[str, Any], kind: str, what: str) -> float:
    init = [_sum([c], kind, what) for c in pod.get("initContainers") or []]
    return max([_sum(pod.get("containers") or [], kind, what), *init])


def capacity(plan: Any) -> tuple[list[dict[str, Any]], list[str]]:
    rows, not_sized = [], []
    specs = policy.pod_specs()
    for r in plan.resources:
        if r.type in (n.HELM_CHART, n.CONFIG_GROUP) and not (r.inputs.get("objs") and r.type == n.CONFIG_GROUP):
            not_sized.append(
                f"{r.name} ({'chart' if r.type == n.HELM_CHART else 'manifests'}: its objects render at deploy)"
            )
            continue
        if r.type not in specs or r.type.startswith("kubernetes:serving.kserve.io"):
            if r.type.startswith("kubernetes:serving.kserve.io") and r.type in specs:
                not_sized.append(f"{r.name} (one predictor per InferenceService you create)")
            continue
        pod = _pod(r, specs[r.type])
        spec = r.inputs.get("spec") or {}
        replicas = float(spec.get("replicas", 1)) if r.type.startswith("kubernetes:apps/") else 1.0
        storage = sum(
            quantity(((t.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage", 0))
            for t in spec.get("volumeClaimTemplates") or []
        )
        rows.append(
            {
                "component": component_of(plan, r),
                "workload": r.name,
                "kind": r.type.rsplit(":", 1)[-1],
                "replicas": replicas,
                "cpu_request": round(replicas * _needs(pod, "requests", "cpu"), 3),
                "cpu_limit": round(replicas * _needs(pod, "limits", "cpu"), 3),
                "memory_request_gib": round(replicas * _needs(pod, "requests", "memory") / 2**30, 3),
                "memory_limit_gib": round(replicas * _needs(pod, "limits", "memory") / 2**30, 3),
                "storage_gib": round(replicas * storage / 2**30, 3),
                "transient": r.type in TRANSIENT,
            }
        )
    for r in plan.of_type("kubernetes:core/v1:PersistentVolumeClaim"):
        size = quantity((((r.inputs.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage", 0))
        rows.append(
            {
                "component": component_of(plan, r),
                "workload": r.name,
                "kind": "PersistentVolumeClaim",
                "replicas": 1.0,
                "cpu_request": 0.0,
                "cpu_limit": 0.0,
                "memory_request_gib": 0.0,
                "memory_limit_gib": 0.0,
                "storage_gib": round(size / 2**30, 3),
                "transient": False,
            }
        )
    return rows, not_sized


def estimate(plan: Any, recipe: Any, pricing: Pricing) -> tuple[Priced, tuple[str, ...]]:
    from mlstack.registry import lookup

    rows, not_sized = capacity(plan)
    applied = {r.name.partition("-")[0] for r in plan.of_type(n.CONFIG_GROUP)}
    for kind, spec in recipe.component_specs().items():
        flavor = lookup("kubernetes", kind, spec.flavor)
        if flavor is not None and flavor.manifests and kind not in applied:
            not_sized.append(
                f"{kind} ({', '.join(flavor.manifests)}: rendered manifests, read from the mirror at deploy)"
            )
    return Priced(capacity=rows, not_sized=not_sized), NOTES


def region(placement: Any) -> str | None:
    return None
