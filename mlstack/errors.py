"""One error tree; every exit code mlstack documents comes from here."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED = 1
    BAD_INPUT = 2
    NOT_AVAILABLE = 3
    NO_CREDENTIALS = 4
    STACK_NOT_FOUND = 5
    STACK_LOCKED = 6


EXIT_CODE_MEANINGS = {
    ExitCode.OK: "success",
    ExitCode.FAILED: "the operation failed (engine or service error); the message names the next command to run",
    ExitCode.BAD_INPUT: "bad recipe or usage, including a target/kind/flavor combination that does not exist",
    ExitCode.NOT_AVAILABLE: "not available in this installation (missing optional dependency, verb or target not built)",
    ExitCode.NO_CREDENTIALS: "credentials for the recipe's target are missing",
    ExitCode.STACK_NOT_FOUND: "no deployed stack of that name",
    ExitCode.STACK_LOCKED: "the stack is locked by another update (`mlstack cancel` clears a stale lock)",
}


@dataclass(frozen=True)
class Problem:
    """One problem in a user's input, printed as `FILE:LINE: path.to.field: message`."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


class MlstackError(Exception):
    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def lines(self) -> list[str]:
        return [f"error: {self.message}"] + ([f"hint: {self.hint}"] if self.hint else [])

    def to_dict(self) -> dict:
        return {"type": type(self).__name__, "message": self.message, "hint": self.hint}


class RecipeError(MlstackError):
    """A recipe that cannot be used; carries one Problem per thing wrong with it."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]

    def to_dict(self) -> dict:
        return {"type": "RecipeError", "message": self.message, "problems": [p.to_dict() for p in self.problems]}


class UsageError(MlstackError):
    exit_code = ExitCode.BAD_INPUT


class NotAvailableError(MlstackError):
    exit_code = ExitCode.NOT_AVAILABLE


class CredentialsError(MlstackError):
    exit_code = ExitCode.NO_CREDENTIALS


class StackNotFoundError(MlstackError):
    exit_code = ExitCode.STACK_NOT_FOUND


class StackLockedError(MlstackError):
    exit_code = ExitCode.STACK_LOCKED


class EngineError(MlstackError):
    exit_code = ExitCode.FAILED


class CheckpointDamagedError(EngineError):
    """The stack's saved state cannot be loaded (mlstack repairs what a killed run leaves, then retries)."""
