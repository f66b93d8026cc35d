"""SeaweedFS in the cluster: one `weed server` (master, volume server, filer, S3 gateway) in a StatefulSet on a kept
volume. Only the S3 gateway listens on the pod's address; the master, volume server and filer listen on the pod's
loopback (they talk to each other inside the one process; no other pod reaches them, so their gRPC needs no TLS
here), with the local flavor's other hardening: their HTTP APIs off or JWT-signed, the Iceberg and Lance servers and
telemetry off. Its configuration (the S3 identity, the JWT
keys, volume growth) is generated into the component's Secret and mounted read-only as its working directory."""

from __future__ import annotations

from typing import Any

import pulumi

from mlstack.components.generated import GeneratedSecret
from mlstack.components.kubernetes import workload as w
from mlstack.components.kubernetes.object_store import KubernetesS3Store
from mlstack.components.kubernetes.settings import KubernetesSeaweedfsObjectStore
from mlstack.components.local import seaweedfs as local
from mlstack.versions import KUBERNETES_IMAGES

APP, PORT = "seaweedfs", 8333
# The side ports inside the pod (its own network namespace: fixed ports collide with nothing), on its loopback.
SIDE = [9333, 19333, 8080, 18080, 8888, 18888, 18333]
CONFIG = "/etc/seaweedfs"  # `weed` reads security.toml and master.toml from its working directory, then from here


class KubernetesSeaweedfs(KubernetesS3Store[KubernetesSeaweedfsObjectStore]):
    """SeaweedFS: one StatefulSet, one process."""

    TYPE = "mlstack:kubernetes:SeaweedfsObjectStore"
    FLAVOR, APP, PORT = "seaweedfs", APP, PORT
    CREDENTIALS, BUCKETS_APP = "seaweedfs-credentials", "seaweedfs-buckets"

    def _secret_data(self, name: str) -> dict[str, pulumi.Input[str]]:
        signing = GeneratedSecret(f"{name}-signing-key", nbytes=32, opts=pulumi.ResourceOptions(parent=self)).value
        return {
            "identities.json": pulumi.Output.all(
                self.access_key, self.secret_key, self.reader_key, self.reader_secret
            ).apply(lambda a: local.identities(a[0], a[1], (a[2], a[3], self.settings.buckets))),
            "security.toml": signing.apply(local.security_toml),
            "master.toml": local.MASTER_TOML,
        }

    def _pod_annotations(self) -> dict[str, str]:
        # `weed` reads its identities at start: a new identity (the reader, added in 0.2) restarts the pod once
        return {"mlstack.dev/s3-identities": "mlstack,mlstack-reader"}

    def _container(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        args = local.argv("weed", "/data", f"{CONFIG}/identities.json", PORT, SIDE)[1:]
        args.append("-s3.ip.bind=0.0.0.0")  # the S3 gateway alone on the pod's address: the Service's port
        container = {
            "name": APP,
            "image": KUBERNETES_IMAGES["seaweedfs"],
            "command": ["weed"],
            "args": args,
            "working_dir": CONFIG,
            "env": [{"name": "HOME", "value": "/tmp"}],
            "ports": [{"name": "s3", "container_port": PORT}],
            "readiness_probe": w.http_probe("/healthz", PORT),
            "liveness_probe": w.http_probe("/healthz", PORT, delay=20),
            "resources": w.resources("100m", "256Mi", "1", "1Gi"),
            "security_context": w.container_security(),
            "volume_mounts": [
                {"name": "data", "mount_path": "/data"},
                {"name": "config", "mount_path": CONFIG, "read_only": True},
                {"name": "tmp", "mount_path": "/tmp"},  # its Unix sockets
            ],
        }
        files = ("identities.json", "security.toml", "master.toml")
        volumes = [
            {"name": "data", "persistent_volume_claim": {"claim_name": f"{APP}-data"}},
            {
                "name": "config",
                "secret": {
                    "secret_name": self.CREDENTIALS,
                    "items": [{"key": f, "path": f} for f in files],
                    "default_mode": 0o440,  # the pod's group (fsGroup) reads it, nobody else
                },
            },
            {"name": "tmp", "empty_dir": {"size_limit": "64Mi"}},
        ]
        return container, volumes
