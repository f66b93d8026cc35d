"""Provider plugins a killed engine left behind are stopped before the next engine run; a live engine's are not.

Real processes: copies of `sleep` named like a plugin, one orphaned (its parent is not a `pulumi` process), one the
child of a process named `pulumi` (a copy of `sh`), one started for another Pulumi home."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from mlstack.engine import reaper


def _binaries(tmp_path: Path) -> tuple[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    plugin, engine = bin_dir / "pulumi-resource-fake", bin_dir / "pulumi"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", plugin)
    shutil.copy(shutil.which("sh") or "/bin/sh", engine)
    return str(plugin), str(engine)


def _wait_for(predicate, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.mark.timeout(60)
def test_orphaned_plugins_of_this_home_are_stopped_and_a_live_engines_are_not(tmp_path: Path):
    plugin, engine = _binaries(tmp_path)
    ours, theirs = tmp_path / "ours" / "pulumi", tmp_path / "theirs" / "pulumi"
    started = []
    try:
        orphan = subprocess.Popen([plugin, "300"], env={**os.environ, "PULUMI_HOME": str(ours)},
                                  start_new_session=True)
        other_home = subprocess.Popen([plugin, "300"], env={**os.environ, "PULUMI_HOME": str(theirs)},
                                      start_new_session=True)
        live_engine = subprocess.Popen([engine, "-c", f"{plugin} 300; true"],
                                       env={**os.environ, "PULUMI_HOME": str(ours)}, start_new_session=True)
        started = [orphan, other_home, live_engine]
        assert _wait_for(lambda: len(_plugin_children(live_engine.pid)) == 1)
        child = _plugin_children(live_engine.pid)[0]

        found = reaper.orphaned_plugins(ours)
        assert [pid for pid, _ in found] == [orphan.pid]
        assert found[0][1] == "pulumi-resource-fake"

        stopped = reaper.reap(ours)
        assert [pid for pid, _ in stopped] == [orphan.pid]
        assert orphan.wait(timeout=10) == -signal.SIGTERM
        assert other_home.poll() is None and live_engine.poll() is None
        assert reaper._running(child)
        assert reaper.reap(ours) == []
    finally:
        for proc in started:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)


def _plugin_children(ppid: int) -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and reaper._parent(int(p.name)) == ppid
            and reaper._exe_name(int(p.name)) == "pulumi-resource-fake"]
