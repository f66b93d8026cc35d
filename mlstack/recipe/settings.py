"""Typed settings of each flavor, one model per (kind, flavor).

Which targets offer a flavor is not said here: the registry (mlstack.registry) lists each implemented
(target, kind, flavor) once, and validation, the JSON Schema, `doctor` and the docs all derive from it.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import Field, field_validator

from mlstack.recipe import naming
from mlstack.recipe.base import UserModel
from mlstack.versions import MLFLOW_IMAGE

AZURE_SUBNET = (r"(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/virtualNetworks/[^/]+"
                r"/subnets/[^/]+$")
AZURE_PG_STORAGE_GB = (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384)
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"


class PortSetting(UserModel):
    port: int | None = Field(
        default=None,
        ge=1024,
        le=65535,
        description="TCP port on 127.0.0.1; omitted: a free port is chosen on first deploy and then kept.",
    )


class LocalOrchestrator(UserModel):
    """Pipelines run in the calling process (ZenML's `local` orchestrator); nothing is deployed."""

    flavor: Literal["local"] = Field(description="Flavor of this component.")


class DistributionRegistry(PortSetting):
    """CNCF distribution (Docker registry v2 / OCI) with filesystem storage."""

    flavor: Literal["distribution"] = Field(description="Flavor of this component.")
    auth: bool = Field(
        default=True,
        description="Require HTTP basic auth with a generated user and password (kept as a Pulumi secret).",
    )


class MinioObjectStore(PortSetting):
    """MinIO: an S3-compatible object store with SigV4 credentials, keeping objects on disk."""

    flavor: Literal["minio"] = Field(description="Flavor of this component.")
    buckets: list[Annotated[str, Field(pattern=BUCKET_PATTERN)]] = Field(
        default_factory=lambda: ["mlstack"], min_length=1,
        description="Buckets to create (S3 naming rules: 3-63 lowercase letters, digits, '.', '-'); "
        "the first holds MLflow's artifacts.",
    )


class MlflowTracking(PortSetting):
    """MLflow tracking server; its artifacts go to the stack's object store (proxied, so clients need no S3 keys).

    On clouds it runs the official image on serverless containers (ECS Fargate / Cloud Run / Container Apps) with a
    private, encrypted managed PostgreSQL; it reaches the object store through the cloud's identity (no keys)."""

    flavor: Literal["mlflow"] = Field(description="Flavor of this component.")
    artifact_prefix: str = Field(
        default="mlflow", pattern=r"^[A-Za-z0-9._/-]+$",
        description="Key prefix of artifacts inside the object store's first bucket.",
    )
    auth: bool = Field(
        default=True,
        description="MLflow's basic-auth app with a generated admin password (kept as a Pulumi secret); "
        "ZenML's MLflow tracker requires credentials for a remote tracking server.",
    )
    image: str = Field(default=MLFLOW_IMAGE, pattern=r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$",
                       description="(clouds) Container image of the server; it needs MLflow's PostgreSQL driver and "
                       "the cloud's storage client (the `-full` image has both).")
    database_tier: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9._-]+$",
        description="(clouds) Database size: RDS instance class (default db.t4g.micro), Cloud SQL tier "
        "(default db-custom-1-3840), Azure flexible server SKU (default Standard_B1ms).")
    database_storage_gb: int = Field(default=32, ge=20, le=16384,
                                     description="(clouds) Database storage, GiB.")
    vpc_id: str | None = Field(default=None, pattern=r"^vpc-[0-9a-f]{8,17}$",
                               description="(aws) VPC the server, its load balancer and its database run in.")
    subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = Field(
        default_factory=list,
        description="(aws) Private subnets in at least two zones, with a NAT route (the image is pulled from "
        "ghcr.io); the internal load balancer, the tasks and the database go there.")
    certificate_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:acm:",
        description="(aws) ACM certificate of the load balancer's HTTPS listener (the only listener).")
    hostname: str | None = Field(
        default=None, pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
        description="(aws) DNS name clients use: covered by the certificate, pointed at the load balancer.")
    dns_zone_id: str | None = Field(
        default=None, pattern=r"^Z[A-Z0-9]{1,31}$",
        description="(aws) Route 53 hosted zone to create `hostname`'s alias record in; omitted: you point it.")
    allowed_cidrs: list[str] = Field(
        default_factory=list,
        description="(aws, azure) Networks allowed to reach the server, e.g. your VPN's range; "
        "0.0.0.0/0 and ::/0 are refused.")
    network: str | None = Field(default=None, pattern=r"^[a-z]([-a-z0-9/]*[a-z0-9])?$",
                                description="(gcp) VPC network (name or projects/P/global/networks/N) with private "
                                "services access: the database gets a private IP in it, Cloud Run egresses into it.")
    subnetwork: str | None = Field(default=None, pattern=r"^[a-z]([-a-z0-9/]*[a-z0-9])?$",
                                   description="(gcp) Subnetwork of `network` in the target's region.")
    subnet_id: str | None = Field(
        default=None, pattern=AZURE_SUBNET,
        description="(azure) Subnet of the Container Apps environment (delegated to Microsoft.App/environments, "
        "/27 or larger); its virtual network gets the database's private DNS zone.")
    database_subnet_id: str | None = Field(
        default=None, pattern=AZURE_SUBNET,
        description="(azure) Subnet of the database, in the same virtual network "
        "(delegated to Microsoft.DBforPostgreSQL/flexibleServers).")

    @field_validator("allowed_cidrs")
    @classmethod
    def _no_open_cidr(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                net = ipaddress.ip_network(cidr, strict=True)
            except ValueError as exc:
                raise ValueError(f"{cidr!r} is not a network in CIDR form ({exc})") from None
            if net.prefixlen == 0:
                raise ValueError(f"{cidr!r} opens the server to the whole internet; list the networks that need it")
        return value

    def placement_problems(self, target: str) -> list[tuple[str, str]]:
        """(field, rule broken) for settings this target needs in a certain shape."""
        if target == "aws" and len(self.subnet_ids) == 1:
            return [("subnet_ids", "needs subnets in at least two availability zones (the load balancer and the "
                                   "database subnet group require two); got one")]
        if target == "azure" and self.subnet_id and self.database_subnet_id and \
                self.subnet_id.lower().rsplit("/subnets/", 1)[0] != self.database_subnet_id.lower().rsplit("/subnets/", 1)[0]:
            return [("database_subnet_id", "must be in the same virtual network as subnet_id (the server reaches "
                     "the database through it)")]
        if target == "azure" and self.database_storage_gb not in AZURE_PG_STORAGE_GB:
            return [("database_storage_gb", "Azure's flexible server offers "
                     f"{', '.join(map(str, AZURE_PG_STORAGE_GB))} GiB; got {self.database_storage_gb}")]
        return []


class MlserverServing(PortSetting):
    """Seldon MLServer: V2 inference protocol (as KServe and Seldon use) over HTTP."""

    flavor: Literal["mlserver"] = Field(description="Flavor of this component.")


class S3ObjectStore(UserModel):
    """Amazon S3: versioned, encrypted at rest, public access blocked, TLS-only bucket policy."""

    flavor: Literal["s3"] = Field(description="Flavor of this component.")
    buckets: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")]] = Field(
        default_factory=lambda: ["artifacts"], min_length=1,
        description="Buckets to create, named `<recipe name>-<bucket>` (S3 names are global).",
    )
    versioning: bool = Field(default=True, description="Keep object versions (recover overwritten artifacts).")
    kms_key_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:kms:",
        description="Customer-managed KMS key for encryption at rest; default: SSE-S3 (AES-256).",
    )

    def name_problems(self, stack: str) -> list[tuple[str, str]]:
        """(field, rule broken) for each cloud name this recipe would produce that the cloud refuses."""
        return [(f"buckets[{i}]", p) for i, b in enumerate(self.buckets)
                if (p := naming.s3_bucket_problem(naming.s3_bucket_name(stack, b)))]


