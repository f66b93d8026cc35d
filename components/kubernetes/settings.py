"""Settings of the kubernetes target: its placement (the recipe's `target:` block, with the cluster as a
discriminated union of the provisioners in components/kubernetes/clusters/) and its own flavors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import AfterValidator, Field, model_validator

from mlstack.components.kubernetes import addons, clusters
from mlstack.recipe import rules
from mlstack.recipe import settings as shared
from mlstack.recipe.base import UserModel

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
DELETE_TIMEOUT_S = 180
ROLLOUT_TIMEOUT_S = 600  # the provider's own default for a Deployment


# The cluster block: one variant per provisioner module of components/kubernetes/clusters/ (discovered there).
_PROVISIONERS = clusters.provisioners()
if TYPE_CHECKING:
    ClusterSpec = Any
    AddonName = str
else:
    ClusterSpec = Annotated[Union[tuple(p.spec for p in _PROVISIONERS)], Field(discriminator="type")]  # noqa: UP007
    AddonName = Literal[tuple(addons.addons())]  # the add-on modules of components/kubernetes/addons/


class KubernetesTarget(UserModel):
    """Kubernetes: any cluster through a kubeconfig context (`KUBECONFIG` honoured), or a local kind cluster."""

    type: Literal["kubernetes"] = Field(description="Target platform.")
    cluster: ClusterSpec = Field(
        default_factory=lambda: _PROVISIONERS[0].spec.model_validate({"type": _PROVISIONERS[0].type}),
        description="Who provides the cluster: "
        + ", ".join(f"`{p.type}`" + (" (default)" if i == 0 else "") for i, p in enumerate(_PROVISIONERS))
        + ".",
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
    rollout_timeout_s: int = Field(
        default=ROLLOUT_TIMEOUT_S,
        ge=10,
        le=7200,
        description="Seconds `deploy` waits for a workload's new pods to be ready before it fails naming the "
        "workload (the previous pods keep serving; `drift` and `verify` then say so).",
    )
    existing_addons: Annotated[list[AddonName], rules.Unique] = Field(
        default_factory=list,
        description="Cluster add-ons the cluster already runs, managed by someone else (often cert-manager): "
        "mlstack checks their CRDs before a deploy and never installs, upgrades or removes them. Others that a "
        "flavor needs are installed once per cluster, shared by its stacks: "
        + ", ".join(f"`{a.name}` ({a.versions()})" for a in addons.addons().values())
        + ".",
    )
    delete_timeout_s: int = Field(
        default=DELETE_TIMEOUT_S,
        ge=10,
        le=3600,
        description="Seconds `destroy` waits for each object to be gone (a finalizer that never clears) before it "
        "fails naming the object.",
    )


class NodePool(UserModel):
    node_pool: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9]{0,11}$",
        description="The node pool of a managed cluster (eks, gke, aks) its pods run on: they select its nodes, "
        "and on a GPU pool tolerate its taint and ask for its GPUs; default: any node.",
    )


class KubernetesOrchestrator(NodePool):
    """ZenML's Kubernetes orchestrator: pipeline pods run in the stack's namespace as a service account whose
    namespaced Role holds exactly the verbs the orchestrator uses; `node_pool` places the step pods."""

    flavor: Literal["kubernetes"] = Field(description="Flavor of this component.")


class KubernetesAirflowOrchestrator(UserModel):
    """Apache Airflow (the official chart) with the KubernetesExecutor: its metadata in the stack's PostgreSQL,
    its task logs and DAGs in the stack's object store. ZenML's airflow orchestrator uploads each pipeline's DAG
    archive under `dags_prefix` of the first bucket, where Airflow reads it."""

    flavor: Literal["airflow"] = Field(description="Flavor of this component.")
    dags_prefix: Annotated[str, AfterValidator(rules.object_prefix)] = Field(
        default="airflow/dags",
        pattern=r"^[A-Za-z0-9._/-]+$",
        max_length=200,
        description="Where in the first bucket Airflow reads DAGs from (its S3 DAG bundle).",
    )
    logs_prefix: Annotated[str, AfterValidator(rules.object_prefix)] = Field(
        default="airflow/logs",
        pattern=r"^[A-Za-z0-9._/-]+$",
        max_length=200,
        description="Where in the first bucket Airflow writes task logs (remote logging).",
    )
    dag_refresh_s: int = Field(
        default=60, ge=10, le=3600, description="Seconds between Airflow's looks for new or changed DAGs."
    )

    @model_validator(mode="after")
    def _apart(self) -> KubernetesAirflowOrchestrator:
        """Neither prefix holds the other: the DAG bundle would copy every task log, or logs land among DAGs."""
        dags, logs = (p.strip("/").split("/") for p in (self.dags_prefix, self.logs_prefix))
        if dags[: len(logs)] == logs or logs[: len(dags)] == dags:
            raise ValueError(
                f"dags_prefix {self.dags_prefix!r} and logs_prefix {self.logs_prefix!r} overlap: one holds the other "
                "(Airflow would read task logs as DAGs); give each a folder of its own, e.g. airflow/dags and "
                "airflow/logs"
            )
        return self


class KubernetesKubeflowOrchestrator(UserModel):
    """Kubeflow Pipelines (KFP) standalone in the stack's namespace, from KFP's published manifests (rendered into
    the chart mirror: KFP ships no chart): its artifacts and logs under `prefix` of the stack's first bucket, its
    metadata in KFP's MySQL on a kept volume. Its CRDs are a cluster add-on, installed once per cluster."""

    flavor: Literal["kubeflow"] = Field(description="Flavor of this component.")
    prefix: Annotated[str, AfterValidator(rules.object_prefix)] = Field(
        default="kubeflow",
        pattern=r"^[A-Za-z0-9._/-]+$",
        max_length=200,
        description="Where in the first bucket KFP keeps the steps' artifacts (`<prefix>/artifacts`, the default "
        "pipeline root) and Argo's logs (`<prefix>/logs`).",
    )
    storage_gb: int = Field(default=20, ge=1, le=16384, description="Volume of KFP's MySQL (runs, ML Metadata), GiB.")


