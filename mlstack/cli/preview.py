from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlstack.cli import plan_view
from mlstack.cli.common import BackendOpt, DebugOpt, JsonOpt, RecipeArg, VarOpt, fit, parse_vars, run, say
from mlstack.errors import UsageError

if TYPE_CHECKING:
    from mlstack.engine.results import OfflinePreviewResult, PreviewResult


def register(app: typer.Typer) -> None:
    @app.command()
    def preview(
        recipe: RecipeArg,
        var: VarOpt = None,
        backend: BackendOpt = None,
        offline: Annotated[
            bool, typer.Option("--offline", help="Plan under Pulumi's mocks: no credentials, engine, state or network.")
        ] = False,
        markdown: Annotated[
            bool, typer.Option("--markdown", help="Print the plan as a Markdown table (for a pull-request comment).")
        ] = False,
        json_out: JsonOpt = False,
        debug: DebugOpt = False,
    ) -> None:
        """Show what `deploy` would change, per resource, without changing anything."""
        from mlstack.engine import planning
        from mlstack.home import Home

        def body() -> OfflinePreviewResult | PreviewResult:
            if markdown and json_out:
                raise UsageError("--markdown and --json are two renderings of one plan: choose one")
            ref = planning.StackRef(recipe, None, parse_vars(var), backend)
            if offline:  # no engine: its modules are not even imported
                return planning.offline_preview(Home.from_env(), ref)
            from mlstack.engine import operations as ops

            return ops.preview(Home.from_env(), ref, say)

        def human(r: OfflinePreviewResult | PreviewResult) -> None:
            shared = None if offline else r.shared  # type: ignore[union-attr]
            if markdown:
                typer.echo(plan_view.markdown(r.plan))
                if shared:
                    typer.echo(f"\nShared by the stacks of this cluster (`{shared['stack']}`), brought up first:\n")
                    typer.echo(plan_view.markdown(shared["plan"]))
                typer.echo("\n" + _cost_markdown(recipe, var, backend, deployed=not offline))
            elif offline:
                _tree(r)  # type: ignore[arg-type]
            else:
                if shared:  # a deploy brings it up first
                    typer.echo(f"shared by the stacks of this placement ({shared['stack']}), brought up first:")
                    for line in plan_view.lines(shared["plan"]):
                        typer.echo(f"  {line}")
                    typer.echo(f"stack {r.stack}:")
                for line in plan_view.lines(r.plan):
                    typer.echo(line)
            if not markdown:
                for note in r.notes:
                    typer.echo(f"note: {note}")

        run("preview", json_out, debug, body, human)


KEY_SETTINGS = (
    "bucket",
    "name",
    "region",
    "imageTagMutability",
    "imageScanningConfiguration",
    "versioningConfiguration",
    "blockPublicAcls",
    "restrictPublicBuckets",
    "rule",
    "rules",
    # databases and servers: where they are reachable from, what they run
    "engine",
    "engineVersion",
    "instanceClass",
    "publiclyAccessible",
    "storageEncrypted",
    "internal",
    "protocol",
    "sslPolicy",
    "cidrIpv4",
    "fromPort",
    "databaseVersion",
    "ingress",
    "version",
    "sku",
)


def _tree(plan: OfflinePreviewResult) -> None:
    import json

    by_parent: dict[str | None, list[dict]] = {}
    urns = {r.get("urn") for r in plan.resources}
    for r in plan.resources:
        by_parent.setdefault(r["parent"] if r["parent"] in urns or r["parent"] is None else "root", []).append(r)
    typer.echo(f"offline plan of stack {plan.stack!r} ({plan.target}): {len(plan.resources)} resources")

    cut: list[bool] = []

    def show(parent: str | None, depth: int) -> None:
        for r in by_parent.get(parent, []):
            keys = {k: v for k, v in r["inputs"].items() if k in KEY_SETTINGS}
            detail = f"  {json.dumps(keys, sort_keys=True)}" if keys else ""
            line = f"{'  ' * depth}+ {r['type']}  {r['name']}{detail}"
            cut.append(fit(line) != line)
            typer.echo(fit(line))
            show(r["urn"], depth + 1)

    show("root", 1)
    typer.echo("client outputs:")
    for line in json.dumps((plan.outputs or {}).get("mlstack", {}), indent=2, sort_keys=True).splitlines():
        cut.append(fit(line) != line)
        typer.echo(fit(line))
    if any(cut):
        typer.echo("(lines cut to fit the terminal: `--json` has every input and output whole)")


def _cost_markdown(recipe: Any, var: list[str] | None, backend: str | None, deployed: bool) -> str:
    """The estimate of the same recipe (`mlstack cost`), with the change from the deployed stack's where one is
    known (an online preview); an estimate that fails is said, never a failed preview."""
    from mlstack.cli.cost import to_markdown
    from mlstack.engine import cost as costs
    from mlstack.errors import MlstackError
    from mlstack.home import Home
    from mlstack.recipe.loader import load_recipe

    try:
        loaded = load_recipe(recipe, parse_vars(var))
        result = costs.estimate(loaded)
        return to_markdown(costs.against_deployed(Home.from_env(), result, backend) if deployed else result)
    except MlstackError as exc:
        return f"*No cost estimate: {exc.message}*"
    except (ValueError, KeyError, TypeError, OSError) as exc:  # never a failed preview
        return f"*No cost estimate: {type(exc).__name__}*"
