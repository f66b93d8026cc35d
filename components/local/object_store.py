"""S3-compatible object stores on 127.0.0.1 (MinIO here, SeaweedFS in `seaweedfs.py`): an S3 API with SigV4 and
generated keys, the recipe's buckets, objects on disk kept across destroy."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from mlstack.clients.models import ObjectStoreClient, SecretRef
from mlstack.components import outputs as out
from mlstack.components.base import Component, DynamicResource, holds_data
from mlstack.components.context import ComponentArgs
from mlstack.components.generated import GeneratedSecret
from mlstack.components.local.generated import port_of
from mlstack.components.local.process import ManagedProcess
from mlstack.recipe.settings import MinioObjectStore, S3Buckets

REGION = "us-east-1"
SECRET_OUTPUT = "object_store_secret_key"
SECRET_ENV = "AWS_SECRET_ACCESS_KEY"


def s3_client(endpoint: str, access_key: str, secret_key: str, attempts: int = 3) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=REGION,
        config=Config(signature_version="s3v4", retries={"max_attempts": attempts}, connect_timeout=5, read_timeout=10),
    )


def bucket_missing(bucket: str, props: dict[str, Any]) -> bool:
    """Whether the server recorded in `props` answers that `bucket` does not exist (404); False when it does, when
    it refuses the question, when it does not answer, or when no server was recorded (an interrupted run).

    A HEAD signed with botocore's SigV4 signer alone: building a boto3 client (~0.25 s here) would be paid on the
    critical path of every deploy and drift."""
    import http.client
    import urllib.error
    import urllib.parse
    import urllib.request

    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    if not all(props.get(k) for k in ("endpoint", "access_key", "secret_key")):
        return False
    url = f"{str(props['endpoint']).rstrip('/')}/{urllib.parse.quote(bucket, safe='')}"
    signed = AWSRequest(method="HEAD", url=url)
    S3SigV4Auth(Credentials(props["access_key"], props["secret_key"]), "s3", REGION).add_auth(signed)
    request = urllib.request.Request(url, method="HEAD", headers=dict(signed.headers.items()))
    try:
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - the stack's own loopback endpoint
            return False
    except urllib.error.HTTPError as exc:
        return exc.code == 404
    except (urllib.error.URLError, OSError, http.client.HTTPException):  # HTTPException: not HTTP listens there
        return False


def _make_bucket(props: dict[str, Any]) -> None:
    client = s3_client(props["endpoint"], props["access_key"], props["secret_key"])
    try:
        client.create_bucket(Bucket=props["bucket"])
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass  # found from an earlier deploy: its objects are kept


class BucketProvider(ResourceProvider):
    """A bucket in the stack's S3 server. Deleting the resource leaves the bucket and its objects on disk:
    data outlives `destroy` unless `--purge` removes the data directory."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        _make_bucket(props)
        return CreateResult(id_=props["bucket"], outs=props)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """The server or its keys changed (a new process after a crash, a new port): the bucket is made again
        where it is missing, and its state records the server it is now checked against."""
        _make_bucket(news)
        return UpdateResult(outs=news)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """A bucket deleted behind mlstack's back is gone (drift: `mlstack drift` says so). When the server does
        not answer, nothing is known about the bucket: its process resource reports the server."""
        if bucket_missing(id_, props):
            return ReadResult(id_=None, outs={})
        return ReadResult(id_=id_, outs=props)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Looks at the server, as a refresh would (a deploy of the local target runs none): a bucket deleted
        behind mlstack's back is an update, which makes it again. Otherwise the engine compares the inputs."""
        return DiffResult(changes=True) if bucket_missing(id_, olds) else DiffResult()


class Bucket(DynamicResource, module="local", name="Bucket"):
    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
        # retain_on_delete: the engine (and so the progress shown) says destroy keeps the bucket, as it does: its
        # objects stay on disk until `destroy --purge` removes the stack's data directory.
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=["secret_key"], retain_on_delete=True)
        )
        super().__init__(BucketProvider(), name, props, holds_data(opts))


SettingsT = TypeVar("SettingsT", bound=S3Buckets)


