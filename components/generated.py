"""Credentials generated once on create and then kept in state as Pulumi secrets (a dynamic resource: it needs
no provider plugin, and the offline plan's mocks generate a value the same way)."""

from __future__ import annotations

import secrets
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, ResourceProvider

from mlstack.components.base import DynamicResource


def _mixed(value: str) -> bool:
    return any(c.isupper() for c in value) and any(c.islower() for c in value) and any(c.isdigit() for c in value)


class GeneratedSecretProvider(ResourceProvider):
    offline = True  # pure: the offline plan may run `create` under its mocks

    def create(self, props: dict[str, Any]) -> CreateResult:
        value = secrets.token_urlsafe(int(props.get("bytes") or 24))  # 24 bytes = 192 bits
        while props.get("mixed") and not _mixed(value):  # a database's complexity rule; ~1 in 100 draws retries
            value = secrets.token_urlsafe(int(props.get("bytes") or 24))
        outs = {**props, "value": value}
        if props.get("bcrypt"):
            # Hashed once here, not in the program: a fresh salt on every run would look like drift.
            import bcrypt

            outs["bcrypt"] = bcrypt.hashpw(value.encode(), bcrypt.gensalt()).decode()
        return CreateResult(id_=f"secret-{secrets.token_hex(4)}", outs=outs)

    def plan(self, props: dict[str, Any], seed: str) -> CreateResult:
        """The offline plan's value, derived from the resource's name so that a plan reads the same on every run
        (a plan is never deployed: `create` makes the real, random one). Same shape as a real value."""
        import base64
        import hashlib
        import random

        rng = random.Random(hashlib.sha256(seed.encode()).digest())  # noqa: S311 - a plan's stand-in, not a secret
        size = int(props.get("bytes") or 24)
        value = base64.urlsafe_b64encode(rng.randbytes(size)).rstrip(b"=").decode()
        while props.get("mixed") and not _mixed(value):
            value = base64.urlsafe_b64encode(rng.randbytes(size)).rstrip(b"=").decode()
        outs = {**props, "value": value}
        if props.get("bcrypt"):
            import bcrypt

            alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
            salt = "$2b$04$" + "".join(rng.choice(alphabet) for _ in range(21)) + "."
            outs["bcrypt"] = bcrypt.hashpw(value.encode(), salt.encode()).decode()
        return CreateResult(id_=f"secret-{hashlib.sha256(seed.encode()).hexdigest()[:8]}", outs=outs)


class GeneratedSecret(DynamicResource, module="mlstack", name="GeneratedSecret"):
    """A random credential (>= 128 bits, URL-safe alphabet) kept as a Pulumi secret; `mixed` guarantees upper and
    lower case letters and digits (password rules of managed databases)."""

    value: pulumi.Output[str]
    bcrypt: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        nbytes: int = 24,
        with_bcrypt: bool = False,
        secret: bool = True,
        mixed: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if secret:  # an identifier such as an S3 access key id is random but not secret
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["value"]))
        super().__init__(
            GeneratedSecretProvider(),
            name,
            {"bytes": max(nbytes, 16), "bcrypt": with_bcrypt or None, "mixed": mixed or None, "value": None},
            opts,
        )
        if secret:  # secret in the program itself too, whatever the engine (or the offline plan's mocks) reports
            self.value = pulumi.Output.secret(self.value)
