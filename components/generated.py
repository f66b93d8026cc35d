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


class GeneratedCertificateProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        ca, cert, key = _certificate(str(props["name"]), int(props["days"]))
        outs = {**props, "ca": ca, "cert": cert, "key": key}
        return CreateResult(id_=f"certificate-{secrets.token_hex(4)}", outs=outs)


def _certificate(name: str, days: int) -> tuple[str, str, str]:
    """(CA certificate, certificate, its private key) in PEM: a private CA whose key is discarded once it has signed
    one certificate for 127.0.0.1 / localhost, good for both ends of a TLS connection (server and client auth)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"mlstack {name} CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    private = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return ca.public_bytes(pem).decode(), leaf.public_bytes(pem).decode(), private.decode()


class GeneratedCertificate(DynamicResource, module="mlstack", name="GeneratedCertificate"):
    """A certificate for a service's own TLS on this machine, from a private CA made for it alone (its key is not
    kept: nothing else can be signed by it). Kept in state; the key is a Pulumi secret."""

    ca: pulumi.Output[str]
    cert: pulumi.Output[str]
    key: pulumi.Output[str]

    def __init__(self, name: str, *, common_name: str, days: int, opts: pulumi.ResourceOptions | None = None) -> None:
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["key"]))
        props = {"name": common_name, "days": days, "ca": None, "cert": None, "key": None}
        super().__init__(GeneratedCertificateProvider(), name, props, opts)
        self.key = pulumi.Output.secret(self.key)
