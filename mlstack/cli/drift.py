from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from mlstack.cli import plan_view
from mlstack.cli.common import BackendOpt, DebugOpt, JsonOpt, OptionalRecipeArg, StackOpt, VarOpt, parse_vars, run, say
from mlstack.errors import DriftedError

if TYPE_CHECKING:
    from mlstack.engine.results import DriftResult


def register(app: typer.Typer) -> None:
    @app.command()
    def drift(
        recipe: OptionalRecipeArg = None,
        stack: StackOpt = None,
        var: VarOpt = None,
        backend: BackendOpt = None,
        json_out: JsonOpt = False,
        debug: DebugOpt = False,
    ) -> None:
        """Compare the stack's state with what really exists; exit 7 naming each drifted resource (0: in sync)."""
        from mlstack.engine import operations as ops
        from mlstack.home import Home

        def body() -> DriftResult:
            result = ops.drift(Home.from_env(), ops.StackRef(recipe, stack, parse_vars(var), backend), say)
            if result.drifted:
                shared = result.shared if result.shared and result.shared["plan"]["changed"] else None
                if not json_out:
                    for line in plan_view.lines(result.plan)[:-1]:
                        typer.echo(line)
                    for u in result.unhealthy:
                        typer.echo(f"  not as deployed  {u['component']}: {u['problem']}")
                    if shared:
                        typer.echo(f"shared by the stacks of this placement ({shared['stack']}):")
                        for line in plan_view.lines(shared["plan"])[:-1]:
                            typer.echo(f"  {line}")
                names = ", ".join(
                    [f"{s['name']} ({s['op']})" for s in result.plan["steps"][:10]]
                    + [f"{u['component']} ({u['problem']})" for u in result.unhealthy]
                    + (
                        [f"{shared['stack']}: {s['name']} ({s['op']})" for s in shared["plan"]["steps"][:10]]
                        if shared
                        else []
                    )
                )
                raise DriftedError(
                    f"stack {result.stack!r} has drifted: {names}",
                    hint="`mlstack deploy` puts back what the recipe says; `mlstack preview` shows how",
                    result=result.to_json(),
                )
            return result

        run("drift", json_out, debug, body, lambda r: typer.echo(plan_view.lines(r.plan)[-1]))
