"""What each verb returns: one typed model per verb. `--json` prints it (the envelope's `result`, fields in this
order); the human output reads its fields, never guessing at keys."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class DeployResult(Result):
    stack: str
    target: str
    changes: dict[str, int]  # engine operation -> count
    changed: bool
    outputs: dict[str, Any]  # the stack's outputs but its secrets
    files: dict[str, str]  # client config format -> file written
    notes: list[str] = []  # what a flavor does without a component the recipe lacks (Recipe.notes)

    def addresses(self) -> dict[str, str]:
        """Component kind -> where clients reach it (its flavor where it has no address of its own)."""
        from mlstack.clients.models import StackClients
        from mlstack.clients.render import typed

        document = self.outputs.get("mlstack")
        if not document:
            return {}
        return {kind: client.address() or client.flavor for kind, client in typed(StackClients(**document)).items()}


class PreviewResult(Result):
    stack: str
    target: str
    changes: dict[str, int]
    changed: bool
    plan: dict[str, Any]  # ChangePlan.to_dict()
    notes: list[str] = []  # Recipe.notes: what the flavors do without a kind, what they share on the placement
    shared: dict[str, Any] | None = None  # {stack, plan}: what the deploy would change in the placement's shared stack


class OfflinePreviewResult(Result):
    """The plan under Pulumi's mocks; fields (and every key below them) in sorted order: the same recipe gives the
    same bytes."""

    notes: list[str]  # Recipe.notes
    outputs: dict[str, Any]
    plan: dict[str, Any]  # ChangePlan.to_dict()
    resources: list[dict[str, Any]]  # urn, type, name, parent, inputs (secrets redacted)
    stack: str
    target: str


class DriftResult(Result):
    stack: str
    target: str
    drifted: bool
    plan: dict[str, Any]
    unhealthy: list[dict[str, str]] = []  # {component, problem}: the platform runs something else than the state
    shared: dict[str, Any] | None = None  # {stack, plan}: how the placement's shared stack (add-ons) has drifted


class DestroyResult(Result):
    stack: str
    changes: dict[str, int]
    purged: bool
    deleted_data: list[str]  # what --purge deleted beyond the state
    kept: dict[str, str]  # what destroy kept -> where (until --purge)


class RenderResult(Result):
    stack: str
    target: str
    out: str
    files: list[str]
    removed: list[str]  # files of an earlier render of this stack that it no longer has


class VerifyResult(Result):
    stack: str
    ok: bool
    checks: list[dict[str, Any]]  # clients.verify.CheckResult, as dicts


class CancelResult(Result):
    stack: str
    cancelled: bool
    held: bool | None  # whether a lock was held (None: a shared backend, not known without reading it)


class CostResult(Result):
    """`mlstack cost`: the monthly estimate of the offline plan (money on the clouds; what a cluster must have on
    kubernetes; what this machine gives on local)."""

    stack: str
    target: str
    region: str | None
    currency: str
    prices: dict[str, str]  # the snapshot used: file, read (the day it was assembled)
    total_usd: float | None  # priced lines only; None where the target is not priced in money
    total_usd_range: list[float] | None
    lines: list[dict[str, Any]]  # each priced (or unpriced) item: quantity, unit, price, monthly, source, read
    unpriced: list[str]  # what is not counted (never as 0): component/resource item, and why
    free: list[dict[str, str]]  # resources the platform charges nothing for, and why
    assumptions: dict[str, dict[str, Any]]  # key -> expected, low, high, unit, description, source
    capacity: list[dict[str, Any]] = []  # kubernetes: requests and limits per workload
    capacity_total: dict[str, float] = {}
    footprint: list[dict[str, Any]] = []  # local: runtime on disk and data per service
    not_sized: list[str] = []
    notes: list[str] = []
    against: dict[str, Any] | None = None  # what: another recipe or the deployed stack; total_usd; delta_usd
