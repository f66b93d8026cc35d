"""Service runtimes of the local target, installed once per pinned version under MLSTACK_HOME/runtimes.

Python services conflict on their pins (MLflow, MLServer, Airflow each want their own fastapi/starlette), so
each gets its own virtualenv; Go services are built from Go modules (nothing can be downloaded prebuilt here);
Debian packages are checked, not installed (that needs root: `make install` does it). A runtime is complete
only once its marker is written, so an interrupted install is redone, not half-used.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import MISSING, fields
from pathlib import Path

from mlstack.errors import EngineError, NotAvailableError
from mlstack.home import RUNTIME_SIZE, Home, tree_bytes
from mlstack.versions import RUNTIMES, DebianRuntime, GoRuntime, PythonRuntime, Runtime

MARKER = ".mlstack-complete"


def runtime_dir(home: Home, rt: Runtime) -> Path:
    return home.runtimes_dir / f"{rt.name}-{rt.version}"


def _fingerprint(rt: Runtime) -> str:
    """What the runtime was built from. A field left at its default is not part of it, so adding a field keeps
    every runtime installed before (its marker still matches: it is not rebuilt)."""
    given = [f for f in fields(rt) if f.default is MISSING or getattr(rt, f.name) != f.default]
    described = f"{type(rt).__name__}({', '.join(f'{f.name}={getattr(rt, f.name)!r}' for f in given)})"
    return hashlib.sha256(described.encode()).hexdigest()[:16]


def executable(home: Home, rt: Runtime) -> Path | None:
    """Path of the runtime's main program if it is installed and complete."""
    if isinstance(rt, DebianRuntime):
        found = shutil.which(rt.binary)
        return Path(found) if found else None
    base = runtime_dir(home, rt)
    marker = base / MARKER
    if not marker.exists() or marker.read_text().strip() != _fingerprint(rt):
        return None
    return base / "bin" / rt.binary


def expected_path(home: Home, name: str) -> Path:
    """Where a runtime's main program is once installed (preview and destroy need the path, not the install)."""
    rt = RUNTIMES[name]
    if isinstance(rt, DebianRuntime):
        return Path(shutil.which(rt.binary) or f"/usr/bin/{rt.binary}")
    return runtime_dir(home, rt) / "bin" / rt.binary


def ensure(home: Home, names: list[str], progress: Callable[[str], None]) -> dict[str, str]:
    """Install what is missing; return {runtime name: path of its main program}."""
    return {name: str(ensure_runtime(home, RUNTIMES[name], progress)) for name in names}


def ensure_runtime(home: Home, rt: Runtime, progress: Callable[[str], None]) -> Path:
    return executable(home, rt) or _install(home, rt, progress)


def prune(home: Home, stacks_elsewhere: bool) -> list[str]:
    """Remove the runtimes of earlier pins that no stack of this home uses any more; what was removed.

    A runtime is in use while a stack's state names its directory (a service's program path). Only this home's own
    runtimes are pruned (a shared `MLSTACK_RUNTIMES_DIR` serves other homes), and only when every stack of the home
    keeps its state in the home's file backend (`stacks_elsewhere`: the state of another backend is not read)."""
    if stacks_elsewhere or os.environ.get("MLSTACK_RUNTIMES_DIR") or not home.runtimes_dir.is_dir():
        return []
    current = {runtime_dir(home, rt).name for rt in RUNTIMES.values() if not isinstance(rt, DebianRuntime)}
    states = [p for p in home.state_dir.rglob("*.json") if ".pulumi/stacks" in p.as_posix()]
    used = "\n".join(p.read_text(errors="replace") for p in states)
    removed = []
    for directory in sorted(home.runtimes_dir.iterdir()):
        if not directory.is_dir() or directory.name in current or not (directory / MARKER).exists():
            continue  # the current pins, and what mlstack did not install, are kept
        if str(directory) in used:
            continue  # a stack's services still run from it: removed once no stack does
        shutil.rmtree(directory, ignore_errors=True)
        removed.append(directory.name)
    return removed


def status(home: Home) -> dict[str, str | None]:
    return {name: (str(p) if (p := executable(home, rt)) else None) for name, rt in RUNTIMES.items()}


def _install(home: Home, rt: Runtime, progress: Callable[[str], None]) -> Path:
    if isinstance(rt, DebianRuntime):
        raise NotAvailableError(
            f"{rt.binary} is not installed (Debian package {rt.package} {rt.version})",
            hint=f"`apt-get install {rt.package}` as root, or `make install`",
        )
    base = runtime_dir(home, rt)
    base.parent.mkdir(parents=True, exist_ok=True)
    with open(base.parent / f".{rt.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two deploys at once install a runtime once
        done = executable(home, rt)
        if done:
            return done
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        if isinstance(rt, PythonRuntime):
            _install_python(base, rt, progress)
        else:
            _install_go(base, rt, progress)
        (base / RUNTIME_SIZE).write_text(str(tree_bytes(base)))
        (base / MARKER).write_text(_fingerprint(rt))
    return base / "bin" / rt.binary


def _run(cmd: list[str], what: str, env: dict | None = None, cwd: Path | None = None) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-10:])
        raise EngineError(f"{what} failed:\n{tail}", hint="check registry access (pip / Go proxy), then deploy again")


def _install_python(base: Path, rt: PythonRuntime, progress: Callable[[str], None]) -> None:
    progress(f"installing runtime {rt.name} {rt.version} into {base} (first use only; a minute or two)")
    _run([sys.executable, "-m", "venv", str(base)], f"creating the {rt.name} virtualenv")
    _run(
        [str(base / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *rt.packages],
        f"pip install for {rt.name}",
    )
    (base / "mlstack-runtime.json").write_text(json.dumps({"packages": list(rt.packages)}, indent=2))


def _install_go(base: Path, rt: GoRuntime, progress: Callable[[str], None]) -> None:
    go = shutil.which("go")
    if not go:
        raise NotAvailableError(
            f"runtime {rt.name} is built from Go modules and Go is not installed",
            hint="install Go >= 1.25, then deploy again",
        )
    progress(f"building runtime {rt.name} ({rt.module}@{rt.version}) from Go modules (first use: a few minutes)")
    env = {**os.environ, "CGO_ENABLED": "0", "GOBIN": str(base / "bin")}
    if not rt.replaces:
        _run([go, "install", "-trimpath", f"{rt.module}@{rt.version}"], f"building {rt.name}", env=env, cwd=base)
        return
    src = base / "src"  # the wrapper module: requires the service's module and repeats its replaces
    src.mkdir()
    replaces = "".join(f"replace {old} => {new}\n" for old, new in rt.replaces)
    (src / "go.mod").write_text(
        f"module mlstack.local/{rt.name}\n\ngo {rt.go}\n\nrequire {rt.module} {rt.version}\n\n{replaces}"
    )
    (src / "tools.go").write_text(f'//go:build tools\n\npackage tools\n\nimport _ "{rt.package}"\n')
    env["GOFLAGS"] = "-mod=mod"
    _run([go, "mod", "tidy"], f"resolving the Go modules of {rt.name}", env=env, cwd=src)
    build = [go, "build", "-trimpath", "-ldflags", "-s -w", "-o", str(base / "bin" / rt.binary), rt.package]
    _run(build, f"building {rt.name}", env=env, cwd=src)
    shutil.rmtree(src)
