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
    from mlstack.engine.results import DestroyResult


def register(app: typer.Typer) -> None:
    @app.command()
    def destroy(
        recipe: OptionalRecipeArg = None,
        stack: StackOpt = None,
        yes: YesOpt = False,
        purge: Annotated[
            bool, typer.Option("--purge", help="Also delete the stack's data (objects, runs, images) and its state.")
        ] = False,
        var: VarOpt = None,
        backend: BackendOpt = None,
        json_out: JsonOpt = False,
        debug: DebugOpt = False,
    ) -> None:
        """Stop and delete the stack's resources; data is kept unless --purge."""
        from mlstack.engine import operations as ops
        from mlstack.home import Home

        def body() -> DestroyResult:
            ref = ops.StackRef(recipe, stack, parse_vars(var), backend)
            confirm(f"Destroy stack {stack or recipe}{' and delete its data' if purge else ''}?", yes)
            return ops.destroy(Home.from_env(), ref, purge, say)

        def human(r: DestroyResult) -> None:
            say(f"destroyed stack {r.stack!r}: {r.changes.get('delete', 0)} resources deleted")
            for kind, path in r.kept.items():
                say(f"  kept {kind} data: {path} (`mlstack destroy --stack {r.stack} --purge` deletes it)")
            for what in r.deleted_data:
                say(f"  deleted {what}")
            if r.purged:
                say("  state purged")

        run("destroy", json_out, debug, body, human)
