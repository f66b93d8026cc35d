"""What a stack's next update would do, one step per resource: the document `preview` prints and `deploy` shows
before it asks, and `drift` reports (then the steps are what refreshing the state would change).

A step names the resource, the operation, the properties that change and, for a replacement, the properties that
force it. Values are never part of a step (secrets stay masked because they are never read), only names. A step
that replaces or deletes a resource holding the stack's data (a protected one: `components.base.holds_data`) is
marked: the engine refuses it unless the deploy says `--replace-data`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

PLAN_VERSION = "mlstack.plan/v1"
# Engine operations as a plan shows them: a replacement's own create/delete steps fold into one `replace`; the
# refresh that precedes a preview (a read of each resource) is not a change.
SHOWN = {
    "create": "create",
    "update": "update",
    "replace": "replace",
    "delete": "delete",
    "import": "import",
    "discard": "delete",
    "read-discard": "delete",
}
FOLDED = {"create-replacement", "delete-replaced", "discard-replaced", "read-replacement"}
REPLACING_DIFFS = {"add-replace", "update-replace", "delete-replace"}
ORDER = ("create", "update", "replace", "delete", "import", "changed", "gone")


@dataclass(frozen=True)
class Step:
    op: str
    urn: str
    type: str
    changed: tuple[str, ...] = ()  # property names that differ
    replace_because: tuple[str, ...] = ()  # property names that force the replacement
    down: bool = False  # a replacement that deletes the old resource before its successor exists (an outage)
    data: bool = False  # it replaces or deletes a resource that holds the stack's data
    keeps_old: bool = False  # a replacement whose old resource the engine keeps (retain_on_delete), not deletes

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "name": self.name,
            "type": self.type,
            "urn": self.urn,
            "changed": list(self.changed),
            "replaceBecause": list(self.replace_because),
            "down": self.down,
            "replacesData": self.data,
            "keepsOld": self.keeps_old,
        }


@dataclass
class ChangePlan:
    stack: str
    target: str
    mode: str  # "engine": against the stack's state; "offline": under mocks, everything is created
    steps: list[Step] = field(default_factory=list)

    def __post_init__(self) -> None:
        # The engine reports steps in the order its parallel work finishes: sorted, the same plan reads the same
        # on every run (a pull-request comment must not change on every push).
        self.steps = sorted(self.steps, key=lambda s: (ORDER.index(s.op) if s.op in ORDER else len(ORDER), s.urn))

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for step in self.steps:
            counts[step.op] = counts.get(step.op, 0) + 1
        return {op: counts[op] for op in sorted(counts, key=lambda o: ORDER.index(o) if o in ORDER else len(ORDER))}

    @property
    def changed(self) -> bool:
        return bool(self.steps)

    @property
    def data_at_risk(self) -> list[Step]:
        """The steps that would replace or delete what holds the stack's data."""
        return [s for s in self.steps if s.data]

    def to_dict(self) -> dict[str, Any]:
        return {
            "apiVersion": PLAN_VERSION,
            "stack": self.stack,
            "target": self.target,
            "mode": self.mode,
            "changed": self.changed,
            "summary": self.summary(),
            "replacesData": [s.name for s in self.data_at_risk],
            "steps": [s.to_dict() for s in self.steps],
        }


def step_of(meta: Any) -> Step | None:
    """The plan step of an engine step event's metadata, or None for what a plan does not show (unchanged
    resources, reads, the stack itself, a replacement's inner create/delete)."""
    op = getattr(meta.op, "value", meta.op)
    if op in FOLDED or op not in SHOWN or meta.type.startswith("pulumi:pulumi:"):
        return None
    detailed = meta.detailed_diff or {}
    changed = tuple(dict.fromkeys([*(meta.diffs or []), *detailed]))
    because = [k for k, d in detailed.items() if getattr(d.diff_kind, "value", d.diff_kind) in REPLACING_DIFFS]
    because = because or (list(meta.keys or []) if op == "replace" else [])
    because = list(dict.fromkeys(because))
    shown = SHOWN[op]
    protected = any(getattr(state, "protect", False) for state in (meta.old, meta.new) if state is not None)
    return Step(
        shown,
        meta.urn,
        meta.type,
        tuple(dict.fromkeys([*changed, *because])),
        tuple(because),
        data=protected and shown in ("replace", "delete"),
        keeps_old=shown == "replace" and bool(getattr(meta.old, "retain_on_delete", False)),
    )


