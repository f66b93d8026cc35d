"""Settings of the gcp target: its placement (the recipe's `target:` block) and its own flavors."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from mlstack.recipe import rules
from mlstack.recipe import settings as s
from mlstack.recipe.base import UserModel

# The provider SDK ships no region list: pinned here from Google Cloud's public region list (Geography and regions),
# as read in December 2026. A region Google opens later is refused until this list learns it.
REGIONS: tuple[str, ...] = (
    "africa-south1",
    "asia-east1",
    "asia-east2",
    "asia-northeast1",
    "asia-northeast2",
    "asia-northeast3",
    "asia-south1",
    "asia-south2",
    "asia-southeast1",
    "asia-southeast2",
    "australia-southeast1",
    "australia-southeast2",
    "europe-central2",
    "europe-north1",
    "europe-north2",
    "europe-southwest1",
    "europe-west1",
    "europe-west2",
    "europe-west3",
    "europe-west4",
    "europe-west6",
    "europe-west8",
    "europe-west9",
    "europe-west10",
    "europe-west12",
    "me-central1",
    "me-central2",
    "me-west1",
    "northamerica-northeast1",
    "northamerica-northeast2",
    "northamerica-south1",
    "southamerica-east1",
    "southamerica-west1",
    "us-central1",
    "us-east1",
    "us-east4",
    "us-east5",
    "us-south1",
    "us-west1",
    "us-west2",
    "us-west3",
    "us-west4",
)


def _known_region(region: str) -> str:
    return rules.known_region(region, REGIONS, "GCP region")


# A GCP region the pinned provider knows (also the region of a managed cluster on this cloud).
Region = Annotated[str, Field(pattern=r"^[a-z]+-[a-z]+\d+$"), AfterValidator(_known_region)]


class GcpTarget(UserModel):
    """Google Cloud."""

    type: Literal["gcp"] = Field(description="Target platform.")
    project: str = Field(description="GCP project ID.", pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
    region: Region = Field(description="GCP region, e.g. europe-west1.")


class GcsObjectStore(UserModel):
    """Google Cloud Storage: uniform bucket-level access, public access prevention enforced, versioned."""

    flavor: Literal["gcs"] = Field(description="Flavor of this component.")
    buckets: Annotated[list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*[a-z0-9]$")]], rules.Unique] = Field(
        default_factory=lambda: ["artifacts"],
        min_length=1,
        description="Buckets to create, named `<recipe name>-<bucket>` (GCS names are global).",
    )
    versioning: bool = Field(default=True, description="Keep noncurrent object versions.")
    kms_key_name: str | None = Field(
        default=None,
        pattern=r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$",
        description="Customer-managed Cloud KMS key; default: Google-managed encryption at rest.",
    )


class ArtifactRegistry(UserModel):
    """Google Artifact Registry (Docker format): immutable tags, vulnerability scanning, cleanup policy."""

    flavor: Literal["artifact_registry"] = Field(description="Flavor of this component.")
    repositories: Annotated[list[Annotated[str, Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]], rules.Unique] = Field(
        default_factory=lambda: ["models"],
        min_length=1,
        description="Docker repositories to create, with ids `<recipe name>-<repository>`.",
    )
    keep_images: int = Field(
        default=100, ge=1, le=10000, description="Cleanup policy: most recent versions kept per image."
    )


class VertexOrchestrator(UserModel):
    """Vertex AI Pipelines: a service account with access to this stack's buckets and repositories only."""

    flavor: Literal["vertex"] = Field(description="Flavor of this component.")


class VertexServing(UserModel):
    """A Vertex AI endpoint and the service account its models run as (this stack's buckets and repositories)."""

    flavor: Literal["vertex"] = Field(description="Flavor of this component.")


# MLflow's Cloud SQL instance (the gcp target's, and a gke cluster's `database: managed`): Cloud SQL grows its disk
# itself (disk_autoresize), so the size given is the first one, which `deploy` and `drift` leave to it
SQL_INSTANCE = "gcp:sql/databaseInstance:DatabaseInstance"
DISK_SIZE = "settings.diskSize"


class GcpMlflowTracking(s.CloudMlflowTracking):
    """MLflow on Cloud Run (internal ingress) with a private Cloud SQL PostgreSQL."""

    network: str = Field(
        pattern=r"^[a-z]([-a-z0-9/]*[a-z0-9])?$",
        description="VPC network (name or projects/P/global/networks/N) with private services access: the "
        "database gets a private IP in it, Cloud Run egresses into it.",
    )
    subnetwork: str = Field(
        pattern=r"^[a-z]([-a-z0-9/]*[a-z0-9])?$",
        description="Subnetwork of `network` in the target's region.",
    )
