"""`mlstack cost`: the offline plan priced by the target's cost module (components/<target>/cost.py) with the
price snapshot and the usage assumed (recipe `cost:` block, `--assume KEY=VALUE`), without credentials."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from mlstack import registry
from mlstack.engine.results import CostResult
from mlstack.errors import EngineError, NotAvailableError, UsageError


def parse_assumptions(pairs: list[str] | None) -> dict[str, float]:
    """`--assume KEY=VALUE` pairs, checked like the recipe's `cost:` block (exit 2 naming the key, never echoing
    more than it)."""
    from pydantic import ValidationError

    from mlstack.cost.usage import USAGE, CostAssumptions
    from mlstack.errors import excerpt

    values: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--assume {excerpt(pair)}: expected KEY=VALUE", hint=f"keys: {', '.join(USAGE)}")
        if key not in USAGE:
            raise UsageError(f"--assume: unknown key {excerpt(key)}", hint=f"keys: {', '.join(USAGE)}")
        try:
            values[key] = float(raw)
        except ValueError:
            raise UsageError(f"--assume {key}: must be a number, got {excerpt(raw)}") from None
    try:
        CostAssumptions.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise UsageError(f"--assume {err['loc'][0]}: {err['msg'].replace('Input should be', 'must be')}") from None
    return values


def estimate(
    recipe: Any, assumed: dict[str, float] | None = None, prices: Path | None = None, planned: Any = None
) -> CostResult:
    from mlstack.cost import prices as snapshots
    from mlstack.cost.estimate import Pricing, total
    from mlstack.cost.usage import resolve
    from mlstack.engine.offline import OFFLINE_DIR, plan
    from mlstack.home import Home
    from mlstack.stacks.program import check_available

    target = registry.target(recipe.target.type)
    module = target.cost_module()
    if module is None:
        raise NotAvailableError(f"target {target.name!r} has no cost estimate")
    snapshot = snapshots.load(prices)
    usage = resolve(recipe.cost, assumed or {})
    if planned is None:
        check_available(recipe)
        planned = plan(recipe)
    region = module.region(recipe.target)
    pricing = Pricing(snapshot, region or "", usage, OFFLINE_DIR, Home.from_env().runtimes_dir)
    try:
        priced, notes = module.estimate(planned, recipe, pricing)
    except (ValueError, KeyError, TypeError) as exc:  # a plan input a rule does not understand: mlstack's bug
        raise EngineError(
            f"the {target.name} cost estimate could not read the plan: {type(exc).__name__}: {exc}",
            hint="`mlstack preview --offline` shows the plan; please report this with it",
        ) from None
    lines = [line.to_dict() for line in priced.lines]
    uses = module.uses(recipe.target) if hasattr(module, "uses") else getattr(module, "USES", None)
    money = region is not None
    amount = total(priced.lines)
    capacity_total = (
        {
            key: round(sum(row[key] for row in priced.capacity if not row["transient"]), 3)
            for key in ("cpu_request", "cpu_limit", "memory_request_gib", "memory_limit_gib", "storage_gib")
        }
        if priced.capacity
        else {}
    )
    return CostResult(
        stack=recipe.name,
        target=target.name,
        region=region,
        currency=snapshot.currency,
        prices={"file": str(prices) if prices else "shipped with mlstack", "read": snapshot.read},
        total_usd=round(amount[0], 2) if money else None,
        total_usd_range=[round(amount[1], 2), round(amount[2], 2)] if money else None,
        lines=lines,
        unpriced=[
            f"{line.component}/{line.resource}: {line.item} ({line.unpriced})" for line in priced.lines if line.unpriced
        ],
        free=priced.free,
        assumptions={k: asdict(a) for k, a in usage.items() if uses is None or k in uses or k in pricing.used},
        capacity=priced.capacity,
        capacity_total=capacity_total,
        footprint=priced.footprint,
        not_sized=priced.not_sized,
        notes=list(notes),
    )


def against(new: CostResult, old: CostResult, what: str) -> CostResult:
    """`new` with the change from `old` (another recipe, or the deployed stack's): totals of what each prices."""
    change: dict[str, Any] = {"what": what, "total_usd": old.total_usd}
    if new.total_usd is not None and old.total_usd is not None:
        change["delta_usd"] = round(new.total_usd - old.total_usd, 2)
        change["unpriced"] = len(old.unpriced)
    return new.model_copy(update={"against": change})


def against_deployed(home: Any, result: CostResult, backend: str | None) -> CostResult:
    """`result` with the change from its stack as deployed, where it is deployed and priced in money."""
    if result.total_usd is None:
        return result
    old = deployed(home, result.stack, backend)
    return result if old is None else against(result, estimate(old), "the deployed stack")


def deployed(home: Any, name: str, backend: str | None) -> Any:
    """The recipe the stack `name` was deployed with (this home, or the shared backend), None where it is not."""
    from mlstack.engine import operations as ops
    from mlstack.errors import MlstackError

    try:
        return ops.resolve(home, ops.StackRef(None, name, {}, backend))
    except MlstackError:
        return None


def change_text(result: CostResult) -> str | None:
    """`+$42.10 a month against the deployed stack ($100.00 → $142.10)`, or None without a comparison."""
    change = result.against
    if not change or change.get("delta_usd") is None:
        return None
    delta = change["delta_usd"]
    sign = "+" if delta >= 0 else "−"
    text = (
        f"{sign}${abs(delta):,.2f} a month against {change['what']} "
        f"(${change['total_usd']:,.2f} → ${result.total_usd:,.2f}, priced items only)"
    )
    return text
