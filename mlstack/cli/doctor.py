from __future__ import annotations

import shutil
from typing import Annotated

import typer

from mlstack.cli.common import DebugOpt, JsonOpt, run, say, wrap
from mlstack.errors import EngineError, clip, printable


def register(app: typer.Typer) -> None:
    @app.command()
    def doctor(
        fix: Annotated[
            bool,
            typer.Option(
                "--fix", help="Build or install what is missing: the Pulumi CLI, provider plugins, service runtimes."
            ),
        ] = False,
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
    """One line per check, fit to the terminal (80 columns when not a terminal): a detail that does not fit is
    shortened, and `--json` keeps it whole."""
    width = shutil.get_terminal_size((80, 24)).columns
    rows = [
        (c["area"], c["name"], "ok" if c["ok"] else ("MISSING" if c["required"] else "no"), c["detail"])
        for c in result["checks"]
    ]
    area = max((len(r[0]) for r in rows), default=4)
    name = max((len(r[1]) for r in rows), default=5)
    room = max(width - (area + 2 + name + 2 + 7 + 2) - 1, 10)  # one column spare: no autowrap at the edge
    shortened = False
    for a, n, status, detail in rows:
        line = printable(" ".join(detail.split()))
        shortened |= len(line) > room
        typer.echo(f"{a:<{area}}  {n:<{name}}  {status:<7}  {clip(line, room)}".rstrip())
    failing = [(a, n, d) for a, n, status, d in rows if status != "ok"]
    if failing:  # what to do about each check that fails, in full, below the table
        typer.echo("")
        for a, n, detail in failing:
            for line in wrap(printable(f"{a} {n}: {' '.join(detail.split())}"), indent=4, width=width - 1):
                typer.echo(line)
    if shortened:
        say("(details of passing checks shortened: `mlstack doctor --json` shows them whole)")
    say("engine ready" if result["ready"] else "engine NOT ready")