class S3Store(Component[SettingsT, None, out.ObjectStoreOutputs, ObjectStoreClient]):
    """What every local S3 server shares: generated keys, its port, its buckets and the outputs it hands on.
    A subclass names its flavor and starts its server (`_create_process`)."""

    FLAVOR: ClassVar[str]
    # Each flavor's buckets are resources of their own: a switch deletes the old store's buckets (refused without
    # --replace-data; their objects stay on disk) and creates the new store's, which start empty.
    BUCKET: ClassVar[str]

    def __init__(
        self, name: str, args: ComponentArgs[SettingsT, None], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, args, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.port = port_of(name, self.settings.port, self)  # type: ignore[attr-defined]
        self.access_key = GeneratedSecret(f"{name}-access-key", nbytes=16, secret=False, opts=child).value.apply(
            lambda v: "mls" + v.replace("-", "").replace("_", "")[:17].upper()
        )
        self.secret_key = GeneratedSecret(f"{name}-secret-key", nbytes=30, opts=child).value
        self.endpoint = self.port.apply(lambda p: f"http://127.0.0.1:{p}")
        self.process = self._create_process(name)
        self.buckets = [
            Bucket(
                f"{name}-{self.BUCKET}-{b}",
                {
                    "bucket": b,
                    "endpoint": self.endpoint,
                    "access_key": self.access_key,
                    "secret_key": self.secret_key,
                    "server": self.process.id,  # a new server process (after a crash) re-checks the bucket
                },
                pulumi.ResourceOptions(parent=self, depends_on=[self.process]),
            )
            for b in self.settings.buckets
        ]
        # Clients get the server that runs: a port a failed deploy never opened is not handed out.
        served = self.process.served_port.apply(lambda p: f"http://127.0.0.1:{p}")
        outputs = out.ObjectStoreOutputs(
            tuple(
                out.Bucket(b, pulumi.Output.from_input(b), pulumi.Output.from_input(f"s3://{b}"))
                for b in self.settings.buckets
            ),
            endpoint=self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
        )
        client = pulumi.Output.all(served, self.access_key).apply(lambda a: self._client(*a))
        self.publish(outputs, client, {SECRET_OUTPUT: self.secret_key})

    def _create_process(self, name: str) -> ManagedProcess:
        raise NotImplementedError

    def _client(self, endpoint: str, access_key: str) -> ObjectStoreClient:
        return ObjectStoreClient(
            flavor=self.FLAVOR,
            endpoint_url=endpoint,
            region=REGION,
            buckets=[f"s3://{b}" for b in self.settings.buckets],
            access_key_id=access_key,
            secret_access_key=SecretRef(output=SECRET_OUTPUT, env=SECRET_ENV),
        )


class LocalObjectStore(S3Store[MinioObjectStore]):
    """MinIO (built from Go modules), one process."""

    TYPE = "mlstack:local:ObjectStore"  # MinIO's since the first release
    FLAVOR = "minio"
    BUCKET = "bucket"  # the name since the first release

    def _create_process(self, name: str) -> ManagedProcess:
        run, data = self.context.run_dir(name), self.context.data_dir(name)
        env = pulumi.Output.all(self.access_key, self.secret_key).apply(
            lambda a: {
                "MINIO_ROOT_USER": a[0],
                "MINIO_ROOT_PASSWORD": a[1],
                "MINIO_BROWSER": "off",
                "MINIO_UPDATE": "off",
                "MINIO_CONFIG_ENV_FILE": "",
                "HOME": str(run),
            }
        )
        return ManagedProcess(
            f"{name}-server",
            service="minio",
            argv=self.port.apply(
                lambda p: [self.context.runtime("minio"), "server", "--quiet", "--address", f"127.0.0.1:{p}", str(data)]
            ),
            port=self.port,
            exclusive=True,  # two MinIO servers on one drive would both write its metadata: stop the old one first
            health_url=self.port.apply(lambda p: f"http://127.0.0.1:{p}/minio/health/ready"),
            log_file=str(run / "minio.log"),
            env=pulumi.Output.secret(env),
            dirs=[str(data), str(run)],
            ready_timeout=60.0,
            port_setting=f"components.{name}.port",
            opts=pulumi.ResourceOptions(parent=self),
        )
