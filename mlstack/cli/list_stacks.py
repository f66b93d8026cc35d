from __future__ import annotations

import typer

from mlstack.cli.common import BackendOpt, DebugOpt, JsonOpt, run


def register(app: typer.Typer) -> None:
    @app.command("list")
    def list_(backend: BackendOpt = None, json_out: JsonOpt = False, debug: DebugOpt = False) -> None:
        """List the stacks deployed from this MLSTACK_HOME, or every stack a shared backend holds (--backend URL, or
        PULUMI_BACKEND_URL as `deploy` honours it)."""
        from mlstack.engine import operations as ops
        from mlstack.home import Home

        def body() -> list[dict]:
            import os

            home = Home.from_env()
            shared = backend or os.environ.get("PULUMI_BACKEND_URL")  # where deploy puts state: list it there
            return ops.list_backend(home, shared) if shared else ops.list_stacks(home)

        def human(rows: list[dict]) -> None:
            if not rows:
                typer.echo("no stacks (deploy one with `mlstack deploy RECIPE`)")
            for r in rows:
                if "components" in r:  # 80 columns: the components and backend are in --json
                    when = (r.get("lastChange") or "-")[:16].replace("T", " ")
                    count = "-" if r.get("resources") is None else str(r["resources"])
                    typer.echo(f"{r['stack'][:22]:<22} {r['target'][:10]:<10} {r['state'][:12]:<12} {count:>4}  {when}")
                else:
                    busy = "  (update running)" if r["updating"] else ""
                    typer.echo(f"{r['stack']:<24} {r['resources'] or 0:>4} resources  {r['lastUpdate']}{busy}")

        run("list", json_out, debug, body, human)