class KubernetesPort(UserModel):
    port: int | None = Field(
        default=None,
        ge=1024,
        le=65535,
        description="Host port on 127.0.0.1 mapped to the service, on a cluster that maps node ports (kind); "
        "default: the node port itself.",
    )


class KubernetesS3Settings(KubernetesPort, shared.VolumeSetting, shared.S3Buckets):
    """What the in-cluster S3 stores share: a host port on kind, a kept volume, the buckets."""


class KubernetesMinioObjectStore(KubernetesS3Settings, shared.MinioObjectStore):
    """MinIO StatefulSet on a kept volume: an S3-compatible object store with generated root keys."""


class KubernetesSeaweedfsObjectStore(KubernetesS3Settings, shared.SeaweedfsObjectStore):
    """SeaweedFS StatefulSet on a kept volume: its S3 gateway with SigV4 identities from generated keys."""


class KubernetesDistributionRegistry(KubernetesPort, shared.VolumeSetting, shared.DistributionRegistry):
    """CNCF distribution (Docker registry v2 / OCI) Deployment on a kept volume."""


class KubernetesMlflowTracking(shared.DatabaseSize, KubernetesPort, shared.MlflowImage, shared.MlflowBase):
    """MLflow (the clouds' server contract) on an in-cluster PostgreSQL StatefulSet, or on the cloud's managed
    PostgreSQL beside a cluster the stack creates; artifacts proxied to the object store."""

    database: Literal["in_cluster", "managed"] = Field(
        default="in_cluster",
        description="Where its PostgreSQL runs: `in_cluster` (a StatefulSet on a kept volume of "
        "`database_storage_gb`) or `managed`: the cloud's own, private and TLS-only, beside a cluster the stack "
        "creates (eks: RDS in the cluster's subnets; gke: Cloud SQL in the cluster's network; `database_tier` and "
        "`database_storage_gb` size it).",
    )
    database_tier: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="With `database: managed`, its size: an RDS instance class on eks (default db.t4g.micro), a "
        "Cloud SQL tier on gke (default db-custom-1-3840).",
    )
    database_storage_gb: int = Field(
        default=32,
        ge=20,
        le=16384,
        description="Database storage, GiB: the in-cluster PostgreSQL's volume, or the managed database's "
        "storage (RDS and the flexible server keep it, 32 to 16384 GiB in powers of 2 on Azure; Cloud SQL takes it as "
        "its first disk size and grows it itself).",
    )


class KubernetesMlserverServing(KubernetesPort, NodePool, shared.VolumeSetting, shared.MlserverServing):
    """Seldon MLServer (V2 inference protocol) Deployment with a model repository on a kept volume."""


class KubernetesKserveServing(UserModel):
    """KServe (Standard mode): each model an InferenceService in the stack's namespace, served by the stack's
    MLServer ServingRuntime (V2), pulled from the stack's object store with keys that may only read it. KServe and
    cert-manager are cluster add-ons, installed once per cluster (or already there: `target.existing_addons`)."""

    flavor: Literal["kserve"] = Field(description="Flavor of this component.")
