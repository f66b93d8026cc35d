from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlstack.cli.common import DebugOpt, JsonOpt, RecipeArg, VarOpt, fit, parse_vars, run
from mlstack.errors import UsageError

if TYPE_CHECKING:
    from mlstack.engine.results import CostResult


def register(app: typer.Typer) -> None:
    @app.command()
    def cost(
        recipe: RecipeArg,
        var: VarOpt = None,
        assume: Annotated[
            list[str] | None,
            typer.Option(
                "--assume",
                metavar="KEY=VALUE",
                help="Usage to assume, replacing its default and range (repeatable; keys: `mlstack schema` under "
                "`cost`).",
            ),
        ] = None,
        prices: Annotated[
            Path | None,
            typer.Option("--prices", metavar="FILE", help="A newer price snapshot (format: mlstack.prices/v1)."),
        ] = None,
        markdown: Annotated[
            bool, typer.Option("--markdown", help="Print the estimate as Markdown (for a pull-request comment).")
        ] = False,
        against: Annotated[
            Path | None,
            typer.Option(
                "--against",
                metavar="RECIPE",
                help="Also estimate this recipe (the version on your main branch) and print the change.",
            ),
        ] = None,
        json_out: JsonOpt = False,
        debug: DebugOpt = False,
    ) -> None:
        """What the recipe's stack will cost a month, offline, from the price snapshot shipped with mlstack.

        Priced lines with their sources, a total with its low-high range, the usage assumed, and what is not priced
        (never counted as 0); kubernetes: the capacity its cluster must have; local: this machine's share."""

        def body() -> CostResult:
            from mlstack.engine import cost as costs
            from mlstack.recipe.loader import load_recipe

            if markdown and json_out:
                raise UsageError("--markdown and --json are two renderings of one estimate: choose one")
            assumed = costs.parse_assumptions(assume)
            result = costs.estimate(load_recipe(recipe, parse_vars(var)), assumed, prices)
            if against is not None:
                old = costs.estimate(load_recipe(against, parse_vars(var)), assumed, prices)
                result = costs.against(result, old, str(against))
            return result

        def human(r: CostResult) -> None:
            typer.echo(to_markdown(r) if markdown else to_text(r))

        run("cost", json_out, debug, body, human)


def _usd(x: float | None) -> str:
    return "—" if x is None else f"${x:,.2f}"


def _quantity(line: dict[str, Any]) -> str:
    """`730 hour`, `5 x 10,000 operations`, `2,628,000 vCPU-second`."""
    q = line["quantity"]
    shown = f"{q:,.0f}" if q >= 1e5 else f"{q:g}"
    unit = line["unit"]
    return f"{shown} x {unit}" if unit[:1].isdigit() else f"{shown} {unit}"


def _range(r: CostResult) -> str:
    low, high = r.total_usd_range or [0.0, 0.0]
    total = f"{_usd(r.total_usd)} a month (usage range {_usd(low)}–{_usd(high)})"
    if r.unpriced:
        return f"{total} for what is priced; {len(r.unpriced)} item(s) UNPRICED, not counted"
    return total


def _assumed(r: CostResult) -> list[str]:
    rows = []
    for key, a in r.assumptions.items():
        value = f"{a['expected']:g}" if a["low"] == a["high"] else f"{a['expected']:g} ({a['low']:g}–{a['high']:g})"
        rows.append(f"{key} = {value} {a['unit']}, {a['source']}: {a['description']}")
    return rows


