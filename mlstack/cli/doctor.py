from __future__ import annotations

from typing import Annotated

import typer

from mlstack.cli.common import DebugOpt, JsonOpt, run, say
from mlstack.errors import EngineError


def register(app: typer.Typer) -> None:
    @app.command()
    def doctor(
        fix: Annotated[bool, typer.Option("--fix", help="Build the pinned Pulumi CLI if it is missing.")] = False,
        json_out: JsonOpt = False,
        debug: DebugOpt = False,
    ) -> None:
        """Check the engine, the dynamic-provider shim, provider plugins and per-target credentials."""
        from mlstack.engine.doctor import as_dicts, run_checks
        from mlstack.home import Home

        def body() -> dict:
            checks = run_checks(Home.from_env(), fix, say)
            result = {"ready": all(c.ok for c in checks if c.required), "checks": as_dicts(checks)}
            if not result["ready"]:
                if not json_out:
                    _table(result)
                raise EngineError("the engine is not ready", hint="run `mlstack doctor --fix`")
            return result

        run("doctor", json_out, debug, body, _table)


def _table(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", box=None)
    for col in ("area", "check", "status", "detail"):
        table.add_column(col)
    for c in result["checks"]:
        table.add_row(c["area"], c["name"], "ok" if c["ok"] else ("MISSING" if c["required"] else "no"), c["detail"])
    Console(soft_wrap=True).print(table)
    say("engine ready" if result["ready"] else "engine NOT ready")
