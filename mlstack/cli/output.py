from __future__ import annotations

from typing import Annotated

import typer

from mlstack.cli.common import BackendOpt, DebugOpt, JsonOpt, OptionalRecipeArg, StackOpt, VarOpt, parse_vars, run, say
from mlstack.errors import UsageError

FORMATS = ("json", "yaml", "env", "zenml", "kubeconfig")  # mlstack.clients.render.FORMATS


def register(app: typer.Typer) -> None:
    @app.command()
    def output(
        recipe: OptionalRecipeArg = None,
        stack: StackOpt = None,
        fmt: Annotated[
            str, typer.Option("--format", "-f", metavar="FORMAT", help="json | yaml | env | zenml | kubeconfig")
        ] = "json",
        show_secrets: Annotated[bool, typer.Option("--show-secrets", help="Include secret values.")] = False,
        var: VarOpt = None,
        backend: BackendOpt = None,
        json_out: JsonOpt = False,
        debug: DebugOpt = False,
    ) -> None:
        """Print the deployed stack's client configuration."""
        from mlstack.clients.render import render
        from mlstack.engine import operations as ops
        from mlstack.home import Home

        def body() -> dict:
            if fmt not in FORMATS:
                raise UsageError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
            home = Home.from_env()
            r, clients, secrets = ops.clients_of(home, ops.StackRef(recipe, stack, parse_vars(var), backend))
            # what runs that is not what was deployed: said with the config, which still reaches the previous pods
            unhealthy = ops.health(r, clients)
            for component, problem in unhealthy:
                say(f"warning: {component} is not as deployed: {problem}")
            text = render(clients, secrets, fmt, show_secrets, r.outputs.zenml_version)
            return {
                "format": fmt,
                "text": text,
                "unhealthy": [{"component": c, "problem": p} for c, p in unhealthy],
            }

        run("output", json_out, debug, body, lambda r: typer.echo(r["text"], nl=False))
