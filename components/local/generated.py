"""Free loopback ports, chosen once on create and then kept in state (credentials: mlstack.components.generated)."""

from __future__ import annotations

import socket
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider

from mlstack.components.base import DynamicResource


class FreePortProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
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
