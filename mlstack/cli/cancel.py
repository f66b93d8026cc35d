from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mlstack.cli.common import (
    BackendOpt,
    DebugOpt,
    JsonOpt,
    OptionalRecipeArg,
    StackOpt,
    VarOpt,
    YesOpt,
    confirm,
    parse_vars,
    run,
    say,
)

if TYPE_CHECKING:
    from mlstack.engine.results import CancelResult


def register(app: typer.Typer) -> None:
    @app.command()
    def cancel(
        recipe: OptionalRecipeArg = None,
        stack: StackOpt = None,
        yes: YesOpt = False,
        force: Annotated[
            bool, typer.Option("--force", help="Clear the lock even if its holder still runs on this machine.")
        ] = False,
        var: VarOpt = None,
        backend: BackendOpt = None,
        json_out: JsonOpt = False,
        debug: DebugOpt = False,
    ) -> None:
        """Clear the lock a crashed or killed update left on a stack."""
        from mlstack.engine import operations as ops
        from mlstack.home import Home

        def body() -> CancelResult:
            confirm("Clear the stack's lock? Only do this when no update is running.", yes)
            return ops.cancel(Home.from_env(), ops.StackRef(recipe, stack, parse_vars(var), backend), force)

        def human(r: CancelResult) -> None:
            if r.held:
                say(f"cleared the lock of stack {r.stack!r}")
            elif r.held is None:  # a shared backend: whether one was held is not known without reading it
                say(f"cleared the lock of stack {r.stack!r}, if one was held")
            else:
                say(f"stack {r.stack!r} holds no lock: nothing to clear")

        run("cancel", json_out, debug, body, human)