class StepCollector:
    """Collects the plan steps of an engine run from its event stream (Automation API `on_event`).

    A replacement is `down` when the engine deletes the old resource before it creates the new one (the provider
    said the two cannot coexist): its `delete-replaced` step comes before its `create-replacement`."""

    def __init__(self) -> None:
        self._steps: list[Step] = []
        self._seen: set[tuple[str, str]] = set()
        self._first_half: dict[str, str] = {}  # urn -> which of a replacement's inner steps came first

    @property
    def steps(self) -> list[Step]:
        return [
            dataclasses.replace(s, down=True) if s.op == "replace" and self._first_half.get(s.urn) == "delete" else s
            for s in self._steps
        ]

    def on_event(self, event: Any) -> None:
        pre = getattr(event, "resource_pre_event", None)
        if pre is None:
            return
        meta = pre.metadata
        op = getattr(meta.op, "value", meta.op)
        if op in ("create-replacement", "delete-replaced"):
            self._first_half.setdefault(meta.urn, "create" if op == "create-replacement" else "delete")
        step = step_of(meta)
        if step is not None and (step.urn, step.op) not in self._seen:
            self._seen.add((step.urn, step.op))
            self._steps.append(step)


def _strip(value: Any, path: list[str]) -> Any:
    """`value` without the field at `path` (dotted; `*` stands for every item of a list)."""
    if not path:
        return None
    head, rest = path[0], path[1:]
    if head == "*" and isinstance(value, list):
        return [_strip(v, rest) for v in value]
    if isinstance(value, dict) and head in value:
        if not rest:
            return {k: v for k, v in value.items() if k != head}
        return {**value, head: _strip(value[head], rest)}
    return value


def _field(key: str) -> str:
    """The top-level output a diff key names (`scalingConfig.desiredSize`, `agentPoolProfiles[0].count`)."""
    return key.split(".", 1)[0].split("[", 1)[0]


class DriftCollector:
    """Collects what a refresh preview found. The engine reports each resource it read as `same`, `update` (its
    real outputs differ from the state's: the step names them) or `delete` (it is gone). `ignored`: resource type ->
    the fields the platform itself moves (a node pool's size under its autoscaler), which are not drift."""

    def __init__(self, ignored: dict[str, tuple[str, ...]] | None = None) -> None:
        self.steps: list[Step] = []
        self.ignored = ignored or {}

    def on_event(self, event: Any) -> None:
        done = getattr(event, "res_outputs_event", None)
        if done is None or done.metadata.type.startswith("pulumi:"):
            return
        meta = done.metadata
        op = getattr(meta.op, "value", meta.op)
        if op == "delete":
            self.steps.append(Step("gone", meta.urn, meta.type))
        elif op == "update":
            before, after = (
                (meta.old.outputs if meta.old else None) or {},
                (meta.new.outputs if meta.new else None) or {},
            )
            for path in self.ignored.get(meta.type, ()):
                parts = path.replace("[*]", ".*").split(".")
                before, after = _strip(before, parts), _strip(after, parts)
            differ = {k for k in {*before, *after} if before.get(k) != after.get(k)}
            reported = {*(meta.diffs or []), *(meta.detailed_diff or {})}
            if self.ignored.get(meta.type):  # what differs only in an ignored field is not reported
                reported = {k for k in reported if _field(k) in differ or _field(k) not in {*before, *after}}
            changed = tuple(sorted({*reported, *differ}))
            if changed:
                self.steps.append(Step("changed", meta.urn, meta.type, changed))


def offline_plan(planned: Any) -> ChangePlan:
    """The offline plan (engine/offline.py) as change steps: with no state to compare, every resource is created."""
    steps = [Step("create", r.urn, r.type) for r in planned.resources if not r.type.startswith("pulumi:pulumi:")]
    return ChangePlan(planned.stack, planned.target, "offline", steps)
