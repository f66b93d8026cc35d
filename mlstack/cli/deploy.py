from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlstack.cli import plan_view
from mlstack.cli.common import (
    BackendOpt,
    DebugOpt,
    JsonOpt,
    RecipeArg,
    VarOpt,
    YesOpt,
    asks,
    confirm,
    parse_vars,
    run,
    say,
)

if TYPE_CHECKING:
    from mlstack.engine.results import DeployResult


def _summary(verb: str, result: DeployResult) -> None:
    changes = ", ".join(f"{n} {op}" for op, n in sorted(result.changes.items())) or "nothing"
    say(f"{verb} stack {result.stack!r} ({result.target}): {changes}")
    if not result.changed:
        say("no changes")
    for kind, where in result.addresses().items():
        say(f"  {kind:<13} {where}")
    for fmt, path in result.files.items():
        say(f"  wrote {fmt:<5} {path}")
    for note in result.notes:
        say(f"  note: {note}")


def register(app: typer.Typer) -> None:
    @app.command()
    def deploy(
        recipe: RecipeArg,
        yes: YesOpt = False,
        var: VarOpt = None,
        backend: BackendOpt = None,
        json_out: JsonOpt = False,
        debug: DebugOpt = False,
        replace_data: Annotated[
            bool,
            typer.Option(
                "--replace-data",
                help="Allow replacing or deleting what holds the stack's data (a bucket, volume, database, "
                "repository); without it such a deploy is refused (exit 8) and `preview` marks the step.",
            ),
        ] = False,
    ) -> None:
        """Create or update the recipe's stack; a service that crashed is restarted."""
        from mlstack.engine import operations as ops
        from mlstack.home import Home

        def body() -> DeployResult:
            home, ref = Home.from_env(), ops.StackRef(recipe, None, parse_vars(var), backend)
            if asks(yes):  # on a terminal: the plan first, then the question (CI and --yes go straight on)
                plan = ops.preview(home, ref, say).plan
                for line in plan_view.lines(plan):
                    say(line)
                if plan["changed"] and (change := _cost_change(home, ref)):
                    say(change)
                ops.refused(plan["stack"], plan["steps"], replace_data)
                if plan["changed"]:
                    confirm(f"Deploy these changes to stack {plan['stack']!r}?", yes)
            return ops.deploy(home, ref, say, replace_data=replace_data, previewed=asks(yes))

        run("deploy", json_out, debug, body, lambda r: _summary("deployed", r))


def _cost_change(home: Any, ref: Any) -> str | None:
    """`cost: $142.10 a month (+$42.10 against the deployed stack ...)` where the target prices in money; an
    estimate that fails never stops a deploy (it is not part of it)."""
    from mlstack.engine import cost as costs
    from mlstack.errors import MlstackError
    from mlstack.recipe.loader import load_recipe

    try:
        recipe = load_recipe(ref.recipe_path, ref.variables)
        new = costs.against_deployed(home, costs.estimate(recipe), ref.backend)
        if new.total_usd is None:
            return None
        unpriced = f", {len(new.unpriced)} item(s) unpriced" if new.unpriced else ""
        change = costs.change_text(new)
        return f"cost: ${new.total_usd:,.2f} a month{unpriced}" + (f"; {change}" if change else "")
    except (MlstackError, ValueError, KeyError, TypeError, OSError):  # never stops a deploy
        return None