def to_text(r: CostResult) -> str:
    from mlstack.engine.cost import change_text

    out: list[str] = []
    if r.region is not None:
        out.append(f"stack {r.stack} on {r.target} ({r.region}): {_range(r)}")
        if change := change_text(r):
            out.append(f"  change: {change}")
        for line in r.lines:
            if line["unpriced"]:
                continue
            out.append(
                fit(
                    f"  {_usd(line['monthly_usd']):>10}  {line['component']}/{line['resource']}: "
                    f"{line['item']} ({_quantity(line)} at ${line['usd_per_unit']:g})"
                )
            )
        for item in r.unpriced:
            out.append(fit(f"  {'UNPRICED':>10}  {item}"))
    if r.capacity:
        t = r.capacity_total
        out.append(
            f"stack {r.stack} on {r.target}: the cluster must have {t['cpu_request']:g} CPU and "
            f"{t['memory_request_gib']:g} GiB requested (limits {t['cpu_limit']:g} CPU, "
            f"{t['memory_limit_gib']:g} GiB), {t['storage_gib']:g} GiB of volumes"
        )
        for row in r.capacity:
            if row["kind"] == "PersistentVolumeClaim":
                out.append(fit(f"  {row['component']}/{row['workload']} volume: {row['storage_gib']:g} GiB"))
                continue
            when = " (runs to completion)" if row["transient"] else ""
            out.append(
                fit(
                    f"  {row['component']}/{row['workload']} {row['kind']}{when}: CPU {row['cpu_request']:g}"
                    f"/{row['cpu_limit']:g}, memory {row['memory_request_gib']:g}/{row['memory_limit_gib']:g}"
                    f" GiB, volumes {row['storage_gib']:g} GiB"
                )
            )
    if r.footprint:
        out.append(f"stack {r.stack} on {r.target}: on this machine")
        for row in r.footprint:
            disk = (
                f"{row['runtime_disk_mib']:g} MiB on disk"
                if row["runtime_disk_mib"] is not None
                else "not installed yet"
                if row["runtime_installed"] is False
                else "a system package"
            )
            data = f", data {row['data_gb']:g} GB ({row['data_from']})" if row["data_from"] else ""
            out.append(fit(f"  {row['component']}: {row['runs']} ({disk}){data}"))
    for name in r.not_sized:
        out.append(fit(f"  not sized: {name}"))
    if r.assumptions:
        out.append("assumed:")
        out += [fit(f"  {a}") for a in _assumed(r)]
    out.append(f"prices: {r.prices['file']}, read {r.prices['read']}")
    out += [fit(f"note: {n}") for n in r.notes]
    return "\n".join(out)


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def to_markdown(r: CostResult) -> str:
    from mlstack.engine.cost import change_text

    out: list[str] = []
    if r.region is not None:
        change = change_text(r)
        out += [f"**Estimated cost of `{r.stack}`** ({r.target}, {r.region}): {_range(r)}"]
        out += ["", f"**Change:** {change}"] if change else []
        out += [
            "",
            "| component | resource | item | quantity | unit price | a month | source, read |",
            "|---|---|---|---|---|---|---|",
        ]
        for line in r.lines:
            price = "unpriced" if line["unpriced"] else f"${line['usd_per_unit']:g} / {line['unit']}"
            month = f"**unpriced**: {line['unpriced']}" if line["unpriced"] else _usd(line["monthly_usd"])
            source = f"[{line['read']}]({line['source']})" if line["source"] else ""
            out.append(
                "| "
                + " | ".join(
                    _cell(c)
                    for c in (
                        line["component"],
                        line["resource"],
                        line["item"],
                        _quantity(line),
                        price,
                        month,
                        source,
                    )
                )
                + " |"
            )
    if r.capacity:
        t = r.capacity_total
        out += [
            f"**Capacity `{r.stack}` needs of its cluster**: {t['cpu_request']:g} CPU, "
            f"{t['memory_request_gib']:g} GiB requested; limits {t['cpu_limit']:g} CPU, "
            f"{t['memory_limit_gib']:g} GiB; volumes {t['storage_gib']:g} GiB",
            "",
            "| component | workload | CPU request / limit | memory GiB request / limit | volumes GiB |",
            "|---|---|---|---|---|",
        ]
        for row in r.capacity:
            out.append(
                f"| {_cell(row['component'])} | {_cell(row['workload'])} | {row['cpu_request']:g} / "
                f"{row['cpu_limit']:g} | {row['memory_request_gib']:g} / {row['memory_limit_gib']:g} | "
                f"{row['storage_gib']:g} |"
            )
    if r.footprint:
        out += [
            f"**Footprint of `{r.stack}` on this machine**",
            "",
            "| component | runs | on disk | data |",
            "|---|---|---|---|",
        ]
        for row in r.footprint:
            disk = "" if row["runtime_disk_mib"] is None else f"{row['runtime_disk_mib']:g} MiB"
            data = "" if not row["data_from"] else f"{row['data_gb']:g} GB"
            out.append(f"| {_cell(row['component'])} | {_cell(row['runs'])} | {disk} | {data} |")
    out += [""] + [f"- not sized: {_cell(n)}" for n in r.not_sized]
    assumed = ("Assumed: " + "; ".join(_cell(a) for a in _assumed(r)) + ". ") if r.assumptions else ""
    out += ["", f"{assumed}Prices: {r.prices['file']}, read {r.prices['read']}."]
    return "\n".join(out)
