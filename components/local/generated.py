"""Free loopback ports, chosen once on create and then kept in state (credentials: mlstack.components.generated)."""

from __future__ import annotations

import random
import socket
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider

from mlstack.components.base import DynamicResource

SIDE_PORTS_FROM = 20000  # where kept ports are chosen from, up to the ephemeral range


class FreePortProvider(ResourceProvider):
    """Chosen below the kernel's ephemeral range (`free_ports`): a port the kernel hands out, as port 0 would give,
    can be taken as an outgoing connection's source port while its service restarts."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        [port] = free_ports(1, avoid=int(props.get("follows") or 0))
        return CreateResult(id_=f"port-{port}", outs={**props, "port": port})

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # State written before `follows` existed holds none: not a move.
        moved = "follows" in olds and (olds.get("follows") or 0) != (news.get("follows") or 0)
        return DiffResult(changes=moved, replaces=["follows"] if moved else [], delete_before_replace=False)


class FreePort(DynamicResource, module="local", name="Port"):
    """A loopback port free when first chosen, then kept so URLs stay stable across deploys. `follows`: another
    port this one is chosen anew with (a service's side ports move with its main port, so that a replacement on a
    new main port can start beside the old process)."""

    port: pulumi.Output[int]

    def __init__(
        self, name: str, follows: pulumi.Input[int] | None = None, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(FreePortProvider(), name, {"port": None, "follows": follows}, opts)


def port_of(
    name: str, fixed: int | None, parent: pulumi.Resource, follows: pulumi.Input[int] | None = None
) -> pulumi.Output[int]:
    """The recipe's port when it sets one, else a free port chosen once (anew when `follows` changes)."""
    if fixed:
        return pulumi.Output.from_input(fixed)
    return FreePort(f"{name}-port", follows=follows, opts=pulumi.ResourceOptions(parent=parent)).port


def _ephemeral_low() -> int:
    """The lowest port the kernel hands out as a connection's source port (Linux: ip_local_port_range)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


class FreePortsProvider(ResourceProvider):
    """Side ports are chosen below the kernel's ephemeral range: between a restart's stop and start, no outgoing
    connection can take one as its source port."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        ports = free_ports(int(props["count"]), avoid=int(props.get("follows") or 0))
        return CreateResult(id_=f"ports-{ports[0]}", outs={**props, "ports": ports})

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        moved = [k for k in ("count", "follows") if (olds.get(k) or 0) != (news.get(k) or 0)]
        return DiffResult(changes=bool(moved), replaces=moved, delete_before_replace=False)


def free_ports(count: int, avoid: int = 0) -> list[int]:
    """`count` distinct loopback ports nothing is bound to, below the kernel's ephemeral range (between a stop and a
    restart no outgoing connection can take one as its source port), never `avoid` (the port they follow)."""
    low = SIDE_PORTS_FROM if _ephemeral_low() - SIDE_PORTS_FROM >= 1000 else 1024
    high = max(_ephemeral_low(), low + 1000)
    ports: list[int] = []
    for candidate in random.Random().sample(range(low, high), k=min(high - low, 200)):
        if candidate != avoid and candidate not in ports and not _bound(candidate):
            ports.append(candidate)
            if len(ports) == count:
                return ports
    raise RuntimeError(f"no {count} free ports on 127.0.0.1 between {low} and {high}")


def _bound(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


class FreePorts(DynamicResource, module="local", name="Ports"):
    """`count` distinct loopback ports for a service that listens on several (its side ports), chosen in one step
    and kept; chosen anew with the port they follow, like `FreePort`."""

    ports: pulumi.Output[list[int]]

    def __init__(
        self, name: str, count: int, follows: pulumi.Input[int] | None, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(FreePortsProvider(), name, {"ports": None, "count": count, "follows": follows}, opts)
