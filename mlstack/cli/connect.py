from __future__ import annotations

from typing import Annotated

import typer

from mlstack.cli.common import BackendOpt, DebugOpt, JsonOpt, OptionalRecipeArg, StackOpt, VarOpt, parse_vars, run, say


def register(app: typer.Typer) -> None:
    @app.command()
    def connect(
        recipe: OptionalRecipeArg = None,
        stack: StackOpt = None,
        show_secrets: Annotated[bool, typer.Option("--show-secrets", help="Include secret values.")] = False,
        seconds: Annotated[
            float | None,
            typer.Option("--for", metavar="SECONDS", help="Stop after SECONDS (default: until interrupted)."),
        ] = None,
        var: VarOpt = None,
        backend: BackendOpt = None,
        json_out: JsonOpt = False,
        debug: DebugOpt = False,
    ) -> None:
        """Port-forward every service of a stack on a cluster to 127.0.0.1 and print the env that uses them."""
        import time

        from mlstack.clients.models import StackClients
        from mlstack.clients.render import render
        from mlstack.engine import operations as ops
        from mlstack.engine.connect import forwarded
        from mlstack.engine.kubeconfig import reaching
        from mlstack.home import Home

        def body() -> dict:
            r, clients, secrets = ops.clients_of(Home.from_env(), ops.StackRef(recipe, stack, parse_vars(var), backend))
            placement = r.target
            # a cluster the stack created is reached by its own kubeconfig
            with reaching(clients), forwarded(r.target.type, placement, r.name, clients.components) as local:
                at_local = StackClients.model_validate({**clients.model_dump(by_alias=True), "components": local})
                text = render(at_local, secrets, "env", show_secrets)
                typer.echo(text, nl=False) if not json_out else None
                say(
                    f"forwarding {len(local)} services of {r.name!r}; "
                    + (f"stopping in {seconds:g} s" if seconds else "Ctrl-C stops")
                )
                try:
                    time.sleep(seconds) if seconds else _wait_forever()
                except KeyboardInterrupt:
                    pass
            return {"stack": r.name, "env": text}

        run("connect", json_out, debug, body, lambda r: None)


def _wait_forever() -> None:
    import time

    while True:
        time.sleep(3600)
