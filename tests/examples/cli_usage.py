"""Check the words of an `mlstack ...` command line against mlstack's real command tree (typer's click commands):
the verb, and the sub-verb of a group such as `import`, exists; every option is one that command declares; the
count of positional arguments is one it accepts. Values are not checked: in a workflow they are `$VARS` and
`${{ }}` expressions, known only on the runner.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from typing import Any

import typer.main

import mlstack.cli


@cache
def _root() -> tuple[Any, Any]:
    command = typer.main.get_command(mlstack.cli.app)
    # resilient_parsing: build the context (help option names and all) without parsing or running anything
    return command, command.make_context("mlstack", [], resilient_parsing=True)


def problems(args: Sequence[str]) -> list[str]:
    """What is wrong with `mlstack <args>`, one sentence each; empty when mlstack would accept it."""
    command, ctx = _root()
    path = "mlstack"
    i = 0
    while getattr(command, "commands", None):  # a group: options of its own, then a verb
        found, i, helped = _options(command, ctx, path, args, i, stop_at_positional=True)
        if found or helped:
            return found
        verbs = command.commands
        if i == len(args):
            return [f"`{path}` needs a verb: one of {', '.join(sorted(verbs))}"]
        if args[i] not in verbs:
            return [f"`{path}` has no verb {args[i]!r} (verbs: {', '.join(sorted(verbs))})"]
        name = args[i]
        command = verbs[name]
        ctx = command.make_context(name, [], parent=ctx, resilient_parsing=True)
        path = f"{path} {name}"
        i += 1
    return _options(command, ctx, path, args, i, stop_at_positional=False)[0]


def _options(
    command: Any, ctx: Any, path: str, args: Sequence[str], i: int, stop_at_positional: bool
) -> tuple[list[str], int, bool]:
    """Problems of the options from args[i] on, where they stop, and whether --help was asked (then click prints
    the help and exits: no verb nor argument is needed)."""
    params = command.get_params(ctx)
    options = {opt: p for p in params if p.param_type_name == "option" for opt in (*p.opts, *p.secondary_opts)}
    found: list[str] = []
    positional = 0
    only_positional = False
    helped = False
    while i < len(args):
        word = args[i]
        if only_positional or not word.startswith("-") or word == "-":
            if stop_at_positional:
                break
            positional += 1
        elif word == "--":
            only_positional = True
        else:
            name, has_value, _ = word.partition("=")
            param = options.get(name)
            if param is None:
                found.append(f"`{path}` has no option {name} (options: {', '.join(sorted(options))})")
            elif param.is_flag or param.count:
                helped = helped or name in ctx.help_option_names
                if has_value:
                    found.append(f"`{path}` option {name} is a flag: it takes no value")
            elif not has_value:
                i += 1  # its value, whatever it looks like
                if i == len(args):
                    found.append(f"`{path}` option {name} needs a value")
        i += 1
    if not stop_at_positional and not helped:
        found += _positional_count(command, ctx, path, positional)
    return found, i, helped


def _positional_count(command: Any, ctx: Any, path: str, given: int) -> list[str]:
    arguments = [p for p in command.get_params(ctx) if p.param_type_name == "argument"]
    # nargs -1 is a variadic argument: at least one when required, no upper bound
    least = sum(max(a.nargs, 1) for a in arguments if a.required)
    most = math.inf if any(a.nargs < 0 for a in arguments) else sum(a.nargs for a in arguments)
    if least <= given <= most:
        return []
    names = " ".join(a.name.upper() for a in arguments) or "no argument"
    return [f"`{path}` takes {names}, given {given} positional argument{'s' if given != 1 else ''}"]
