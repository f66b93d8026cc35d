"""Running a Go build's steps with progress on stderr and mlstack's own error when one fails.

Used by the Pulumi CLI build and the provider plugin builds: both come from the Go module proxy on machines that
cannot download release binaries."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from mlstack.errors import EngineError, NotAvailableError

Step = tuple[str, list[str], Path]  # (what it does, command, working directory)


def go_binary(what: str) -> str:
    go = shutil.which("go")
    if not go:
        raise NotAvailableError(
            f"{what}, and Go is not installed to build it",
            hint="install Go >= 1.25, then run `mlstack doctor --fix`",
        )
    return go


def go_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", **extra}


def run_steps(
    what: str, steps: list[Step], env: dict[str, str], progress: Callable[[str], None], timeout: float = 3600
) -> None:
    """Run each step in order; the first failure raises EngineError naming the step and the end of its output."""
    for doing, cmd, cwd in steps:
        progress(f"  {doing}...")
        try:
            result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise EngineError(f"building {what} took more than {timeout:.0f} s while {doing}") from None
        if result.returncode != 0:
            tail = "\n".join(result.stderr.strip().splitlines()[-8:])
            raise EngineError(
                f"building {what} failed while {doing}:\n{tail}",
                hint="check that the Go module proxy is reachable (GOPROXY), then run `mlstack doctor --fix`",
            )
