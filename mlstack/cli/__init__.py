"""`mlstack`: one thin module per verb; this module only assembles them and maps usage errors to exit 2."""

from __future__ import annotations

import typer

from mlstack.cli import (
    cancel,
    connect,
    cost,
    deploy,
    destroy,
    doctor,
    drift,
    list_stacks,
    migrate,
    output,
    preview,
    render,
    schema,
    validate,
    verify,
)
from mlstack.errors import EXIT_CODE_MEANINGS

EPILOG = "Exit codes: " + "; ".join(f"{int(c)} {m.split(' (')[0]}" for c, m in EXIT_CODE_MEANINGS.items())

app = typer.Typer(
    name="mlstack",
    help="Provision a complete MLOps stack (object store, registry, MLflow, orchestrator, serving) from one recipe.",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich's help renderer costs ~0.1 s of start-up on every call
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        from mlstack.versions import KUBERNETES_PROVIDER_VERSION, PULUMI_VERSION

        typer.echo(
            f"mlstack {version('mlstack')} (Pulumi {PULUMI_VERSION}, pulumi-kubernetes {KUBERNETES_PROVIDER_VERSION})"
        )
        raise typer.Exit()


@app.callback()
def _root(
    show_version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print mlstack's version and the engine it pins."
    ),
) -> None:
    """Provision a complete MLOps stack (object store, registry, MLflow, orchestrator, serving) from one recipe."""


for module in (
    deploy,
    preview,
    cost,
    render,
    destroy,
    output,
    connect,
    verify,
    drift,
    list_stacks,
    validate,
    schema,
    doctor,
    cancel,
    migrate,
):
    module.register(app)


def main() -> None:
    """Every verb handles MlstackError itself (`common.run`); a usage error (unknown option, missing argument) is
    exit 2, printed as typer prints it, or with --json as the result envelope every other error uses."""
    import gc

    # The cyclic collector is paused while the verb starts: importing the CLI, pydantic's models and the cloud SDKs
    # builds tens of thousands of long-lived classes, which it would scan again and again (a tenth of an offline
    # plan's time here). A verb that runs the engine, and may run for long, turns it back on (StackSession).
    gc.disable()
    try:
        _main()
    finally:
        # The verb is done and its output written: what is left in memory (the cloud SDKs' tens of thousands of
        # classes) is freed as the interpreter exits, without the cyclic collector scanning it again and again as
        # each module is torn down. That scanning took a third of an offline plan's time (0.4-0.6 s).
        gc.freeze()


def _main() -> None:
    import os
    import sys

    from typer._click.exceptions import UsageError as ClickUsageError

    # On the first model it builds, pydantic looks for its plugins (validation hooks of observability tools) among the
    # entry points of every installed distribution: a sixth of `validate`'s time here, for plugins mlstack never
    # uses. The variable is pydantic's own switch; a value the user set is kept, and the services mlstack starts
    # do not inherit mlstack's (mlstack.OWN_ENV).
    if "PYDANTIC_DISABLE_PLUGINS" not in os.environ:
        from mlstack import OWN_ENV

        os.environ["PYDANTIC_DISABLE_PLUGINS"] = "__all__"
        os.environ[OWN_ENV] = ",".join(filter(None, [os.environ.get(OWN_ENV), "PYDANTIC_DISABLE_PLUGINS"]))
    try:
        code = app(standalone_mode=False)
    except typer.Abort:  # Ctrl-C at a prompt, as typer's standalone mode reports it
        print("Aborted!", file=sys.stderr)
        raise SystemExit(1) from None
    except ClickUsageError as exc:
        if "--json" not in sys.argv[1:]:
            exc.show()
            raise SystemExit(2) from None
        from mlstack.cli.common import print_envelope
        from mlstack.errors import ExitCode, UsageError, printable

        root = exc.ctx.find_root().info_name or "" if exc.ctx else ""
        command = exc.ctx.command_path.removeprefix(root).strip() if exc.ctx else ""
        hint = f"`mlstack {command} --help` lists what it takes".replace("  ", " ")
        error = UsageError(printable(exc.format_message()), hint=hint)
        print_envelope(command or "mlstack", ExitCode.BAD_INPUT, None, [error.to_dict()])
        raise SystemExit(2) from None
    raise SystemExit(code if isinstance(code, int) else 0)
