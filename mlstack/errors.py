"""One error tree; every exit code mlstack documents comes from here."""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass
from typing import Any

MAX_FIELD = 200  # characters of a field path printed in a problem
MAX_MESSAGE = 300  # characters of a message: enough for the longest list of settings, never a whole value


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED = 1
    BAD_INPUT = 2
    NOT_AVAILABLE = 3
    NO_CREDENTIALS = 4
    STACK_NOT_FOUND = 5
    STACK_LOCKED = 6
    DRIFTED = 7
    DATA_AT_RISK = 8


EXIT_CODE_MEANINGS = {
    ExitCode.OK: "success",
    ExitCode.FAILED: "the operation failed (engine or service error); the message names the next command to run",
    ExitCode.BAD_INPUT: "bad recipe or usage, including a target/kind/flavor combination that does not exist",
    ExitCode.NOT_AVAILABLE: (
        "not available in this installation (missing optional dependency, verb or target not built)"
    ),
    ExitCode.NO_CREDENTIALS: "credentials for the recipe's target are missing",
    ExitCode.STACK_NOT_FOUND: "no deployed stack of that name",
    ExitCode.STACK_LOCKED: "the stack is locked by another update (`mlstack cancel` clears a stale lock)",
    ExitCode.DRIFTED: "the stack has drifted from its state (`mlstack drift`; `mlstack deploy` restores it)",
    ExitCode.DATA_AT_RISK: (
        "the deploy would replace or delete a resource that holds the stack's data; nothing of it was touched "
        "(`mlstack preview` names it; `--replace-data` allows it)"
    ),
}


# Characters that would change what a terminal shows or start a new line: controls (newline, ESC, ...), format
# characters (bidi overrides, zero-width), line/paragraph separators, and lone surrogates (undecodable file names).
_UNPRINTABLE = {"Cc", "Cf", "Zl", "Zp", "Cs"}


def printable(text: str) -> str:
    """`text` with every unprintable character escaped (`\\n`, `\\x1b`, `\\u202e`): one line, shown as written."""
    if text.isprintable():  # fast path; isprintable() is False for all of _UNPRINTABLE (and for spaces other than ' ')
        return text
    return "".join(
        ch.encode("unicode_escape", "backslashreplace").decode("ascii")
        if unicodedata.category(ch) in _UNPRINTABLE
        else ch
        for ch in text
    )


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def excerpt(value: Any, limit: int = 40) -> str:
    """A short, quoted, escaped excerpt of a user's value for an error message (never the whole value)."""
    if isinstance(value, str):
        return f"'{clip(printable(value), limit)}'"
    if isinstance(value, (bool, int, float)) or value is None:
        return clip(repr(value), limit)
    return "a mapping" if isinstance(value, dict) else "a list" if isinstance(value, (list, tuple)) else "a value"


@dataclass(frozen=True)
class Problem:
    """One problem in a user's input, printed as `FILE:LINE: path.to.field: message` on exactly one line."""

    file: str
    line: int | None
    field: str
    message: str

    def __post_init__(self) -> None:
        # Field paths and messages can quote a user's keys and values: bound them here, once, for every output.
        object.__setattr__(self, "field", clip(self.field, MAX_FIELD))
        object.__setattr__(self, "message", clip(self.message, MAX_MESSAGE))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        return printable(text)

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


class MlstackError(Exception):
    exit_code: ExitCode = ExitCode.FAILED
    code = "failed"  # the error's `type` in --json: stable and documented (ERROR_TYPES), never a class name

    def __init__(self, message: str, *, hint: str | None = None, result: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.result = result  # what the verb found before failing (verify's checks, drift's plan): --json prints it

    def lines(self) -> list[str]:
        # Engine errors carry multi-line detail (Pulumi's log tail): kept as lines, each escaped (ESC, bidi, ...).
        text = f"error: {self.message}" + (f"\nhint: {self.hint}" if self.hint else "")
        return [printable(line) for line in text.split("\n")]

    def to_dict(self) -> dict:
        return {"type": self.code, "message": self.message, "hint": self.hint}


class RecipeError(MlstackError):
    """A recipe that cannot be used; carries one Problem per thing wrong with it."""

    exit_code = ExitCode.BAD_INPUT
    code = "bad-recipe"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]

    def to_dict(self) -> dict:
        return {"type": self.code, "message": self.message, "problems": [p.to_dict() for p in self.problems]}


class UsageError(MlstackError):
    exit_code = ExitCode.BAD_INPUT
    code = "bad-usage"


class NotAvailableError(MlstackError):
    exit_code = ExitCode.NOT_AVAILABLE
    code = "not-available"


class CredentialsError(MlstackError):
    exit_code = ExitCode.NO_CREDENTIALS
    code = "no-credentials"


class StackNotFoundError(MlstackError):
    exit_code = ExitCode.STACK_NOT_FOUND
    code = "not-deployed"


class StackLockedError(MlstackError):
    exit_code = ExitCode.STACK_LOCKED
    code = "stack-locked"

    def __init__(self, message: str, *, hint: str | None = None, holders: list[tuple[str, int]] | None = None) -> None:
        super().__init__(message, hint=hint)
        self.holders = holders or []  # (host, pid) of each lock's holder, as the engine reports them


class EngineError(MlstackError):
    exit_code = ExitCode.FAILED


class DriftedError(MlstackError):
    """Not a failure of mlstack: the stack's resources differ from its state (the result carries each one)."""

    exit_code = ExitCode.DRIFTED
    code = "drifted"


class DataAtRiskError(MlstackError):
    """A deploy would replace or delete a resource that holds the stack's data; refused before it does."""

    exit_code = ExitCode.DATA_AT_RISK
    code = "replaces-data"


class CheckpointDamagedError(EngineError):
    """The stack's saved state cannot be loaded (mlstack repairs what a killed run leaves, then retries)."""

    code = "state-damaged"


# Every `type` an error has in --json, what it means; a test checks that each error class's code is here.
ERROR_TYPES = {
    "bad-recipe": "the recipe is not usable: `problems` lists each one with file, line and field (exit 2)",
    "bad-usage": "a command line or value mlstack cannot use, e.g. a missing argument or a bad backend URL (exit 2)",
    "not-available": "something this installation lacks: a provider plugin, a tool, an optional dependency (exit 3)",
    "no-credentials": "credentials or a reachable cluster for the recipe's target are missing (exit 4)",
    "not-deployed": "no deployed stack of that name, or nothing deployed in it (exit 5)",
    "stack-locked": "another update holds the stack's lock; the message names its holder (exit 6)",
    "drifted": "the stack differs from its state; `result.plan` lists each resource (exit 7)",
    "replaces-data": "the deploy would replace or delete a resource holding the stack's data: refused, the resource "
    "untouched, until `--replace-data` says so (exit 8)",
    "failed": "the operation failed in the engine or a service; the message names the next step (exit 1)",
    "state-damaged": "the stack's saved state cannot be read (exit 1)",
}
