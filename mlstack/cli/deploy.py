from __future__ import annotations

import typer

from mlstack.cli.common import BackendOpt, DebugOpt, JsonOpt, RecipeArg, VarOpt, YesOpt, confirm, parse_vars, run, say


def _summary(verb: str, result: dict) -> None:
    changes = ", ".join(f"{n} {op}" for op, n in sorted(result["changes"].items())) or "nothing"
    say(f"{verb} stack {result['stack']!r} ({result['target']}): {changes}")
    if not result.get("changed"):
        say("no changes")
    for kind, client in ((result.get("outputs") or {}).get("mlstack", {}).get("components") or {}).items():
        where = next(
            (client[k] for k in ("endpoint_url", "uri", "tracking_uri", "base_url", "url") if client.get(k)),
            client.get("flavor"),
        )
        say(f"  {kind:<13} {where}")
    for fmt, path in (result.get("files") or {}).items():
        say(f"  wrote {fmt:<5} {path}")


def register(app: typer.Typer) -> None:
    @app.command()
    def deploy(
        recipe: RecipeArg,
        yes: YesOpt = False,
        var: VarOpt = None,
        backend: BackendOpt = None,
        json_out: JsonOpt = False,
        debug: DebugOpt = False,
    ) -> None:
        """Create or update the recipe's stack; a service that crashed is restarted."""
        from mlstack.engine import operations as ops
        from mlstack.home import Home

        def body() -> dict:
            variables = parse_vars(var)
            confirm(f"Deploy {recipe}?", yes)
            return ops.deploy(Home.from_env(), ops.StackRef(recipe, None, variables, backend), say)

        run("deploy", json_out, debug, body, lambda r: _summary("deployed", r))
