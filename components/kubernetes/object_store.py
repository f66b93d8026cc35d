"""S3-compatible stores in the cluster (MinIO here, SeaweedFS in `seaweedfs.py`): a StatefulSet on a kept volume,
keys generated into a Secret, the recipe's buckets created by a Job, a Service; reachable only from the components
wired to it, and its bucket Job (network.py)."""

from __future__ import annotations

import json
import shlex
from typing import Any, ClassVar, TypeVar

import pulumi
import pulumi_kubernetes as k8s

from mlstack.clients.models import ObjectStoreClient, SecretRef
from mlstack.components import outputs as out
from mlstack.components.base import Component
from mlstack.components.context import ComponentArgs
from mlstack.components.generated import GeneratedSecret
from mlstack.components.kubernetes import naming as n
from mlstack.components.kubernetes import workload as w
from mlstack.components.kubernetes.settings import KubernetesMinioObjectStore, KubernetesS3Settings
from mlstack.versions import KUBERNETES_IMAGES

APP, PORT, UID = "minio", 9000, 1000
CREDENTIALS = "minio-credentials"
SECRET_OUTPUT, SECRET_ENV = "object_store_secret_key", "AWS_SECRET_ACCESS_KEY"
REGION = "us-east-1"
BUCKETS_APP = "minio-buckets"  # the Job that makes the buckets: it calls MinIO, besides the components wired to it


def bucket_script(buckets: list[str], app: str = APP, port: int = PORT) -> str:
    """Idempotent: a bucket that exists is kept with its objects (MinIO's client speaks to any S3 server)."""
    made = " && ".join(f"mc mb --ignore-existing store/{shlex.quote(b)}" for b in buckets)
    return f'mc alias set store "http://{app}:{port}" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null && {made}'


def reader_policy(buckets: list[str]) -> str:
    """An IAM policy that lists and reads the buckets, nothing else."""
    arns = [f"arn:aws:s3:::{b}" for b in buckets]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": arns},
                {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"{a}/*" for a in arns]},
            ],
        }
    )


def reader_script(buckets: list[str]) -> str:
    """MinIO's reader: a user whose one policy lists and reads the buckets (idempotent: a policy attached before
    is left as it is)."""
    policy = shlex.quote(reader_policy(buckets))
    return (
        'mc admin user add store "$READER_USER" "$READER_PASSWORD" >/dev/null'
        f" && printf '%s' {policy} > /tmp/reader.json"
        " && mc admin policy create store mlstack-reader /tmp/reader.json >/dev/null"
        ' && { out=$(mc admin policy attach store mlstack-reader --user "$READER_USER" 2>&1)'
        ' || echo "$out" | grep -qi "already" || { echo "$out" >&2; exit 1; }; }'
    )


SettingsT = TypeVar("SettingsT", bound=KubernetesS3Settings)


