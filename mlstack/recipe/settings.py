"""Typed settings of each flavor, one model per (kind, flavor).

These are the flavors and bases several targets share; a target's own models (components/<target>/settings.py)
extend them with what only that target takes, so a recipe is offered exactly its target's settings. Which targets
offer a flavor is not said here: the registry (mlstack.registry) lists each implemented (target, kind, flavor)
once, and validation, the JSON Schema, `doctor` and the docs all derive from it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from mlstack.recipe import rules
from mlstack.recipe.base import UserModel
from mlstack.versions import MLFLOW_IMAGE

AZURE_SUBNET = (
    r"(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/virtualNetworks/[^/]+"
    r"/subnets/[^/]+$"
)
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"


class PortSetting(UserModel):
    port: int | None = Field(
        default=None,
        ge=1024,
        le=65535,
        description="TCP port on 127.0.0.1; omitted: a free port is chosen on first deploy and then kept.",
    )


class VolumeSetting(UserModel):
    storage_gb: int = Field(
        default=10,
        ge=1,
        le=65536,
        description="Size of the component's volume, GiB (kept by destroy, deleted with --purge).",
    )


class DistributionRegistry(PortSetting):
    """CNCF distribution (Docker registry v2 / OCI) with filesystem storage."""

    flavor: Literal["distribution"] = Field(description="Flavor of this component.")
    auth: bool = Field(
        default=True,
        description="Require HTTP basic auth with a generated user and password (kept as a Pulumi secret).",
    )


class S3Buckets(UserModel):
    """The buckets of an S3-compatible object store mlstack runs itself."""

    buckets: Annotated[
        list[Annotated[str, Field(pattern=BUCKET_PATTERN), AfterValidator(rules.bucket_name)]], rules.Unique
    ] = Field(
        default_factory=lambda: ["mlstack"],
        min_length=1,
        description="Buckets to create (S3 naming rules: 3-63 lowercase letters, digits, '.', '-'); "
        "the first holds MLflow's artifacts.",
    )


class MinioObjectStore(PortSetting, S3Buckets):
    """MinIO: an S3-compatible object store with SigV4 credentials, keeping objects on disk."""

    flavor: Literal["minio"] = Field(description="Flavor of this component.")


class SeaweedfsObjectStore(PortSetting, S3Buckets):
    """SeaweedFS (Apache-2.0): its S3 gateway with SigV4 identities from generated keys, objects on disk."""

    flavor: Literal["seaweedfs"] = Field(description="Flavor of this component.")


class MlflowBase(UserModel):
    """MLflow tracking server; its artifacts go to the stack's object store (proxied, so clients need no S3 keys).
    What every target's `mlflow` shares; each target's model adds its own settings."""

    flavor: Literal["mlflow"] = Field(description="Flavor of this component.")
    artifact_prefix: Annotated[str, AfterValidator(rules.object_prefix)] = Field(
        default="mlflow",
        pattern=r"^[A-Za-z0-9._/-]+$",
        description="Key prefix of artifacts inside the object store's first bucket.",
    )
    auth: bool = Field(
        default=True,
        description="MLflow's basic-auth app with a generated admin password (kept as a Pulumi secret); "
        "ZenML's MLflow tracker requires credentials for a remote tracking server.",
    )


class MlflowImage(UserModel):
    image: str = Field(
        default=MLFLOW_IMAGE,
        pattern=r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$",
        description="Container image of the server; it needs MLflow's PostgreSQL driver and the storage client "
        "of the object store (the `-full` image has both).",
    )


class MlflowTracking(PortSetting, MlflowBase):
    """MLflow tracking server on 127.0.0.1 with a SQLite backend store; artifacts proxied to the object store."""


class DatabaseSize(UserModel):
    """The size of a cloud's managed PostgreSQL."""

    database_tier: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Database size: RDS instance class (default db.t4g.micro), Cloud SQL tier "
        "(default db-custom-1-3840), Azure flexible server SKU (default Standard_B1ms).",
    )
    database_storage_gb: int = Field(default=32, ge=20, le=16384, description="Database storage, GiB.")


class CloudMlflowTracking(DatabaseSize, MlflowImage, MlflowBase):
    """MLflow on a cloud: the official image on serverless containers (ECS Fargate / Cloud Run / Container Apps)
    with a private, encrypted managed PostgreSQL; it reaches the object store through the cloud's identity (no
    keys). Each cloud's model adds where it runs in the cloud's network."""


ALLOWED_NETWORKS = "Networks allowed to reach the server, e.g. your VPN's range; 0.0.0.0/0 and ::/0 are refused."
AllowedNetworks = Annotated[list[str], AfterValidator(rules.allowed_networks)]


class MlserverServing(PortSetting):
    """Seldon MLServer: V2 inference protocol (as KServe and Seldon use) over HTTP."""

    flavor: Literal["mlserver"] = Field(description="Flavor of this component.")