class EcrRegistry(UserModel):
    """Amazon ECR: scan on push, immutable tags, encrypted, lifecycle-pruned."""

    flavor: Literal["ecr"] = Field(description="Flavor of this component.")
    repositories: list[Annotated[str, Field(pattern=r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")]] = Field(
        default_factory=lambda: ["models"], min_length=1,
        description="Repositories to create, named `<recipe name>/<repository>`.",
    )
    keep_images: int = Field(default=100, ge=1, le=10000,
                             description="Lifecycle policy: images kept per repository (oldest expire first).")

    def name_problems(self, stack: str) -> list[tuple[str, str]]:
        return [(f"repositories[{i}]", p) for i, r in enumerate(self.repositories)
                if (p := naming.ecr_repository_problem(naming.ecr_repository_name(stack, r)))]


class GcsObjectStore(UserModel):
    """Google Cloud Storage: uniform bucket-level access, public access prevention enforced, versioned."""

    flavor: Literal["gcs"] = Field(description="Flavor of this component.")
    buckets: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*[a-z0-9]$")]] = Field(
        default_factory=lambda: ["artifacts"], min_length=1,
        description="Buckets to create, named `<recipe name>-<bucket>` (GCS names are global).",
    )
    versioning: bool = Field(default=True, description="Keep noncurrent object versions.")
    kms_key_name: str | None = Field(
        default=None, pattern=r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$",
        description="Customer-managed Cloud KMS key; default: Google-managed encryption at rest.",
    )

    def name_problems(self, stack: str) -> list[tuple[str, str]]:
        return [(f"buckets[{i}]", p) for i, b in enumerate(self.buckets)
                if (p := naming.gcs_bucket_problem(naming.gcs_bucket_name(stack, b)))]


class ArtifactRegistry(UserModel):
    """Google Artifact Registry (Docker format): immutable tags, vulnerability scanning, cleanup policy."""

    flavor: Literal["artifact_registry"] = Field(description="Flavor of this component.")
    repositories: list[Annotated[str, Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]] = Field(
        default_factory=lambda: ["models"], min_length=1,
        description="Docker repositories to create, with ids `<recipe name>-<repository>`.",
    )
    keep_images: int = Field(default=100, ge=1, le=10000,
                             description="Cleanup policy: most recent versions kept per image.")

    def name_problems(self, stack: str) -> list[tuple[str, str]]:
        return [(f"repositories[{i}]", p) for i, r in enumerate(self.repositories)
                if (p := naming.artifact_registry_problem(naming.artifact_registry_id(stack, r)))]


class AzureBlobObjectStore(UserModel):
    """Azure Blob Storage: HTTPS only, TLS >= 1.2, no public blob access, no shared-key access, versioned."""

    flavor: Literal["azure_blob"] = Field(description="Flavor of this component.")
    containers: list[str] = Field(
        default_factory=lambda: ["artifacts"], min_length=1,
        description="Blob containers to create in the stack's storage account (3-63 lowercase, digits, '-').",
    )
    versioning: bool = Field(default=True, description="Blob versioning (recover overwritten artifacts).")
    sku: Literal["Standard_LRS", "Standard_ZRS", "Standard_GRS"] = Field(
        default="Standard_ZRS", description="Storage account redundancy.")

    def name_problems(self, stack: str) -> list[tuple[str, str]]:
        return [(f"containers[{i}]", p) for i, c in enumerate(self.containers) if (p := naming.azure_container_problem(c))]


class AcrRegistry(UserModel):
    """Azure Container Registry: admin user off, anonymous pull off."""

    flavor: Literal["acr"] = Field(description="Flavor of this component.")
    sku: Literal["Basic", "Standard", "Premium"] = Field(default="Standard", description="ACR service tier.")


class SagemakerOrchestrator(UserModel):
    """SageMaker Pipelines: an execution role scoped to this stack's buckets and repositories."""

    flavor: Literal["sagemaker"] = Field(description="Flavor of this component.")


class SagemakerServing(UserModel):
    """SageMaker endpoints: an execution role scoped to this stack's buckets and repositories."""

    flavor: Literal["sagemaker"] = Field(description="Flavor of this component.")


class VertexOrchestrator(UserModel):
    """Vertex AI Pipelines: a service account with access to this stack's buckets and repositories only."""

    flavor: Literal["vertex"] = Field(description="Flavor of this component.")


class VertexServing(UserModel):
    """A Vertex AI endpoint and the service account its models run as (this stack's buckets and repositories)."""

    flavor: Literal["vertex"] = Field(description="Flavor of this component.")


class AzureMlOrchestrator(UserModel):
    """Azure ML pipelines: a workspace on the stack's storage and registry, steps run as a scoped identity."""

    flavor: Literal["azureml"] = Field(description="Flavor of this component.")


class AzureMlServing(UserModel):
    """An Azure ML managed online endpoint (Entra ID auth) whose models run as a scoped identity."""

    flavor: Literal["azureml"] = Field(description="Flavor of this component.")
