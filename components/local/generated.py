"""Values generated once on create and then kept in state: credentials (as secrets) and free ports."""

from __future__ import annotations

import secrets
import socket
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, Resource, ResourceProvider


class GeneratedSecretProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        value = secrets.token_urlsafe(int(props.get("bytes") or 24))  # 24 bytes = 192 bits
        outs = {**props, "value": value}
        if props.get("bcrypt"):
            # Hashed once here, not in the program: a fresh salt on every run would look like drift.
            import bcrypt

            outs["bcrypt"] = bcrypt.hashpw(value.encode(), bcrypt.gensalt()).decode()
        return CreateResult(id_=f"secret-{secrets.token_hex(4)}", outs=outs)


class GeneratedSecret(Resource):
    """A random credential (>= 128 bits) kept as a Pulumi secret."""

    value: pulumi.Output[str]
    bcrypt: pulumi.Output[str]

    def __init__(self, name: str, *, nbytes: int = 24, with_bcrypt: bool = False, secret: bool = True,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        if secret:  # an identifier such as an S3 access key id is random but not secret
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["value"]))
        super().__init__(GeneratedSecretProvider(), name,
                         {"bytes": max(nbytes, 16), "bcrypt": with_bcrypt or None, "value": None}, opts)


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
