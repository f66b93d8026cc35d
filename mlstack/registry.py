"""The one registry of what mlstack can build: (target, kind, flavor) -> implementation.

Validation, `doctor`, the JSON Schema, the README's support table and error hints are all computed from
`FLAVORS`; there is no second table. An entry names its component by import path so that reading the
registry imports neither Pulumi nor a cloud SDK; `requires` lists the Python modules it needs, checked
without importing them (a missing optional dependency disables the entry with exit 3, it does not crash).
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from functools import cache
from typing import Literal, get_args

from pydantic import BaseModel

from mlstack.recipe import settings as s

Target = Literal["aws", "gcp", "azure", "kubernetes", "kind", "local"]
Kind = Literal["object_store", "registry", "tracking", "orchestrator", "serving"]
TARGETS: tuple[str, ...] = get_args(Target)
KINDS: tuple[str, ...] = get_args(Kind)


@dataclass(frozen=True)
class Flavor:
    target: str
    kind: str
    name: str
    settings: type[BaseModel]
    component: str  # "module:Class" of the Pulumi ComponentResource
    summary: str
    requires: tuple[str, ...] = ("pulumi",)  # Python modules
    runtimes: tuple[str, ...] = ()  # service runtimes (mlstack.versions.RUNTIMES), installed on first deploy
    install_hint: str = "reinstall mlstack with its extras: `make install`"
    needs: tuple[str, ...] = ()  # other kinds the recipe must have for this flavor
    fields: tuple[str, ...] | None = None  # settings this target accepts when the model serves several (None: all)
    required: tuple[str, ...] = ()  # settings this target requires although the model makes them optional
    deletes_data: str = ""  # what `destroy` deletes with its contents (then it asks for --purge); "" = nothing

    def accepts(self, field: str) -> bool:
        return field == "flavor" or self.fields is None or field in self.fields

    def setting_names(self) -> list[str]:
        return [f for f in self.settings.model_fields if self.accepts(f)]

    def missing(self) -> list[str]:
        """Python modules this installation lacks for the flavor; checked without importing anything."""
        return [f"Python module {m}" for m in self.requires if importlib.util.find_spec(m) is None]

    def load(self) -> type:
        module, _, cls = self.component.partition(":")
        return getattr(importlib.import_module(module), cls)


# Settings of the `mlflow` flavor that every cloud accepts (the rest are per cloud: network placement).
_CLOUD_MLFLOW = ("artifact_prefix", "auth", "image", "database_tier", "database_storage_gb")

FLAVORS: tuple[Flavor, ...] = (
    Flavor("local", "orchestrator", "local", s.LocalOrchestrator,
           "mlstack.components.local.orchestrator:LocalOrchestrator",
           "pipelines run in the caller's process (ZenML local orchestrator)"),
    Flavor("local", "registry", "distribution", s.DistributionRegistry,
           "mlstack.components.local.registry:LocalRegistry",
           "CNCF distribution registry (Debian docker-registry) on 127.0.0.1, filesystem storage",
           requires=("pulumi", "bcrypt"), runtimes=("registry",)),
    Flavor("local", "object_store", "minio", s.MinioObjectStore,
           "mlstack.components.local.object_store:LocalObjectStore",
           "MinIO (built from Go modules) on 127.0.0.1: S3 API with SigV4 and generated keys, data on disk",
           requires=("pulumi", "boto3"), runtimes=("minio",)),
    Flavor("local", "tracking", "mlflow", s.MlflowTracking,
           "mlstack.components.local.tracking:LocalTracking",
           "MLflow tracking server: SQLite backend store, artifacts proxied to the object store",
           runtimes=("mlflow",), fields=("port", "artifact_prefix", "auth")),
    Flavor("local", "serving", "mlserver", s.MlserverServing,
           "mlstack.components.local.serving:LocalServing",
           "Seldon MLServer (V2 inference protocol) with a model repository clients load models into",
           runtimes=("mlserver",)),
    Flavor("aws", "object_store", "s3", s.S3ObjectStore, "mlstack.components.aws.object_store:AwsObjectStore",
           "S3: versioned, encrypted, public access blocked, TLS-only policy",
           requires=("pulumi", "pulumi_aws"), install_hint="`pip install 'mlstack[aws]'`"),
    Flavor("aws", "registry", "ecr", s.EcrRegistry, "mlstack.components.aws.registry:AwsRegistry",
           "ECR: scan on push, immutable tags, KMS-encrypted, lifecycle policy",
           requires=("pulumi", "pulumi_aws"), install_hint="`pip install 'mlstack[aws]'`"),
    Flavor("aws", "tracking", "mlflow", s.MlflowTracking, "mlstack.components.aws.tracking:AwsTracking",
           "MLflow on ECS Fargate behind an internal HTTPS load balancer; private encrypted RDS PostgreSQL; "
           "artifacts in S3 through the task role",
           requires=("pulumi", "pulumi_aws"), install_hint="`pip install 'mlstack[aws]'`", needs=("object_store",),
           fields=_CLOUD_MLFLOW + ("vpc_id", "subnet_ids", "certificate_arn", "hostname", "dns_zone_id",
                                   "allowed_cidrs"),
           required=("vpc_id", "subnet_ids", "certificate_arn", "hostname", "allowed_cidrs")),
    Flavor("aws", "orchestrator", "sagemaker", s.SagemakerOrchestrator,
           "mlstack.components.aws.sagemaker:SagemakerOrchestrator",
           "SageMaker Pipelines: execution role scoped to the stack's buckets and repositories",
           requires=("pulumi", "pulumi_aws"), install_hint="`pip install 'mlstack[aws]'`"),
    Flavor("aws", "serving", "sagemaker", s.SagemakerServing, "mlstack.components.aws.sagemaker:SagemakerServing",
           "SageMaker endpoints: execution role scoped to the stack's buckets and repositories",
           requires=("pulumi", "pulumi_aws"), install_hint="`pip install 'mlstack[aws]'`"),
    Flavor("gcp", "object_store", "gcs", s.GcsObjectStore, "mlstack.components.gcp.object_store:GcpObjectStore",
           "GCS: uniform access, public access prevention enforced, versioned",
           requires=("pulumi", "pulumi_gcp"), install_hint="`pip install 'mlstack[gcp]'`"),
    Flavor("gcp", "registry", "artifact_registry", s.ArtifactRegistry, "mlstack.components.gcp.registry:GcpRegistry",
           "Artifact Registry (Docker): immutable tags, vulnerability scanning, cleanup policy",
           requires=("pulumi", "pulumi_gcp"), install_hint="`pip install 'mlstack[gcp]'`",
           deletes_data="the repositories with their images"),
    Flavor("gcp", "tracking", "mlflow", s.MlflowTracking, "mlstack.components.gcp.tracking:GcpTracking",
           "MLflow on Cloud Run (internal ingress, Direct VPC egress); Cloud SQL PostgreSQL on a private IP only; "
           "artifacts in GCS through its service account",
           requires=("pulumi", "pulumi_gcp"), install_hint="`pip install 'mlstack[gcp]'`", needs=("object_store",),
           fields=_CLOUD_MLFLOW + ("network", "subnetwork"), required=("network", "subnetwork")),
    Flavor("gcp", "orchestrator", "vertex", s.VertexOrchestrator, "mlstack.components.gcp.vertex:VertexOrchestrator",
           "Vertex AI Pipelines: service account granted only on the stack's buckets and repositories",
           requires=("pulumi", "pulumi_gcp"), install_hint="`pip install 'mlstack[gcp]'`"),
    Flavor("gcp", "serving", "vertex", s.VertexServing, "mlstack.components.gcp.vertex:VertexServing",
           "Vertex AI endpoint with a service account granted only on the stack's buckets and repositories",
           requires=("pulumi", "pulumi_gcp"), install_hint="`pip install 'mlstack[gcp]'`"),
    Flavor("azure", "object_store", "azure_blob", s.AzureBlobObjectStore,
           "mlstack.components.azure.object_store:AzureObjectStore",
           "Blob Storage: HTTPS only, TLS 1.2, no public or shared-key access, versioned",
           requires=("pulumi", "pulumi_azure_native"), install_hint="`pip install 'mlstack[azure]'`",
           deletes_data="the storage account with its blobs"),
    Flavor("azure", "tracking", "mlflow", s.MlflowTracking, "mlstack.components.azure.tracking:AzureTracking",
           "MLflow on Container Apps (HTTPS, IP-restricted ingress); PostgreSQL flexible server with private "
           "access only; artifacts in Blob Storage through a managed identity",
           requires=("pulumi", "pulumi_azure_native"), install_hint="`pip install 'mlstack[azure]'`",
           needs=("object_store",), fields=_CLOUD_MLFLOW + ("subnet_id", "database_subnet_id", "allowed_cidrs"),
           required=("subnet_id", "database_subnet_id", "allowed_cidrs"),
           deletes_data="the database server with its runs (Azure can restore it for 5 days)"),
    Flavor("azure", "orchestrator", "azureml", s.AzureMlOrchestrator, "mlstack.components.azure.ml:AzureMlOrchestrator",
           "Azure ML workspace on the stack's storage and registry; steps run as an identity scoped to them",
           requires=("pulumi", "pulumi_azure_native"), install_hint="`pip install 'mlstack[azure]'`",
           needs=("object_store",), deletes_data="the workspace with its job history (soft-deleted for 14 days)"),
    Flavor("azure", "serving", "azureml", s.AzureMlServing, "mlstack.components.azure.ml:AzureMlServing",
           "Azure ML managed online endpoint (Entra ID auth); models run as an identity scoped to the stack",
           requires=("pulumi", "pulumi_azure_native"), install_hint="`pip install 'mlstack[azure]'`",
           needs=("object_store",)),
    Flavor("azure", "registry", "acr", s.AcrRegistry, "mlstack.components.azure.registry:AzureRegistry",
           "Azure Container Registry: admin user and anonymous pull off",
           requires=("pulumi", "pulumi_azure_native"), install_hint="`pip install 'mlstack[azure]'`",
           deletes_data="the registry with its images"),
)


def lookup(target: str, kind: str, flavor: str) -> Flavor | None:
    return _index().get((target, kind, flavor))


def flavors_for(target: str | None = None, kind: str | None = None) -> list[Flavor]:
    return [f for f in FLAVORS if (target is None or f.target == target) and (kind is None or f.kind == kind)]


def settings_models(kind: str) -> list[type[BaseModel]]:
    """Each distinct settings model of a kind, in registry order (one per flavor name)."""
    seen: dict[str, type[BaseModel]] = {}
    for f in flavors_for(kind=kind):
        seen.setdefault(f.name, f.settings)
    return list(seen.values())


@cache
def _index() -> dict[tuple[str, str, str], Flavor]:
    index: dict[tuple[str, str, str], Flavor] = {}
    for f in FLAVORS:
        key = (f.target, f.kind, f.name)
        if key in index:
            raise RuntimeError(f"registry lists {key} twice")
        index[key] = f
    return index
