"""What a kubernetes stack needs of its cluster: the CPU, memory and storage its workloads request (what the
scheduler reserves) and are limited to (what they may burst to), per component, from the offline plan. No money on a
cluster that is the user's; a cluster the stack creates (eks, gke, aks) adds its control plane and its node pools
as lines its provisioner prices. What renders only at deploy (a chart, KFP's manifests without the mirror) is named
as not sized, never counted as 0."""

from __future__ import annotations

from typing import Any

from mlstack.components.kubernetes import naming as n
from mlstack.components.kubernetes import policy
from mlstack.cost.estimate import GIB, Priced, Pricing, component_of, quantity

YOURS = "the cluster is yours: its capacity is reported, not priced"
MANAGED = (
    "the cluster is the stack's: its control plane and node pools are priced (the pools at min nodes, up to max; "
    "its key and its control plane's logs are not), the workloads' capacity is what those nodes must hold"
)
NOTES = (
    "a pod's request is the larger of its init containers' and the sum of its containers'; Jobs run to completion "
    "(listed, not added to what the cluster keeps reserved)",
)
TRANSIENT = ("kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob")


def uses(placement: Any) -> tuple[str, ...]:
    """No usage decides a cluster's capacity; a cluster the stack creates runs its hours."""
    return ("hours_up",) if placement.cluster and _managed(placement) else ()


def _managed(placement: Any) -> bool:
    from mlstack.components.kubernetes import clusters

    return clusters.of(placement).creates_cluster


def _sum(containers: list[dict[str, Any]], kind: str, what: str) -> float:
    return sum(quantity(((c.get("resources") or {}).get(kind) or {}).get(what, 0)) for c in containers)


def _needs(pod: dict[str, Any], kind: str, what: str) -> float:
    init = [_sum([c], kind, what) for c in pod.get("initContainers") or []]
    return max([_sum(pod.get("containers") or [], kind, what), *init])


def _objects(plan: Any) -> list[tuple[Any, str, str, dict[str, Any]]]:
    """(the plan's resource, name, type, inputs) of every object: the plan's own, and those a rendered manifest
    applies (a ConfigGroup's `objs`, typed as the provider types them)."""
    found = []
    for r in plan.resources:
        if r.type == n.CONFIG_GROUP:
            for obj in r.inputs.get("objs") or []:
                typ = f"kubernetes:{obj.get('apiVersion', '')}:{obj.get('kind', '')}"
                found.append((r, str((obj.get("metadata") or {}).get("name", r.name)), typ, obj))
        else:
            found.append((r, r.name, r.type, r.inputs))
    return found


def capacity(plan: Any) -> tuple[list[dict[str, Any]], list[str]]:
    rows, not_sized = [], []
    specs = policy.pod_specs()
    for r, name, typ, inputs in _objects(plan):
        if typ == n.HELM_CHART:
            not_sized.append(f"{name} (chart: its objects render at deploy)")
            continue
        if typ.startswith("kubernetes:serving.kserve.io"):
            if typ in specs:
                not_sized.append(f"{name} (one predictor per InferenceService you create)")
            continue
        if typ == "kubernetes:core/v1:PersistentVolumeClaim":
            size = quantity(
                (((inputs.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage", 0)
            )
            rows.append(_row(plan, r, name, "PersistentVolumeClaim", 1.0, {}, size, False))
            continue
        if typ not in specs:
            continue
        pod: Any = inputs
        for key in specs[typ]:
            pod = (pod or {}).get(key)
        spec = inputs.get("spec") or {}
        replicas = float(spec.get("replicas", 1)) if typ.startswith("kubernetes:apps/") else 1.0
        storage = sum(
            quantity(((t.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage", 0))
            for t in spec.get("volumeClaimTemplates") or []
        )
        rows.append(_row(plan, r, name, typ.rsplit(":", 1)[-1], replicas, pod or {}, storage, typ in TRANSIENT))
    return rows, not_sized


def _row(plan: Any, r: Any, name: str, kind: str, replicas: float, pod: dict, storage: float, transient: bool) -> dict:
    return {
        "component": component_of(plan, r),
        "workload": name,
        "kind": kind,
        "replicas": replicas,
        "cpu_request": round(replicas * _needs(pod, "requests", "cpu"), 3),
        "cpu_limit": round(replicas * _needs(pod, "limits", "cpu"), 3),
        "memory_request_gib": round(replicas * _needs(pod, "requests", "memory") / GIB, 3),
        "memory_limit_gib": round(replicas * _needs(pod, "limits", "memory") / GIB, 3),
        "storage_gib": round(replicas * storage / GIB, 3),
        "transient": transient,
    }


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
    if _managed(recipe.target):
        from mlstack.components.kubernetes import clusters

        provisioner = clusters.of(recipe.target)
        lines = provisioner.cost_lines(recipe.target, pricing) or []
        lines += provisioner.cloud_cost(plan, pricing)  # the cloud's own store and registry (s3, ecr), if any
        return Priced(lines=lines, capacity=rows, not_sized=not_sized), (MANAGED, *NOTES)
    return Priced(capacity=rows, not_sized=not_sized), (YOURS, *NOTES)


def region(placement: Any) -> str | None:
    """The cloud region of a cluster the stack creates (its lines are money); None: the user's cluster."""
    if not _managed(placement):
        return None
    spec = placement.cluster
    return getattr(spec, "region", None) or getattr(spec, "location", None)
