"""`mlstack connect`: forward each of a stack's in-cluster services to a free port on 127.0.0.1 (kubectl
port-forward, each in its own process group), hand back the client config at those ports, keep the forwards until
told to stop, and stop every one of them on the way out."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel

from mlstack import registry
from mlstack.errors import EngineError, NotAvailableError

READY_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def at_local_ports(components: dict[str, dict[str, Any]], local: dict[Any, int]) -> dict[str, dict[str, Any]]:
    """The stack's client config with each forwarded service at its 127.0.0.1 port."""
    out = {kind: dict(client) for kind, client in components.items()}
    for forward, port in local.items():
        out[forward.kind][forward.field] = forward.local_address(port)
        out[forward.kind].update(dict(forward.also))
    return out


@contextmanager
def forwarded(
    target: str, placement: BaseModel, stack: str, components: dict[str, dict[str, Any]]
) -> Iterator[dict[str, dict[str, Any]]]:
    """The client config at forwarded local ports, valid inside the `with`."""
    planner = registry.target(target).hook("connect")
    if planner is None:
        raise NotAvailableError(
            f"target {target!r} has nothing to connect to: its services are reachable as they are",
            hint="`mlstack output` prints their addresses",
        )
    plan = planner(placement, stack, components)
    if plan and not shutil.which("kubectl"):
        raise NotAvailableError(
            "`mlstack connect` port-forwards with kubectl, which is not on PATH",
            hint="install kubectl (the cluster's minor version, or one either side)",
        )
    procs: list[subprocess.Popen] = []
    try:
        local = {}
        for forward in plan:
            port = free_port()
            procs.append(
                subprocess.Popen(
                    forward.command(port),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    stdin=subprocess.DEVNULL,
                    text=True,
                    start_new_session=True,
                )
            )
            local[forward] = port
        deadline = time.monotonic() + READY_TIMEOUT
        for (forward, port), proc in zip(local.items(), procs, strict=True):
            while not _accepts(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    error = (proc.stderr.read() if proc.poll() is not None and proc.stderr else "").strip()
                    raise EngineError(
                        f"port-forward to svc/{forward.service} in {forward.namespace} failed: "
                        f"{error.splitlines()[-1] if error else f'no answer in {READY_TIMEOUT:.0f} s'}",
                        hint="`mlstack doctor` checks the context; `kubectl -n NS get pods` shows the pods",
                    )
                time.sleep(0.1)
        yield at_local_ports(components, local)
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
