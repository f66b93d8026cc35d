from __future__ import annotations

import typer

from mlstack.cli.common import BackendOpt, DebugOpt, JsonOpt, RecipeArg, VarOpt, parse_vars, run, say


def register(app: typer.Typer) -> None:
    @app.command()
    def preview(recipe: RecipeArg, var: VarOpt = None, backend: BackendOpt = None,
                json_out: JsonOpt = False, debug: DebugOpt = False) -> None:
        """Show what `deploy` would change, without changing anything."""
        from mlstack.engine import operations as ops
        from mlstack.home import Home

        def body() -> dict:
            return ops.preview(Home.from_env(), ops.StackRef(recipe, None, parse_vars(var), backend), say)

        def human(r: dict) -> None:
            changes = ", ".join(f"{n} to {op}" for op, n in sorted(r["changes"].items()) if op != "same")
            say(f"preview of stack {r['stack']!r} ({r['target']}): {changes or 'no changes'}")

        run("preview", json_out, debug, body, human)
