"""Settings of the kubernetes target: its placement (the recipe's `target:` block, with the cluster as a
discriminated union of provisioners) and its own flavors."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from mlstack.recipe.base import UserModel

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
DELETE_TIMEOUT_S = 180


class ExistingCluster(UserModel):
    """A cluster that already exists, reached through a kubeconfig context; mlstack never creates or deletes it."""

    type: Literal["existing"] = Field(description="Cluster provisioner.")


class KindCluster(UserModel):
    """A local kind cluster (Docker or Podman) that mlstack creates, or reuses, for this stack."""

    type: Literal["kind"] = Field(description="Cluster provisioner.")
    name: str | None = Field(
        default=None,
        pattern=DNS_LABEL,
        description="kind cluster name; default: the stack's name (its context: kind-<name>).",
    )


# eks | gke | aks join this union as provisioners of their own; the target model does not change.
ClusterSpec = Annotated[ExistingCluster | KindCluster, Field(discriminator="type")]


class KubernetesTarget(UserModel):
    """Kubernetes: any cluster through a kubeconfig context (`KUBECONFIG` honoured), or a local kind cluster."""

    type: Literal["kubernetes"] = Field(description="Target platform.")
    cluster: ClusterSpec = Field(
        default_factory=lambda: ExistingCluster(type="existing"),
        description="Who provides the cluster: `existing` (default) or `kind`.",
    )
    context: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9@._:/-]{1,253}$",
        description="kubeconfig context; default: the current context (kind: kind-<name>).",
    )
    namespace: str | None = Field(
        default=None,
        pattern=DNS_LABEL,
        description="Namespace the stack goes into (created, Pod Security `restricted`); default: the stack's name.",
    )
    storage_class: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$",
        description="StorageClass of the stack's volumes; default: the cluster's default.",
    )
    delete_timeout_s: int = Field(
        default=DELETE_TIMEOUT_S,
        ge=10,
        le=3600,
        description="Seconds `destroy` waits for each object to be gone (a finalizer that never clears) before it "
        "fails naming the object.",
    )


class KubernetesOrchestrator(UserModel):
    """ZenML's Kubernetes orchestrator: pipeline pods run in the stack's namespace as a service account whose
    namespaced Role holds exactly the verbs the orchestrator uses."""

    flavor: Literal["kubernetes"] = Field(description="Flavor of this component.")