class KubernetesS3Store(Component[SettingsT, w.KubernetesPlatform, out.ObjectStoreOutputs, ObjectStoreClient]):
    """What every in-cluster S3 server shares: generated keys in a Secret, a kept volume, its StatefulSet, Service,
    bucket Job and flows, and the outputs it hands on. A subclass names its flavor, app and port, adds to the
    Secret and gives its server's container (`_container`)."""

    FLAVOR: ClassVar[str]
    APP: ClassVar[str]
    PORT: ClassVar[int]
    UID: ClassVar[int] = UID
    CREDENTIALS: ClassVar[str]  # the Secret: "root-user" and "root-password" hold the S3 keys
    BUCKETS_APP: ClassVar[str]

    def __init__(
        self,
        name: str,
        args: ComponentArgs[SettingsT, w.KubernetesPlatform],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, args, opts)
        platform, child = self.platform, pulumi.ResourceOptions(parent=self)
        self.access_key = GeneratedSecret(f"{name}-access-key", nbytes=16, secret=False, opts=child).value.apply(
            lambda v: "mls" + v.replace("-", "").replace("_", "")[:17].upper()
        )
        self.secret_key = GeneratedSecret(f"{name}-secret-key", nbytes=30, opts=child).value
        # a second identity that may only list and read the buckets: what serves models (KServe) pulls with it
        self.reader_key = GeneratedSecret(f"{name}-reader-key", nbytes=16, secret=False, opts=child).value.apply(
            lambda v: "mlr" + v.replace("-", "").replace("_", "")[:17].upper()
        )
        self.reader_secret = GeneratedSecret(f"{name}-reader-secret", nbytes=30, opts=child).value
        keys = {
            "root-user": self.access_key,
            "root-password": self.secret_key,
            "reader-user": self.reader_key,
            "reader-password": self.reader_secret,
        }
        self.credentials = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata=w.metadata(platform, self.CREDENTIALS, name, self.APP),
            type="Opaque",
            string_data={**keys, **self._secret_data(name)},
            opts=child,
        )
        self.volume = w.volume_claim(
            f"{name}-volume", platform, f"{self.APP}-data", name, self.settings.storage_gb, self
        )
        self.server = self._server(name)
        self.service = w.service(f"{name}-service", platform, self.APP, name, self.PORT, self)
        service = w.endpoint(platform, self.APP, self.PORT)
        self.flows = w.Flows(serves=service, admits=(n.selector(self.BUCKETS_APP),))
        self.buckets = self._bucket_job(name)
        w.allow_egress(
            f"{name}-buckets-egress", platform, self.BUCKETS_APP, name, [(service.selector, self.PORT)], self
        )

        cluster_url = f"http://{service.host}:{self.PORT}"
        host_port = n.host_port("object_store", self.settings.port)
        self.endpoint = pulumi.Output.from_input(
            f"http://127.0.0.1:{host_port}" if platform.node_ports else cluster_url
        )
        outputs = out.ObjectStoreOutputs(
            tuple(
                out.Bucket(b, pulumi.Output.from_input(b), pulumi.Output.from_input(f"s3://{b}"))
                for b in self.settings.buckets
            ),
            endpoint=pulumi.Output.from_input(cluster_url),
            access_key=self.access_key,
            secret_key=self.secret_key,
            credentials_ref=out.SecretKeys(self.CREDENTIALS, "root-user", "root-password"),
            service=service,
            reader_key=self.reader_key,
            reader_secret=self.reader_secret,
        )
        client = pulumi.Output.all(self.endpoint, self.access_key).apply(
            lambda a: ObjectStoreClient(
                flavor=self.FLAVOR,
                endpoint_url=a[0],
                cluster_endpoint_url=cluster_url,
                region=REGION,
                buckets=[f"s3://{b}" for b in self.settings.buckets],
                access_key_id=a[1],
                secret_access_key=SecretRef(output=SECRET_OUTPUT, env=SECRET_ENV),
            )
        )
        self.publish(outputs, client, {SECRET_OUTPUT: self.secret_key})

    def _secret_data(self, name: str) -> dict[str, pulumi.Input[str]]:
        """What the server's Secret holds besides the S3 keys."""
        return {}

    def _container(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The server's container, and the pod's volumes ("data", the claim, among them)."""
        raise NotImplementedError

    def _job_script(self) -> str:
        """What the bucket Job runs: the buckets (a subclass adds what its server needs besides)."""
        return bucket_script(self.settings.buckets, self.APP, self.PORT)

    def _keys_env(self) -> list[dict]:
        """The S3 keys, by reference to the Secret, as the bucket Job's client reads them."""
        return [
            w.secret_env("MINIO_ROOT_USER", self.CREDENTIALS, "root-user"),
            w.secret_env("MINIO_ROOT_PASSWORD", self.CREDENTIALS, "root-password"),
        ]

    def _job_env(self) -> list[dict]:
        return [*self._keys_env(), {"name": "HOME", "value": "/tmp"}]

    def _pod_annotations(self) -> dict[str, str]:
        """Annotations of the server's pods: a change rolls them (a subclass whose server reads files once)."""
        return {}

    def _server(self, name: str) -> k8s.apps.v1.StatefulSet:
        container, volumes = self._container()
        template = w.pod_template(self.platform, self.APP, name, [container], self.UID, volumes)
        if annotations := self._pod_annotations():
            template["metadata"]["annotations"] = annotations
        return k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata=w.metadata(self.platform, self.APP, name),
            spec={
                "service_name": self.APP,
                "replicas": 1,
                "selector": {"match_labels": n.selector(self.APP)},
                "template": template,
            },
            opts=w.workload_opts(self, self.platform, self.credentials, self.volume),
        )

    def _bucket_job(self, name: str) -> k8s.batch.v1.Job:
        container = {
            "name": "mc",
            "image": KUBERNETES_IMAGES["mc"],
            "command": ["/bin/sh", "-c", self._job_script()],
            "env": self._job_env(),
            "resources": w.resources("50m", "64Mi", "500m", "256Mi"),
            "security_context": w.container_security(),
            "volume_mounts": [{"name": "tmp", "mount_path": "/tmp"}],
        }
        template = w.pod_template(
            self.platform,
            self.BUCKETS_APP,
            name,
            [container],
            UID,
            [{"name": "tmp", "empty_dir": {"size_limit": "64Mi"}}],
        )
        template["spec"]["restart_policy"] = "OnFailure"
        return k8s.batch.v1.Job(
            f"{name}-buckets",
            metadata=w.metadata(self.platform, self.BUCKETS_APP, name),
            spec={"backoff_limit": 10, "template": template},
            # a fixed name: a changed Job (new buckets) is deleted before its replacement is created
            opts=w.workload_opts(self, self.platform, self.server, self.service, delete_before_replace=True),
        )


class KubernetesObjectStore(KubernetesS3Store[KubernetesMinioObjectStore]):
    """MinIO: one StatefulSet."""

    TYPE = "mlstack:kubernetes:ObjectStore"  # MinIO's since the first release
    FLAVOR, APP, PORT, CREDENTIALS, BUCKETS_APP = "minio", APP, PORT, CREDENTIALS, BUCKETS_APP

    def _env(self) -> list[dict]:
        return [*self._keys_env(), {"name": "MINIO_BROWSER", "value": "off"}, {"name": "HOME", "value": "/tmp"}]

    def _job_env(self) -> list[dict]:
        return [
            *self._env(),
            w.secret_env("READER_USER", CREDENTIALS, "reader-user"),
            w.secret_env("READER_PASSWORD", CREDENTIALS, "reader-password"),
        ]

    def _job_script(self) -> str:
        return f"{bucket_script(self.settings.buckets, APP, PORT)} && {reader_script(self.settings.buckets)}"

    def _container(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        container = {
            "name": APP,
            "image": KUBERNETES_IMAGES["minio"],
            "args": ["server", "/data", "--address", f":{PORT}"],
            "env": self._env(),
            "ports": [{"name": "s3", "container_port": PORT}],
            "readiness_probe": w.http_probe("/minio/health/ready", PORT),
            "liveness_probe": w.http_probe("/minio/health/live", PORT, delay=20),
            "resources": w.resources("100m", "256Mi", "1", "1Gi"),
            "security_context": w.container_security(),
            "volume_mounts": [{"name": "data", "mount_path": "/data"}, {"name": "tmp", "mount_path": "/tmp"}],
        }
        volumes = [
            {"name": "data", "persistent_volume_claim": {"claim_name": f"{APP}-data"}},
            {"name": "tmp", "empty_dir": {"size_limit": "256Mi"}},
        ]
        return container, volumes
