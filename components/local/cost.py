"""What a local stack takes of this machine: per service, the runtime it runs from (its size on disk where it is
installed, measured) and the data it keeps (the usage assumed). No money. Memory depends on what the services
hold: the README's local bench table gives what a running default stack measured."""

from __future__ import annotations

from typing import Any

from mlstack.cost.estimate import Priced, Pricing, component_of

NOTES = (
    "no money: the stack runs on this machine",
    "memory: `bench/local.py` measures a running stack's RSS (the README's local bench table)",
)
DATA = {"object_store": "storage_gb", "registry": "registry_gb"}  # which assumed usage a service keeps on disk
PROCESS = "pulumi-python:dynamic/local:Process"
USES = tuple(DATA.values())


def footprint(plan: Any, pricing: Pricing) -> list[dict[str, Any]]:
    from mlstack.home import runtime_bytes

    runtimes = pricing.runtimes_dir
    rows = []
    for r in plan.of_type(PROCESS):
        program = str((r.inputs.get("argv") or [""])[0])
        component = component_of(plan, r)
        prefix = f"{pricing.planned_home}/runtimes/"
        runtime = program.removeprefix(prefix).split("/")[0] if program.startswith(prefix) else None
        installed = runtime is not None and runtimes is not None and (runtimes / runtime).is_dir()
        data = DATA.get(component)
        rows.append(
            {
                "component": component,
                "process": r.name,
                "runs": runtime or program,  # a runtime mlstack installs, or a system program (docker-registry)
                "runtime_disk_mib": round(runtime_bytes(runtimes / runtime) / 2**20, 1)
                if installed and runtimes is not None and runtime is not None
                else None,
                "runtime_installed": installed if runtime else None,
                "data_gb": pricing.usage[data].expected if data else None,
                "data_from": data,
            }
        )
    return rows


def estimate(plan: Any, recipe: Any, pricing: Pricing) -> tuple[Priced, tuple[str, ...]]:
    return Priced(footprint=footprint(plan, pricing)), NOTES


def region(placement: Any) -> str | None:
    return None
