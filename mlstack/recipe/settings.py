"""Typed settings of each flavor, one model per (kind, flavor).

Which targets offer a flavor is not said here: the registry (mlstack.registry) lists each implemented
(target, kind, flavor) once, and validation, the JSON Schema, `doctor` and the docs all derive from it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator

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
        description="TCP port on 127.0.0.1; omitted: a free port is chosen on first deploy and then kept "
        "(kubernetes on kind: the host port mapped to the service, default its node port).",
    )


class VolumeSetting(UserModel):
    storage_gb: int = Field(
        default=10,
        ge=1,
        le=65536,
        description="(kubernetes) Size of the component's volume, GiB (kept by destroy, deleted with --purge).",
    )


class DistributionRegistry(PortSetting, VolumeSetting):
    """CNCF distribution (Docker registry v2 / OCI) with filesystem storage."""

    flavor: Literal["distribution"] = Field(description="Flavor of this component.")
    auth: bool = Field(
        default=True,
        description="Require HTTP basic auth with a generated user and password (kept as a Pulumi secret).",
    )


class MinioObjectStore(PortSetting, VolumeSetting):
    """MinIO: an S3-compatible object store with SigV4 credentials, keeping objects on disk."""

    flavor: Literal["minio"] = Field(description="Flavor of this component.")
    buckets: Annotated[
        list[Annotated[str, Field(pattern=BUCKET_PATTERN), AfterValidator(rules.bucket_name)]], rules.Unique
    ] = Field(
        default_factory=lambda: ["mlstack"],
        min_length=1,
        description="Buckets to create (S3 naming rules: 3-63 lowercase letters, digits, '.', '-'); "
        "the first holds MLflow's artifacts.",
    )


class MlflowTracking(PortSetting):
    """MLflow tracking server; its artifacts go to the stack's object store (proxied, so clients need no S3 keys).

    On clouds it runs the official image on serverless containers (ECS Fargate / Cloud Run / Container Apps) with a
    private, encrypted managed PostgreSQL; it reaches the object store through the cloud's identity (no keys)."""

    flavor: Literal["mlflow"] = Field(description="Flavor of this component.")
    artifact_prefix: str = Field(
        default="mlflow",
        pattern=r"^[A-Za-z0-9._/-]+$",
        description="Key prefix of artifacts inside the object store's first bucket.",
    )
    auth: bool = Field(
        default=True,
        description="MLflow's basic-auth app with a generated admin password (kept as a Pulumi secret); "
        "ZenML's MLflow tracker requires credentials for a remote tracking server.",
    )
    image: str = Field(
        default=MLFLOW_IMAGE,
        pattern=r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$",
        description="(clouds) Container image of the server; it needs MLflow's PostgreSQL driver and "
        "the cloud's storage client (the `-full` image has both).",
    )
    database_tier: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="(clouds) Database size: RDS instance class (default db.t4g.micro), Cloud SQL tier "
        "(default db-custom-1-3840), Azure flexible server SKU (default Standard_B1ms).",
    )
    database_storage_gb: int = Field(default=32, ge=20, le=16384, description="(clouds) Database storage, GiB.")
    vpc_id: str | None = Field(
        default=None,
        pattern=r"^vpc-[0-9a-f]{8,17}$",
        description="(aws) VPC the server, its load balancer and its database run in.",
    )
    subnet_ids: Annotated[list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]], rules.Unique] = Field(
        default_factory=list,
        description="(aws) Private subnets in at least two zones, with a NAT route (the image is pulled from "
        "ghcr.io); the internal load balancer, the tasks and the database go there.",
    )
    certificate_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:acm:",
        description="(aws) ACM certificate of the load balancer's HTTPS listener (the only listener).",
    )
    hostname: str | None = Field(
        default=None,
        pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
        description="(aws) DNS name clients use: covered by the certificate, pointed at the load balancer.",
    )
    dns_zone_id: str | None = Field(
        default=None,
        pattern=r"^Z[A-Z0-9]{1,31}$",
        description="(aws) Route 53 hosted zone to create `hostname`'s alias record in; omitted: you point it.",
    )
    allowed_cidrs: list[str] = Field(
        default_factory=list,
        description="(aws, azure) Networks allowed to reach the server, e.g. your VPN's range; "
        "0.0.0.0/0 and ::/0 are refused.",
    )
    network: str | None = Field(
        default=None,
        pattern=r"^[a-z]([-a-z0-9/]*[a-z0-9])?$",
        description="(gcp) VPC network (name or projects/P/global/networks/N) with private "
        "services access: the database gets a private IP in it, Cloud Run egresses into it.",
    )
    subnetwork: str | None = Field(
        default=None,
        pattern=r"^[a-z]([-a-z0-9/]*[a-z0-9])?$",
        description="(gcp) Subnetwork of `network` in the target's region.",
    )
    subnet_id: str | None = Field(
        default=None,
        pattern=AZURE_SUBNET,
        description="(azure) Subnet of the Container Apps environment (delegated to Microsoft.App/environments, "
        "/27 or larger); its virtual network gets the database's private DNS zone.",
    )
    database_subnet_id: str | None = Field(
        default=None,
        pattern=AZURE_SUBNET,
        description="(azure) Subnet of the database, in the same virtual network "
        "(delegated to Microsoft.DBforPostgreSQL/flexibleServers).",
    )

    @field_validator("allowed_cidrs")
    @classmethod
    def _no_open_cidr(cls, value: list[str]) -> list[str]:
        return rules.allowed_networks(value)


# Settings of the `mlflow` flavor that every cloud accepts (the rest are network placement, per cloud).
CLOUD_MLFLOW_FIELDS = ("artifact_prefix", "auth", "image", "database_tier", "database_storage_gb")


class MlserverServing(PortSetting, VolumeSetting):
    """Seldon MLServer: V2 inference protocol (as KServe and Seldon use) over HTTP."""

    flavor: Literal["mlserver"] = Field(description="Flavor of this component.")
