from __future__ import annotations

import typer

from mlstack.cli.common import DebugOpt, JsonOpt, run


def register(app: typer.Typer) -> None:
    @app.command("list")
    def list_(json_out: JsonOpt = False, debug: DebugOpt = False) -> None:
        """List the stacks deployed from this MLSTACK_HOME."""
        from mlstack.engine import operations as ops
        from mlstack.home import Home

        def human(rows: list[dict]) -> None:
            if not rows:
                typer.echo("no stacks (deploy one with `mlstack deploy RECIPE`)")
            for r in rows:
                comps = ", ".join(f"{k}={v}" for k, v in r["components"].items())
                typer.echo(f"{r['stack']:<24} {r['target']:<10} {comps}  [{r['backend']}]")

        run("list", json_out, debug, lambda: ops.list_stacks(Home.from_env()), human)
