"""Fixtures for the local target: the real `mlstack` command, real services, stopped by process group."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

MLSTACK = str(Path(sys.executable).parent / "mlstack")


def mlstack(*args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([MLSTACK, *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"mlstack {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}\n{proc.stdout}")
    return proc


def mlstack_json(*args: str, **kw) -> dict:
    proc = mlstack(*args, "--json", **kw)
    return json.loads(proc.stdout)


def processes_of(home: Path) -> list[int]:
    """Pids whose command line mentions this home: every service the stack started does."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(home) in cmdline and state != "Z" and int(entry.name) != os.getpid():
            pids.append(int(entry.name))
    return pids


def stop_all(home: Path) -> None:
    for pid in processes_of(home):
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + 10
    while processes_of(home) and time.monotonic() < deadline:
        time.sleep(0.1)


def session_members(sid: int) -> list[int]:
    """Live processes of a session (a command started with start_new_session=True, and all it started)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid and fields[0] != "Z":
                out.append(int(entry.name))
    return out


def stop_session(sid: int) -> None:
    for pid in session_members(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture()
def local_home(engine_home):
    """A temp home; whatever a test leaves running is killed by process group afterwards, and nothing of it may
    outlive that (whether a test should have left processes is that test's own assertion to make)."""
    yield engine_home
    stop_all(engine_home.root)
    assert processes_of(engine_home.root) == [], "processes of the test's home survived SIGKILL of their group"


@contextlib.contextmanager
def deployed_stack(root: Path, pulumi_cli_dir: Path, recipe: str, stack: str) -> Iterator[subprocess.CompletedProcess]:
    """`recipe` deployed into the home `root` (yields the deploy's process); destroyed and purged afterwards,
    stragglers killed by process group."""
    from tests.conftest import engine_env

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLSTACK_HOME", str(root))
        for var, value in engine_env(pulumi_cli_dir).items():
            mp.setenv(var, value)
        proc = mlstack("deploy", recipe, "--json")
        try:
            yield proc
        finally:
            mlstack("destroy", "--stack", stack, "--purge", check=False)
            stop_all(root)


def write_recipe(path: Path, name: str, registry: str = "{flavor: distribution}") -> Path:
    path.write_text(f"apiVersion: mlstack/v1\nname: {name}\ntarget: local\ncomponents:\n"
                    f"  registry: {registry}\n  orchestrator: {{flavor: local}}\n")
    return path
