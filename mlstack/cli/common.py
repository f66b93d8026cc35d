"""What every verb shares: options, the result envelope, the one error handler and the console."""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from mlstack.errors import ExitCode, MlstackError, UsageError, excerpt, printable

ENVELOPE_VERSION = "mlstack.result/v1"

JsonOpt = Annotated[bool, typer.Option("--json", help="Print a versioned JSON result envelope on stdout.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks and the engine's full log on errors.")]
YesOpt = Annotated[
    bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (implied when stdin is not a TTY).")
]
VarOpt = Annotated[
    list[str] | None,
    typer.Option("--var", metavar="NAME=VALUE", help="Template variable for the recipe (repeatable)."),
]
BackendOpt = Annotated[
    str | None,
    typer.Option("--backend", metavar="URL", help="Pulumi backend URL; overrides the recipe and PULUMI_BACKEND_URL."),
]
StackOpt = Annotated[
    str | None, typer.Option("--stack", metavar="NAME", help="Name of a deployed stack (instead of RECIPE).")
]
RecipeArg = Annotated[Path, typer.Argument(help="Recipe YAML file.", show_default=False)]
OptionalRecipeArg = Annotated[Path | None, typer.Argument(help="Recipe YAML file.", show_default=False)]


def columns() -> int:
    """The terminal's width ($COLUMNS, else the terminal's, else 80 when output is not a terminal)."""
    import shutil

    return max(60, shutil.get_terminal_size((80, 24)).columns)


def fit(text: str, width: int | None = None) -> str:
    """One line cut to the terminal's width (`--json` always has the whole value)."""
    width = width or columns()
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def wrap(text: str, indent: int, width: int | None = None) -> list[str]:
    """One logical line wrapped to the terminal's width, continuation lines indented by `indent`."""
    import textwrap

    return textwrap.wrap(text, width=width or columns(), subsequent_indent=" " * indent, break_on_hyphens=False) or [
        text
    ]


def say(message: str) -> None:
    """Human-facing progress and summaries go to stderr, so stdout stays parseable; escaped, since they quote file
    names and recipe values (a newline or ESC in a file name must not forge a line or drive the terminal)."""
    print(printable(message), file=sys.stderr, flush=True)


def parse_vars(pairs: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise UsageError(f"--var {excerpt(pair)}: expected NAME=VALUE with NAME an identifier")
        out[key] = value
    return out


def asks(yes: bool) -> bool:
    """Whether a confirmation would be asked: on a terminal, unless --yes."""
    return not yes and sys.stdin.isatty()


def confirm(question: str, yes: bool) -> None:
    if not asks(yes):
        return
    if not typer.confirm(question, default=False):
        say("cancelled: nothing was changed")
        raise typer.Exit(int(ExitCode.FAILED))


def run(
    command: str, json_out: bool, debug: bool, body: Callable[[], Any], human: Callable[[Any], None] | None = None
) -> None:
    """Run a verb: print its result (envelope with --json) or its error, and exit with the documented code."""
    try:
        result = body()
    except MlstackError as exc:
        if debug:
            traceback.print_exc()
        if json_out:
            print_envelope(command, exc.exit_code, exc.result, [exc.to_dict()])
        else:
            for line in exc.lines():  # each already escaped: one line per problem, whatever the input held
                print(line, file=sys.stderr)
        raise typer.Exit(int(exc.exit_code)) from None
    if json_out:
        print_envelope(command, ExitCode.OK, result.to_json() if hasattr(result, "to_json") else result, [])
    elif human is not None:
        human(result)
    raise typer.Exit(0)


def print_envelope(command: str, code: ExitCode, result: Any, errors: list[dict]) -> None:
    envelope = {
        "apiVersion": ENVELOPE_VERSION,
        "command": command,
        "ok": code == ExitCode.OK,
        "exitCode": int(code),
        "result": result,
        "errors": errors,
    }
    sys.stdout.write(json.dumps(envelope, indent=2, default=str) + "\n")


def no_color() -> bool:
    return bool(os.environ.get("NO_COLOR"))
