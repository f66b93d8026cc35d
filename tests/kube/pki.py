"""The throwaway PKI of the test control plane, made with the openssl CLI.

openssl is on every machine that runs the tests, so no Python crypto package is needed. Certificates live one day:
the PKI is made afresh in each session's temp dir and never outlives it.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

# Every name a client may use for the API server: loopback, the first service IP (the in-cluster `kubernetes`
# Service), and the Service's DNS names.
SERVER_SANS = ("IP:127.0.0.1", "IP:10.0.0.1", "DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default",
               "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local")
DAYS = "1"


@dataclass(frozen=True)
class Pki:
    """Paths of the files the components are started with."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    admin_cert: Path  # O=system:masters: the cluster-admin of RBAC, used by the test and by every component
    admin_key: Path
    sa_key: Path  # signs service-account tokens (controller-manager, apiserver)
    sa_pub: Path  # verifies them (apiserver)


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.strip()}")


def _signed(d: Path, name: str, subject: str, extensions: str) -> None:
    """A key and a certificate signed by the CA in `d`; `extensions` is an openssl extfile body."""
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", subject, cwd=d)
    (d / f"{name}.ext").write_text(extensions)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", DAYS, "-sha256", "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=d)


def make_pki(d: Path) -> Pki:
    """Create a CA, the API server's serving cert, an admin client cert and the service-account key pair in `d`."""
    d.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", DAYS,
             "-subj", "/CN=mlstack-test-ca", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature", cwd=d)
    _signed(d, "server", "/CN=kube-apiserver",
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            f"extendedKeyUsage=serverAuth\nsubjectAltName={','.join(SERVER_SANS)}\n")
    _signed(d, "admin", "/O=system:masters/CN=mlstack-admin",
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=clientAuth\n")
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=d)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)
    return Pki(ca_cert=d / "ca.crt", ca_key=d / "ca.key", server_cert=d / "server.crt", server_key=d / "server.key",
               admin_cert=d / "admin.crt", admin_key=d / "admin.key", sa_key=d / "sa.key", sa_pub=d / "sa.pub")
