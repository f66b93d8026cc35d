from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from mlstack.cli.common import (
    BackendOpt,
    DebugOpt,
    JsonOpt,
    OptionalRecipeArg,
    StackOpt,
    VarOpt,
    fit,
    parse_vars,
    run,
    say,
    wrap,
)
from mlstack.errors import EngineError

if TYPE_CHECKING:
    from mlstack.engine.results import VerifyResult


def register(app: typer.Typer) -> None:
    @app.command()
    def verify(
        recipe: OptionalRecipeArg = None,
        stack: StackOpt = None,
        var: VarOpt = None,
        backend: BackendOpt = None,
        json_out: JsonOpt = False,
        debug: DebugOpt = False,
    ) -> None:
        """Smoke-test every deployed component with its real client; exit 1 naming what failed."""
        from mlstack.engine import operations as ops
        from mlstack.home import Home

        def body() -> VerifyResult:
            result = ops.verify(Home.from_env(), ops.StackRef(recipe, stack, parse_vars(var), backend))
            if not result.ok:
                if not json_out:
                    _table(result)
                failed = [  # on a terminal the causes are printed whole just above
                    f"{c['kind']} ({c['detail']})" if json_out else c["kind"] for c in result.checks if not c["ok"]
                ]
                raise EngineError(
                    f"verify failed: {'; '.join(failed)}",
                    hint=f"look at the service's log under MLSTACK_HOME/stacks/{result.stack}/run/, "
                    "then `mlstack deploy` to restart what crashed",
                    result=result.to_json(),
                )
            return result

        run("verify", json_out, debug, body, _table)


def _table(result: VerifyResult) -> None:
    width = max(len(c["kind"]) for c in result.checks) if result.checks else 8
    for c in result.checks:  # one line each at the terminal's width; a failure's whole cause below the table
        verdict = "PASS" if c["ok"] else "FAIL"
        say(fit(f"  {verdict}  {c['kind']:<{width}}  {c['flavor']:<13} {c['seconds']:>5.2f}s  {c['detail']}"))
    for c in result.checks:
        if not c["ok"]:
            for line in wrap(f"  {c['kind']}: {c['detail']}", indent=4):
                say(line)
    say(f"verify {result.stack!r}: {'all passed' if result.ok else 'FAILED'}")
