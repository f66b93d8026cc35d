"""`mlstack connect`: what to port-forward so this machine reaches a stack's in-cluster services, and which client
fields then point at the forwarded 127.0.0.1 ports. Read from the stack's own client output (the in-cluster
addresses each component publishes), so what is forwarded is what the stack says it runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mlstack.components.kubernetes import clusters
from mlstack.components.kubernetes.settings import KubernetesTarget

# (component kind, the field clients use here, the field holding the in-cluster address)
ADDRESSES = (
    ("object_store", "endpoint_url", "cluster_endpoint_url"),
    ("tracking", "tracking_uri", "cluster_tracking_uri"),
    ("serving", "base_url", "cluster_base_url"),
    ("registry", "uri", "cluster_uri"),
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
