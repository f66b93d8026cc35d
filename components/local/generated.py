"""Free loopback ports, chosen once on create and then kept in state (credentials: mlstack.components.generated)."""

from __future__ import annotations

import socket
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, Resource, ResourceProvider


class FreePortProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        return CreateResult(id_=f"port-{port}", outs={**props, "port": port})


class FreePort(Resource):
    """A loopback port free when first chosen, then kept so URLs stay stable across deploys."""

    port: pulumi.Output[int]

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(FreePortProvider(), name, {"port": None}, opts)


def port_of(name: str, fixed: int | None, parent: pulumi.Resource) -> pulumi.Output[int]:
    """The recipe's port when it sets one, else a free port chosen once."""
    if fixed:
        return pulumi.Output.from_input(fixed)
    return FreePort(f"{name}-port", opts=pulumi.ResourceOptions(parent=parent)).port
