"""The `local` target, declared: service processes on 127.0.0.1, no cloud, no Docker (no Pulumi imported here)."""

from __future__ import annotations

from mlstack.components.local import settings as s
from mlstack.recipe import settings as shared
from mlstack.registry import Flavor, Target

TARGET = Target(
    name="local",
    placement=s.LocalTarget,
    summary="plain processes on 127.0.0.1 of this machine; no Docker, no cloud",
    assembly="mlstack.components.local.assembly:setup",
    offline="mlstack.components.local.offline",
    cost="mlstack.components.local.cost",
    refresh=False,  # a process's and a bucket's diff probe them (components/local/process.py, object_store.py)
    flavors=(
        Flavor(
            "local",
            "orchestrator",
            "local",
            s.LocalOrchestrator,
            "mlstack.components.local.orchestrator:LocalOrchestrator",
            "pipelines run in the caller's process (ZenML local orchestrator)",
            zenml="local",
            verify="nothing_deployed",
        ),
        Flavor(
            "local",
            "registry",
            "distribution",
            shared.DistributionRegistry,
            "mlstack.components.local.registry:LocalRegistry",
            "CNCF distribution registry (Debian docker-registry) on 127.0.0.1, filesystem storage",
            requires=("pulumi", "bcrypt"),
            runtimes=("registry",),
            zenml="default",
            verify="oci",
        ),
        Flavor(
            "local",
            "object_store",
            "minio",
            shared.MinioObjectStore,
            "mlstack.components.local.object_store:LocalObjectStore",
            "MinIO (built from Go modules) on 127.0.0.1: S3 API with SigV4 and generated keys, data on disk",
            requires=("pulumi", "boto3"),
            runtimes=("minio",),
            zenml="s3",
            verify="s3",
        ),
        Flavor(
            "local",
            "object_store",
            "seaweedfs",
            shared.SeaweedfsObjectStore,
            "mlstack.components.local.seaweedfs:LocalSeaweedfs",
            "SeaweedFS (Apache-2.0, built from Go modules) on 127.0.0.1: one process, its S3 gateway with SigV4 "
            "identities from generated keys, its internal ports JWT-signed or mutual TLS, data on disk",
            requires=("pulumi", "boto3"),
            runtimes=("seaweedfs",),
            zenml="s3",
            verify="s3",
        ),
        Flavor(
            "local",
            "tracking",
            "mlflow",
            shared.MlflowTracking,
            "mlstack.components.local.tracking:LocalTracking",
            "MLflow tracking server: SQLite backend store, artifacts proxied to the object store",
            runtimes=("mlflow",),
            uses=("object_store",),
            without={
                "object_store": "no object store in the recipe: MLflow keeps artifacts on this machine's disk, "
                "under the stack's data (MLSTACK_HOME/stacks/<name>/data/tracking/artifacts)"
            },
            zenml="mlflow",
            verify="mlflow",
        ),
        Flavor(
            "local",
            "serving",
            "mlserver",
            shared.MlserverServing,
            "mlstack.components.local.serving:LocalServing",
            "Seldon MLServer (V2 inference protocol) with a model repository clients load models into",
            runtimes=("mlserver",),
            verify="v2",
        ),
    ),
)
