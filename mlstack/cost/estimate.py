"""Monthly lines priced from the offline plan: each resource by its target's rule (components/<target>/cost.py),
free where the cloud charges nothing for it (with why), and **unpriced** — named, never counted as 0 — where the
snapshot lacks the price or no rule knows the resource. Quantities and amounts are (expected, low, high): usage
decides the range."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlstack.cost.prices import Snapshot
from mlstack.cost.usage import Assumed

Qty = tuple[float, float, float]  # expected, low, high


def fixed(value: float) -> Qty:
    return (value, value, value)


def scaled(q: Qty, factor: float) -> Qty:
    return (q[0] * factor, q[1] * factor, q[2] * factor)


SUFFIX = {
    **{"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18},
    **{"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60},
}
GIB = 2**30


def quantity(value: Any) -> float:
    """A Kubernetes-style quantity (`500m`, `2Gi`, `1e3`), as Kubernetes, Cloud Run and Container Apps write CPU
    and memory, in base units (cores, bytes)."""
    text = str(value).strip()
    match = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", text)
    if match and match.group(2) in SUFFIX:
        return float(match.group(1)) * SUFFIX[match.group(2)]
    return float(text)  # the exponent form (`1e3`); anything else is a ValueError the engine reports


@dataclass
class Line:
    component: str
    resource: str
    item: str
    quantity: Qty
    unit: str
    price_key: str | None
    usd_per_unit: float | None = None  # None: unpriced
    source: str | None = None
    read: str | None = None
    unpriced: str | None = None  # why it is not priced
    as_of: str | None = None

    @property
    def monthly(self) -> Qty | None:
        return None if self.usd_per_unit is None else scaled(self.quantity, self.usd_per_unit)

    def to_dict(self) -> dict[str, Any]:
        monthly = self.monthly
        return {
            "component": self.component,
            "resource": self.resource,
            "item": self.item,
            "quantity": _round(self.quantity[0]),
            "quantity_range": [_round(self.quantity[1]), _round(self.quantity[2])],
            "unit": self.unit,
            "price_key": self.price_key,
            "usd_per_unit": self.usd_per_unit,
            "monthly_usd": None if monthly is None else _cents(monthly[0]),
            "monthly_usd_range": None if monthly is None else [_cents(monthly[1]), _cents(monthly[2])],
            "source": self.source,
            "read": self.read,
            "as_of": self.as_of,
            "unpriced": self.unpriced,
        }


def _round(x: float) -> float:
    return round(x, 4)


def _cents(x: float) -> float:
    return round(x, 2)


@dataclass
class Pricing:
    """What a target's rules price with: the snapshot, the region, and the usage assumed."""

    snapshot: Snapshot
    region: str
    usage: dict[str, Assumed]
    planned_home: str = ""  # the home a plan's paths name (the local target's runtimes)
    runtimes_dir: Path | None = None  # where this machine's runtimes are installed
    used: set[str] = field(default_factory=set)  # the usage keys the rules priced with

    def use(self, key: str) -> Qty:
        self.used.add(key)
        a = self.usage[key]
        return (a.expected, a.low, a.high)

    def line(self, component: str, resource: str, item: str, key: str, quantity: Qty) -> Line:
        found = self.snapshot.price(key, self.region)
        if found is None:
            entry = self.snapshot.prices.get(key)
            why = (
                f"no {key} in the price snapshot"
                if entry is None
                else f"no {self.region} price for {key} (the snapshot has {', '.join(sorted(entry.regions))})"
            )
            unit = entry.unit if entry else ""
            return Line(component, resource, item, quantity, unit, key, unpriced=why)
        entry, price = found
        return Line(
            component, resource, item, quantity, entry.unit, key, price.usd, price.source, price.read, as_of=price.as_of
        )


Rule = Callable[[Any, Pricing, str], list[Line]]  # (planned resource, pricing, component) -> its lines


@dataclass
class Priced:
    """A target's estimate: money (lines, free resources), or what the platform must have (capacity, footprint)."""

    lines: list[Line] = field(default_factory=list)
    free: list[dict[str, str]] = field(default_factory=list)  # resource, type, why nothing is charged for it
    capacity: list[dict[str, Any]] = field(default_factory=list)  # kubernetes: requests and limits per workload
    footprint: list[dict[str, Any]] = field(default_factory=list)  # local: disk and memory per service
    not_sized: list[str] = field(default_factory=list)  # what only a deploy renders (named, never counted as 0)


# What no cloud bills: mlstack's own component resources, providers, and secrets generated on this machine.
NOT_BILLED = {
    "mlstack:": "a grouping of mlstack's: nothing is created for it",
    "pulumi:providers:": "the engine's provider: nothing is created for it",
    "pulumi-python:dynamic/mlstack:GeneratedSecret": "generated on this machine, kept in the stack's state",
}


def component_of(plan: Any, resource: Any) -> str:
    """The recipe's component a resource belongs to: its outermost mlstack component ancestor's name (a component
    may build another inside it: the cloud's store on a managed cluster)."""
    by_urn = {r.urn: r for r in plan.resources}
    node, found = resource, "stack"
    while node is not None:
        if node.type.startswith("mlstack:"):
            found = str(node.name)
        node = by_urn.get(node.parent) if node.parent else None
    return found


def share_of(plan: Any, resource: Any, component: str, counts: Callable[[Any], bool] = lambda r: True) -> float:
    """The part of a component's usage one of its resources carries: the usage split evenly over the component's
    resources of that type (`counts`: which of them carry it, e.g. not a pull-through cache)."""
    same = [r for r in plan.of_type(resource.type) if component_of(plan, r) == component and counts(r)]
    return 1 / max(len(same), 1)


def price_plan(plan: Any, pricing: Pricing, rules: dict[str, Rule], free: dict[str, str]) -> Priced:
    out = Priced()
    for r in plan.resources:
        why_free = next((why for prefix, why in NOT_BILLED.items() if r.type.startswith(prefix)), None)
        if why_free is None:
            why_free = free.get(r.type)
        if r.type in rules:
            out.lines += rules[r.type](r, pricing, component_of(plan, r))
        elif why_free is not None:
            if not r.type.startswith(("mlstack:", "pulumi:providers:")):
                out.free.append({"resource": r.name, "type": r.type, "why": why_free})
        else:
            out.lines.append(
                Line(
                    component_of(plan, r),
                    r.name,
                    r.type,
                    fixed(1),
                    "resource",
                    None,
                    unpriced=f"mlstack has no price rule for {r.type}",
                )
            )
    return out


def total(lines: Iterable[Line]) -> Qty:
    amounts = [line.monthly for line in lines if line.monthly is not None]
    return (sum(a[0] for a in amounts), sum(a[1] for a in amounts), sum(a[2] for a in amounts))
