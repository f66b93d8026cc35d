"""`mlstack connect` (and `verify`): what to port-forward so this machine reaches a stack's in-cluster services,
which client fields then point at the forwarded 127.0.0.1 ports, and the forwards themselves (kubectl
port-forward, each in its own process group, all stopped on the way out). Planned from the stack's own client output
(the in-cluster addresses each component publishes), so what is forwarded is what the stack says it runs."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mlstack.components.kubernetes import clusters
from mlstack.components.kubernetes.settings import KubernetesTarget
from mlstack.errors import EngineError, NotAvailableError

# (component kind, the field clients use here, the field holding the in-cluster address)
ADDRESSES = (
    ("object_store", "endpoint_url", "cluster_endpoint_url"),
    ("tracking", "tracking_uri", "cluster_tracking_uri"),
    ("serving", "base_url", "cluster_base_url"),
    ("registry", "uri", "cluster_uri"),
    ("orchestrator", "url", "cluster_url"),
)


@dataclass(frozen=True)
class Forward:
    kind: str
    field: str  # rewritten to the local port
    context: str | None
    namespace: str
    service: str
    port: int
    scheme: str  # "http" for URLs, "" for the registry's host:port
    also: tuple[tuple[str, Any], ...] = ()  # other client fields that change with it (the registry: plain HTTP)

    def command(self, local_port: int) -> list[str]:
        context = [f"--context={self.context}"] if self.context else []
        return [
            "kubectl",
            *context,
            "-n",
            self.namespace,
            "port-forward",
            "--address",
            "127.0.0.1",
            f"svc/{self.service}",
            f"{local_port}:{self.port}",
        ]

    def local_address(self, local_port: int) -> str:
        return f"{self.scheme}://127.0.0.1:{local_port}" if self.scheme else f"127.0.0.1:{local_port}"


def forwards(placement: KubernetesTarget, stack: str, components: dict[str, dict[str, Any]]) -> list[Forward]:
    found, context = [], clusters.context_of(stack, placement)
    for kind, field, cluster_field in ADDRESSES:
        address = (components.get(kind) or {}).get(cluster_field)
        if not address or (components[kind].get(field) or address) != address:
            continue  # reachable from here already (kind: 127.0.0.1)
        parts = urlsplit(address if "://" in address else f"//{address}")
        service, namespace = (parts.hostname or "").split(".")[:2]
        found.append(
            Forward(
                kind,
                field,
                context,
                namespace,
                service,
                parts.port or 80,
                parts.scheme,
                (("insecure", True),) if kind == "registry" else (),
            )
        )
    return found


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
    placement: KubernetesTarget, stack: str, components: dict[str, dict[str, Any]]
) -> Iterator[dict[str, dict[str, Any]]]:
    """The client config at forwarded local ports, valid inside the `with` (kubectl port-forward, each in its own
    process group, all stopped on the way out)."""
    with forwarding(forwards(placement, stack, components)) as local:
        yield at_local_ports(components, local)


@contextmanager
def forwarding(plan: list[Forward]) -> Iterator[dict[Forward, int]]:
    """Each forward's local port once it accepts connections, valid inside the `with` (kubectl port-forward, each
    in its own process group, all stopped on the way out)."""
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
        yield local
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
