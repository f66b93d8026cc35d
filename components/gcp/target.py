"""The `gcp` target, declared: placement, machine needs, flavors and their rules (no Pulumi imported here)."""

from __future__ import annotations

import re
from typing import Any

from mlstack.components.gcp import naming
from mlstack.components.gcp import settings as s
from mlstack.registry import Flavor, PluginNeed, Problems, SdkNeeds, Target, TargetNeeds, Unsupported

SDK = SdkNeeds(requires=("pulumi", "pulumi_gcp"), install_hint="`pip install 'mlstack[gcp]'`")
NO_PROBE = (
    "Vertex AI has no endpoint to probe before something runs on it; the service account's grants are "
    "checked by the policy suite"
)


def _bucket_names(st: s.GcsObjectStore, stack: str, placement: s.GcpTarget) -> Problems:
    return [
        (f"buckets[{i}]", p)
        for i, b in enumerate(st.buckets)
        if (p := naming.gcs_bucket_problem(naming.gcs_bucket_name(stack, b)))
    ]


def _repository_names(st: s.ArtifactRegistry, stack: str, placement: s.GcpTarget) -> Problems:
    return [
        (f"repositories[{i}]", p)
        for i, r in enumerate(st.repositories)
        if (p := naming.artifact_registry_problem(naming.artifact_registry_id(stack, r)))
    ]


LABEL_KEY, LABEL_VALUE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$"), re.compile(r"^[a-z0-9_-]{0,63}$")


def _labels(tags: dict[str, str]) -> Problems:
    """Tags become GCP labels: keys start with a lowercase letter; keys and values are lowercase letters, digits,
    '_' and '-', up to 63 characters."""
    return [
        (k, "GCP labels are lowercase letters, digits, '_' and '-' (keys start with a letter), up to 63 characters")
        for k, v in tags.items()
        if not LABEL_KEY.match(k) or not LABEL_VALUE.match(v)
    ]


def _vertex(client: Any) -> dict[str, Any]:
    return {"location": client.region, "workload_service_account": client.execution_role}


TARGET = Target(
    name="gcp",
    placement=s.GcpTarget,
    summary="Google Cloud, one project and region per stack",
    needs=TargetNeeds(
        ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CREDENTIALS", "CLOUDSDK_AUTH_ACCESS_TOKEN"),
        ("~/.config/gcloud/application_default_credentials.json",),
        (PluginNeed("gcp", "pulumi_gcp", "gcp"),),
    ),
    assembly="mlstack.components.gcp.assembly:setup",
    offline="mlstack.components.gcp.offline",
    hooks="mlstack.components.gcp.lifecycle:HOOKS",
    cost="mlstack.components.gcp.cost",
    policy="mlstack.components.gcp.policy",
    tag_problems=_labels,
    flavors=(
        Flavor(
            "gcp",
            "object_store",
            "gcs",
            s.GcsObjectStore,
            "mlstack.components.gcp.object_store:GcpObjectStore",
            "GCS: uniform access, public access prevention enforced, versioned",
            problems=_bucket_names,
            zenml="gcp",
            verify=Unsupported("GCS is checked through its own API with Google credentials; verify speaks S3 only"),
            **SDK,
        ),
        Flavor(
            "gcp",
            "registry",
            "artifact_registry",
            s.ArtifactRegistry,
            "mlstack.components.gcp.registry:GcpRegistry",
            "Artifact Registry (Docker): immutable tags, vulnerability scanning, cleanup policy",
            deletes_data="the repositories with their images",
            problems=_repository_names,
            zenml="gcp",
            verify=Unsupported(
                "a push to Artifact Registry needs an OAuth token from gcloud, which verify does not fetch"
            ),
            **SDK,
        ),
        Flavor(
            "gcp",
            "tracking",
            "mlflow",
            s.GcpMlflowTracking,
            "mlstack.components.gcp.tracking:GcpTracking",
            "MLflow on Cloud Run (internal ingress, Direct VPC egress); Cloud SQL PostgreSQL on a private IP only; "
            "artifacts in GCS through its service account",
            needs=("object_store",),
            zenml="mlflow",
            verify="mlflow",
            **SDK,
        ),
        Flavor(
            "gcp",
            "orchestrator",
            "vertex",
            s.VertexOrchestrator,
            "mlstack.components.gcp.vertex:VertexOrchestrator",
            "Vertex AI Pipelines: service account granted only on the stack's buckets and repositories",
            uses=("object_store", "registry"),
            zenml="vertex",
            zenml_config=_vertex,
            verify=Unsupported(NO_PROBE),
            **SDK,
        ),
        Flavor(
            "gcp",
            "serving",
            "vertex",
            s.VertexServing,
            "mlstack.components.gcp.vertex:VertexServing",
            "Vertex AI endpoint with a service account granted only on the stack's buckets and repositories",
            uses=("object_store", "registry"),
            verify=Unsupported(NO_PROBE),
            **SDK,
        ),
    ),
)
