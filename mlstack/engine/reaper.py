"""Provider plugins a killed engine left running.

The Pulumi CLI starts each plugin in a process group of its own, so a `kill -9` of mlstack's group leaves the
plugins behind, reparented and still listening on loopback. Before each engine run, plugins of this home's Pulumi
home whose engine is gone are stopped: a plugin's parent is always the `pulumi` process that started it, so a plugin
whose parent is anything else was orphaned. Plugins of a live engine (another stack's deploy) are left alone."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

PLUGIN_PREFIXES = ("pulumi-resource-", "pulumi-language-", "pulumi-analyzer-")
GRACE = 3.0


def _read(pid: int, name: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes()
    except OSError:
        return b""


def _exe_name(pid: int) -> str:
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe")).removesuffix(" (deleted)")
    except OSError:
        return ""


def _parent(pid: int) -> int:
    stat = _read(pid, "stat").decode(errors="replace")
    try:
        return int(stat.rsplit(")", 1)[1].split()[1])
    except (IndexError, ValueError):
        return 0


def _pulumi_home(pid: int) -> str | None:
    for entry in _read(pid, "environ").split(b"\0"):
        if entry.startswith(b"PULUMI_HOME="):
            return entry.split(b"=", 1)[1].decode(errors="replace")
    return None


def orphaned_plugins(pulumi_home: Path) -> list[tuple[int, str]]:
    """(pid, plugin) of plugins started for `pulumi_home` whose engine is gone."""
    found = []
    own = str(pulumi_home)
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        name = _exe_name(pid)
        if not name.startswith(PLUGIN_PREFIXES) or _pulumi_home(pid) != own:
            continue
        if _exe_name(_parent(pid)) != "pulumi":
            found.append((pid, name))
    return found


def reap(pulumi_home: Path) -> list[tuple[int, str]]:
    """Stop the orphaned plugins of `pulumi_home` (TERM, then KILL after a grace period); what was stopped."""
    orphans = orphaned_plugins(pulumi_home)
    for pid, _ in orphans:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE
    alive = [pid for pid, _ in orphans]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [pid for pid in alive if _running(pid)]
    for pid in alive:
        _signal(pid, signal.SIGKILL)
    return orphans


def _running(pid: int) -> bool:
    stat = _read(pid, "stat").decode(errors="replace")
    return bool(stat) and stat.rsplit(")", 1)[1].split()[0] != "Z"


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
