"""SeaweedFS on 127.0.0.1: one `weed server` process (master, volume server, filer and S3 gateway), SigV4
identities from the stack's generated keys, objects on disk kept across destroy.

Every listener it opens is on 127.0.0.1 and on a port mlstack chose: besides the S3 port, the master, volume server,
filer and S3 gateway each have an HTTP and a gRPC port (chosen together, kept, moved with the S3 port). The Iceberg
catalog and Lance namespace servers (fixed ports otherwise) are turned off, and so is the master's telemetry. The
master's and the filer's own HTTP APIs are turned off (the filer's would serve every object without a signature);
the volume server's HTTP API takes only JWTs signed with keys derived from a generated secret, and its gRPC ports
take only mutual TLS with a certificate from a private CA generated for this store (its key discarded). Its
configuration (`security.toml`, `master.toml`, the S3 identity, the certificate and key) is written 0600 in the
process's working directory, where `weed` looks first.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence

import pulumi

from mlstack.components.generated import GeneratedCertificate, GeneratedSecret
from mlstack.components.local.generated import FreePorts
from mlstack.components.local.object_store import S3Store
from mlstack.components.local.process import ManagedProcess
from mlstack.recipe.settings import SeaweedfsObjectStore

# Side ports, in the order FreePorts hands them out.
SIDE_PORTS = ("master", "master.port.grpc", "volume", "volume.port.grpc", "filer", "filer.port.grpc", "s3.port.grpc")
# On TERM (measured, 2 cores): its volume server has shut down within 2 ms, its filer's gRPC server has stopped and
# its deletion queue is drained by ~0.2 s ("Shutting down filer"); after that the process only retries a
# metadata-log flush that needs the stopped volume server, for 15 s, and drops it. A 0.5 s grace before KILL
# loses nothing the graceful path keeps (what S3 acknowledged is on disk already), with 2.5 x that margin.
STOP_TIMEOUT = 0.5
VOLUME_SIZE_MB = 1024  # volumes of 1 GiB (not 30): each bucket is a collection with volumes of its own
MAX_VOLUMES = 1000  # a count, not space: a volume file grows as it is written (nothing is preallocated)
# master.toml, read from the working directory: a bucket starts with one volume (not seven) and grows when full.
MASTER_TOML = "[master.volume_growth]\ncopy_1 = 1\n"


GRPC_SERVERS = ("master", "volume", "filer", "s3")
CERT_DAYS = 3650  # the private CA signs this one certificate only; a new store (or a replaced one) gets a new one


def security_toml(secret: str, tls_dir: str | None = None) -> str:
    """JWT keys for the volume server's and the filer's HTTP APIs (read and write), derived from one secret; with
    `tls_dir` (ca.pem, tls.pem, tls.key in it), mutual TLS on every gRPC port and for every gRPC client."""
    sections = ("jwt.signing", "jwt.signing.read", "jwt.filer_signing", "jwt.filer_signing.read")
    keys = {s: hmac.new(secret.encode(), s.encode(), hashlib.sha256).hexdigest() for s in sections}
    text = "".join(f'[{s}]\nkey = "{k}"\nexpires_after_seconds = 10\n\n' for s, k in keys.items())
    if tls_dir:
        pair = f'cert = "{tls_dir}/tls.pem"\nkey = "{tls_dir}/tls.key"\n'
        text += f'[grpc]\nca = "{tls_dir}/ca.pem"\n\n'
        text += "".join(f"[grpc.{s}]\n{pair}\n" for s in (*GRPC_SERVERS, "client"))
    return text


def identities(access_key: str, secret_key: str, reader: tuple[str, str, list[str]] | None = None) -> str:
    """The S3 gateway's identities: the stack's keys, with every action on every bucket; and, where given, a reader
    (access key, secret key, buckets) that may only list and read those buckets (what serves models)."""
    actions = ["Admin", "Read", "Write", "List", "Tagging"]
    credentials = [{"accessKey": access_key, "secretKey": secret_key}]
    found = [{"name": "mlstack", "credentials": credentials, "actions": actions}]
    if reader is not None:
        key, secret, buckets = reader
        found.append(
            {
                "name": "mlstack-reader",
                "credentials": [{"accessKey": key, "secretKey": secret}],
                "actions": [f"{action}:{bucket}" for bucket in buckets for action in ("Read", "List")],
            }
        )
    return json.dumps({"identities": found})


def _port(port: float | None) -> int | None:
    return None if port is None else int(port)  # the engine hands numbers back as floats


def _ports(side: Sequence[float | None] | None) -> dict[str, int | None]:
    """The side ports by flag (None in the offline plan: chosen on deploy)."""
    return dict(zip(SIDE_PORTS, (_port(p) for p in side or [None] * len(SIDE_PORTS)), strict=True))


def sockets(s3_port: int | None, side: list[int] | None) -> list[str]:
    """The Unix sockets `weed server` opens in /tmp for its own calls (paths it fixes; only their owner may connect,
    as the process's umask is 077): removed once it has stopped, since a killed process leaves them."""
    ports = _ports(side)
    grpc = [f"/tmp/seaweedfs-{s}-grpc-{ports[f'{s}.port.grpc']}.sock" for s in ("master", "volume", "filer", "s3")]
    return [*grpc, f"/tmp/seaweedfs-filer-{ports['filer']}.sock", f"/tmp/seaweedfs-s3-{_port(s3_port)}.sock"]


def argv(weed: str, data: str, config: str, s3_port: int | None, side: list[int] | None) -> list[str]:
    ports = _ports(side)
    return [
        weed,
        "server",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={ports['master']}",
        f"-master.port.grpc={ports['master.port.grpc']}",
        "-master.telemetry=false",
        "-master.electionTimeout=1s",  # one master: no peer to wait for (the default 10 s delays every restart)
        f"-master.volumeSizeLimitMB={VOLUME_SIZE_MB}",
        "-disableHttp",  # the master's HTTP API (assign, lookup): its clients here use gRPC
        f"-volume.port={ports['volume']}",
        f"-volume.port.grpc={ports['volume.port.grpc']}",
        f"-volume.max={MAX_VOLUMES}",
        "-volume.preStopSeconds=0",
        "-filer",
        f"-filer.port={ports['filer']}",
        f"-filer.port.grpc={ports['filer.port.grpc']}",
        "-filer.disableHttp",
        "-s3",
        f"-s3.port={_port(s3_port)}",
        f"-s3.port.grpc={ports['s3.port.grpc']}",
        f"-s3.config={config}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-s3.autoCreateBucket=false",  # as on S3: a write to a bucket that does not exist fails (drift is seen)
    ]


class LocalSeaweedfs(S3Store[SeaweedfsObjectStore]):
    """SeaweedFS (built from Go modules), one process."""

    TYPE = "mlstack:local:SeaweedfsObjectStore"
    FLAVOR = "seaweedfs"
    BUCKET = "seaweedfs-bucket"

    def _create_process(self, name: str) -> ManagedProcess:
        # Beside where MinIO would keep its buckets, under a name no bucket can have (S3 names take no '_').
        run, data = self.context.run_dir(name), self.context.data_dir(name) / "_seaweedfs"
        side = FreePorts(
            f"{name}-side-ports", count=len(SIDE_PORTS), follows=self.port, opts=pulumi.ResourceOptions(parent=self)
        ).ports
        child = pulumi.ResourceOptions(parent=self)
        signing = GeneratedSecret(f"{name}-signing-key", nbytes=32, opts=child).value
        tls = GeneratedCertificate(f"{name}-grpc-certificate", common_name="seaweedfs", days=CERT_DAYS, opts=child)
        config = str(run / "identities.json")
        files = pulumi.Output.all(self.access_key, self.secret_key, signing, tls.ca, tls.cert, tls.key).apply(
            lambda a: {
                config: identities(a[0], a[1]),
                str(run / "security.toml"): security_toml(a[2], str(run)),
                str(run / "master.toml"): MASTER_TOML,
                str(run / "ca.pem"): a[3],
                str(run / "tls.pem"): a[4],
                str(run / "tls.key"): a[5],
            }
        )
        weed = self.context.runtime("seaweedfs")
        return ManagedProcess(
            f"{name}-server",
            service="seaweedfs",
            argv=pulumi.Output.all(self.port, side).apply(lambda a: argv(weed, str(data), config, a[0], a[1])),
            port=self.port,
            extra_ports=side,
            exclusive=True,  # two servers on one directory would both write its volumes and filer store
            health_url=self.port.apply(lambda p: f"http://127.0.0.1:{p}/healthz"),
            log_file=str(run / "seaweedfs.log"),
            env={"HOME": str(run)},
            files=pulumi.Output.secret(files),
            dirs=[str(data), str(run)],
            cwd=str(run),  # `weed` reads security.toml and master.toml from its working directory first
            ready_timeout=60.0,
            stop_timeout=STOP_TIMEOUT,
            leftovers=pulumi.Output.all(self.port, side).apply(lambda a: sockets(a[0], a[1])),
            port_setting=f"components.{name}.port",
            opts=pulumi.ResourceOptions(parent=self),
        )
