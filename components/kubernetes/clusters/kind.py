"""The `kind` cluster provisioner: a local cluster mlstack creates (or reuses) with the `kind` CLI on Docker or
Podman, from a cluster config it writes as data. A kind cluster is deleted only by `destroy --purge`.

The config maps each exposed service's node port to 127.0.0.1 (never 0.0.0.0) and points containerd at a
certs.d directory, where a hosts.toml per node lets the nodes pull `localhost:<registry port>` — the name images
are pushed under from the host — from the in-cluster registry's node port.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from mlstack.components.kubernetes import naming as n
from mlstack.components.kubernetes.clusters import Check, ClusterProvisioner, Gate
from mlstack.errors import EngineError, NotAvailableError
from mlstack.recipe.base import UserModel
from mlstack.versions import KIND_VERSION

CERTS_D = "/etc/containerd/certs.d"
CONTAINERD_PATCH = f'[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "{CERTS_D}"\n'
TIMEOUT = 600


class KindCluster(UserModel):
    """A local kind cluster (Docker or Podman) that mlstack creates, or reuses, for this stack."""

    type: Literal["kind"] = Field(description="Cluster provisioner.")
    name: str | None = Field(
        default=None,
        pattern=n.DNS_LABEL.pattern,
        description="kind cluster name; default: the stack's name (its context: kind-<name>).",
    )


def cluster_name(stack: str, placement: Any) -> str:
    return placement.cluster.name or stack


def host_ports(components: dict[str, Any]) -> dict[str, int]:
    """component kind -> port on 127.0.0.1 (the recipe's `port`, else the node port itself)."""
    return {
        kind: n.host_port(kind, getattr(spec, "port", None))
        for kind, spec in components.items()
        if kind in n.NODE_PORTS
    }


def cluster_config(name: str, ports: dict[str, int]) -> dict[str, Any]:
    """kind's v1alpha4 Cluster config (JSON is YAML, so `kind create cluster --config` reads it as it is)."""
    mappings = [
        {"containerPort": n.NODE_PORTS[kind], "hostPort": port, "listenAddress": "127.0.0.1", "protocol": "TCP"}
        for kind, port in sorted(ports.items())
    ]
    return {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "name": name,
        "containerdConfigPatches": [CONTAINERD_PATCH],
        "nodes": [{"role": "control-plane", "extraPortMappings": mappings}],
    }


def registry_hosts_toml(name: str, registry_host_port: int) -> tuple[str, str]:
    """(directory under certs.d, hosts.toml) that send pulls of `localhost:<port>` to the registry's node port."""
    upstream = f"http://{name}-control-plane:{n.NODE_PORTS['registry']}"
    return (
        f"{CERTS_D}/localhost:{registry_host_port}",
        f'server = "{upstream}"\n\n[host."{upstream}"]\n  capabilities = ["pull", "resolve"]\n',
    )


def container_engine() -> str | None:
    """docker, or podman (kind's experimental provider), whichever answers."""
    if os.environ.get("KIND_EXPERIMENTAL_PROVIDER") == "podman" and shutil.which("podman"):
        return "podman"
    for engine in ("docker", "podman"):
        if shutil.which(engine) and subprocess.run([engine, "info"], capture_output=True, timeout=20).returncode == 0:
            return engine
    return None


def missing_tools() -> list[str]:
    """What a kind cluster needs that this machine lacks (empty: ready)."""
    missing = []
    if not shutil.which("kind"):
        missing.append(f"the kind CLI (`go install sigs.k8s.io/kind@{KIND_VERSION}`)")
    if container_engine() is None:
        missing.append("a running container engine (Docker, or Podman with KIND_EXPERIMENTAL_PROVIDER=podman)")
    return missing


class Kind(ClusterProvisioner):
    type = "kind"
    spec = KindCluster
    summary = "a local kind cluster mlstack creates"
    alias = "kind"
    exposure = "node_ports"
    registry_pull = "node_localhost"
    keeps = "the kind cluster"
    credentials_reason = "kind writes the context"

    purge_deletes_cluster = True

    def context(self, stack: str, placement: Any) -> str | None:
        return placement.context or f"kind-{cluster_name(stack, placement)}"

    def identity(self, stack: str, placement: Any) -> str | None:
        return f"kind:{cluster_name(stack, placement)}"

    def preflight(self, placement: Any, stack: str) -> Gate | None:
        """kind's tools (mlstack creates the cluster, so there is no API server to ask yet)."""
        missing = missing_tools()
        if missing:
            raise NotAvailableError(
                f"a kind cluster needs {' and '.join(missing)}",
                hint="install them, or target an existing cluster: `cluster: {type: existing}`",
            )
        return None

    def prepare(
        self, placement: Any, stack: str, components: dict[str, Any], work_dir: Path, emit: Callable[[str], None]
    ) -> None:
        """Create the stack's kind cluster unless it exists; then make its nodes pull from the stack's registry."""
        name, ports = cluster_name(stack, placement), host_ports(components)
        engine = container_engine() or "docker"
        existing = _run(["kind", "get", "clusters"]).split()
        if name not in existing:
            work_dir.mkdir(parents=True, exist_ok=True)
            config = work_dir / "kind-cluster.json"
            config.write_text(json.dumps(cluster_config(name, ports), indent=2))
            emit(f"creating kind cluster {name!r} (a minute or two)")
            _run(["kind", "create", "cluster", "--name", name, "--config", str(config), "--wait", "120s"])
        if "registry" in ports:
            directory, toml = registry_hosts_toml(name, ports["registry"])
            for node in _run(["kind", "get", "nodes", "--name", name]).split():
                _run([engine, "exec", node, "mkdir", "-p", directory])
                _run([engine, "exec", "-i", node, "sh", "-c", f"cat > '{directory}/hosts.toml'"], stdin=toml)

    def purge(self, placement: Any, stack: str) -> str | None:
        """The whole kind cluster (the namespace and its volumes go with it)."""
        if not shutil.which("kind"):
            return None
        name = cluster_name(stack, placement)
        _run(["kind", "delete", "cluster", "--name", name])
        return f"kind cluster {name}"

    def doctor(self) -> list[Check]:
        missing = missing_tools()
        found = "kind and a container engine found"
        return [
            (
                "kind",
                not missing,
                found if not missing else "for `cluster: {type: kind}`: needs " + " and ".join(missing),
            )
        ]


PROVISIONER = Kind()


def _run(cmd: list[str], stdin: str | None = None) -> str:
    try:
        done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise EngineError(f"`{' '.join(cmd[:4])}` took more than {TIMEOUT} s") from None
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise EngineError(f"`{' '.join(cmd[:4])}` failed: {tail}", hint="`mlstack doctor` checks kind and the engine")
    return done.stdout
