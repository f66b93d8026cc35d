"""Build actionlint (the GitHub Actions workflow linter) once into a cache, from Go modules: no release binary can be
downloaded here, and `go install module@version` needs no wrapper module since actionlint has no `replace`.

The binary goes to `$XDG_CACHE_HOME/mlstack/actionlint-<version>/bin` (default `~/.cache/mlstack/...`), with Go's
own build and module caches where Go keeps them, so a second run on one machine rebuilds nothing.
Run: `python -m tests.examples.actionlint`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from mlstack.versions import ACTIONLINT_VERSION  # the newest the Go module proxy serves (`go list -m -versions`)

MODULE = "github.com/rhysd/actionlint/cmd/actionlint"
STAMP = ".complete"
BUILD_TIMEOUT = 600  # seconds: a cold build (modules downloaded, Go's build cache empty) takes ~20 s on 2 cores


class GoMissing(RuntimeError):
    """Go is not installed, so actionlint cannot be built on this machine."""


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "mlstack" / f"actionlint-{ACTIONLINT_VERSION}"


def binary_path() -> Path:
    return cache_dir() / "bin" / "actionlint"


def is_built() -> bool:
    # The stamp is written last: a build killed half-way leaves no stamp and is redone.
    return (cache_dir() / STAMP).exists() and binary_path().exists()


def build() -> Path:
    go = shutil.which("go")
    if not go:
        raise GoMissing("Go is not installed: actionlint is built from Go modules (`go install`)")
    out = binary_path().parent
    out.mkdir(parents=True, exist_ok=True)
    cmd = [go, "install", "-trimpath", "-ldflags", "-s -w", f"{MODULE}@{ACTIONLINT_VERSION}"]
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    # GOFLAGS cleared: a developer's `-mod=vendor` or similar would make `go install pkg@version` refuse to run.
    env = {**os.environ, "GOBIN": str(out), "CGO_ENABLED": "0", "GOFLAGS": ""}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"building actionlint {ACTIONLINT_VERSION} failed:\n{done.stderr[-4000:]}")
    (cache_dir() / STAMP).write_text(ACTIONLINT_VERSION + "\n")
    return binary_path()


def actionlint_binary() -> Path:
    """The pinned actionlint, built first if this machine has not built it yet."""
    return binary_path() if is_built() else build()


if __name__ == "__main__":
    try:
        print(actionlint_binary())
    except (GoMissing, RuntimeError) as exc:
        sys.exit(str(exc))
