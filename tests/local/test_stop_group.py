"""How a local service's process group is stopped (`components/local/process.py: stop_group`), on real processes:
a leader that supervises a server child (as `mlflow server` does uvicorn) is killed once that child has stopped
gracefully, and a leader that is not marked so is left to exit by itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from mlstack.components.local.process import _start_time, others_in_group, stop_group

# The leader starts a child that, on TERM, writes `stopped` and exits; the leader forwards TERM to it, waits for it,
# writes `forwarded`, then stands for an interpreter's long teardown (it sleeps) before exiting 0.
LEADER = textwrap.dedent(
    """
    import signal, subprocess, sys, time
    out = sys.argv[1]
    child = subprocess.Popen([sys.executable, "-c", '''
    import signal, sys, time
    def stop(*_):
        open(sys.argv[1] + "/stopped", "w").close()
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    open(sys.argv[1] + "/ready", "w").close()
    while True:
        time.sleep(0.05)
    ''', out])
    signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGTERM))
    child.wait()
    open(out + "/forwarded", "w").close()
    time.sleep(float(sys.argv[2]))
    """
)


@pytest.fixture
def group(tmp_path):
    started: list[subprocess.Popen] = []

    def start(teardown_s: float) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", LEADER, str(tmp_path), str(teardown_s)], start_new_session=True)
        started.append(proc)
        deadline = time.monotonic() + 30
        while not (tmp_path / "ready").exists():
            assert time.monotonic() < deadline and proc.poll() is None, "the child never started"
            time.sleep(0.02)
        return proc

    yield start
    for proc in started:  # whatever a failed assertion left running
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_a_supervisor_is_killed_once_its_server_has_stopped(group, tmp_path: Path):
    leader = group(teardown_s=600)
    assert others_in_group(leader.pid, leader.pid)  # its server child
    # Its grace and its teardown are ten minutes: stop_group returns long before either ends only if it stops
    # waiting once the child has gone (the bound below is generous, not a speed figure).
    stopping = threading.Thread(
        target=stop_group, args=(leader.pid, leader.pid, _start_time(leader.pid), None, 600.0, True), daemon=True
    )
    stopping.start()
    stopping.join(timeout=120)
    assert not stopping.is_alive(), "stop_group waited for the supervisor's teardown"
    assert leader.wait(timeout=10) == -signal.SIGKILL
    assert (tmp_path / "stopped").exists()  # the server itself stopped on TERM, gracefully
    assert not others_in_group(leader.pid, leader.pid)


def test_a_leader_that_is_no_supervisor_exits_by_itself(group, tmp_path: Path):
    leader = group(teardown_s=0.5)
    stop_group(leader.pid, leader.pid, _start_time(leader.pid), None, timeout=30)
    assert leader.wait(timeout=10) == 0  # its own exit, after its teardown: no KILL
    assert (tmp_path / "stopped").exists() and (tmp_path / "forwarded").exists()


def test_the_children_of_a_leader_killed_alone_are_stopped(group, tmp_path: Path):
    """`kill -9` of the leader alone leaves its server child holding the port: deleting the service (a deploy
    replaces a process that is gone) stops what is left of its group, not nothing."""
    leader = group(teardown_s=600)
    started = _start_time(leader.pid)
    os.kill(leader.pid, signal.SIGKILL)
    assert leader.wait(timeout=10) == -signal.SIGKILL
    assert others_in_group(leader.pid, leader.pid)  # the child outlived it
    stop_group(leader.pid, leader.pid, started, None, timeout=30)
    assert not others_in_group(leader.pid, leader.pid)
    assert (tmp_path / "stopped").exists()  # on TERM, gracefully
