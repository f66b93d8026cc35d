"""Typed client configuration, one model per component kind.

Components return these; `output` renders them (json, yaml, env, zenml). Secrets never sit in these models:
a `SecretRef` names where the value is (the stack output key and the env variable a client reads).
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field

from mlstack.recipe.base import StoredModel

SCHEMA_VERSION: Final = "mlstack.clients/v1"


class SecretRef(StoredModel):
    output: str = Field(
        description="Key of the secret in the stack's `secrets` output (`mlstack output --show-secrets`)."
    )
    env: str = Field(description="Environment variable a client reads it from.")


class RegistryClient(StoredModel):
    kind: Literal["registry"] = "registry"
    flavor: str
    uri: str = Field(description="Registry host[:port] to tag and push images to.")
    insecure: bool = Field(description="Plain HTTP (loopback only).")
    username: str | None = None
    password: SecretRef | None = None
    pull_secret: str | None = Field(default=None, description="Kubernetes Secret pods pull the stack's images with.")
    cluster_uri: str | None = Field(default=None, description="host:port of the registry inside the cluster.")

    def address(self) -> str | None:
        """Where clients reach it from here (None: the platform's default endpoint, or nothing to reach)."""
        return self.uri


class OrchestratorClient(StoredModel):
    kind: Literal["orchestrator"] = "orchestrator"
    flavor: str
    url: str | None = Field(default=None, description="Orchestrator API base URL, if it has one.")
    execution_role: str | None = Field(default=None, description="Identity pipeline steps run as (cloud targets).")
    region: str | None = None
    workspace: str | None = Field(default=None, description="Workspace the pipelines run in (Azure ML).")
    resource_group: str | None = None
    kubernetes_context: str | None = Field(default=None, description="kubeconfig context pipelines are submitted to.")
    kubernetes_namespace: str | None = Field(default=None, description="Namespace pipeline pods run in.")
    service_account: str | None = Field(default=None, description="Service account the orchestrator pod runs as.")
    step_service_account: str | None = Field(default=None, description="Service account step pods run as.")
    image_pull_secrets: list[str] | None = Field(default=None, description="Secrets pipeline pods pull images with.")
    local_registry: bool | None = Field(default=None, description="The registry is on localhost (kind).")
    pod_labels: dict[str, str] | None = Field(
        default=None,
        description="Labels pipeline pods must carry (the stack's network policies admit their traffic by them).",
    )
    cluster_url: str | None = Field(default=None, description="API base URL inside the cluster.")
    step_node_selector: dict[str, str] | None = Field(
        default=None, description="Node selector of step pods (the node pool they run on)."
    )
    step_tolerations: list[dict[str, str]] | None = Field(default=None, description="Tolerations of step pods.")
    step_gpus: int | None = Field(default=None, description="GPUs each step pod asks for (`nvidia.com/gpu`).")
    step_annotations: dict[str, str] | None = Field(
        default=None, description="Annotations of step pods (an autoscaled cluster: not evicted while they run)."
    )
    pod_env: dict[str, str] | None = Field(
        default=None, description="Environment of the pipeline pods (what the cloud's store needs: its account)."
    )
    dags_uri: str | None = Field(
        default=None, description="Airflow: where DAG archives go (ZenML uploads them there: its `dag_output_dir`)."
    )
    logs_uri: str | None = Field(
        default=None, description="Airflow, Kubeflow: where task logs are kept (Airflow's remote logs, Argo's archive)."
    )
    artifacts_uri: str | None = Field(
        default=None, description="Kubeflow: the default pipeline root, where KFP keeps the steps' artifacts."
    )
    username: str | None = Field(default=None, description="Airflow: the admin user of its web UI and API.")
    password: SecretRef | None = None

    def address(self) -> str | None:
        """Where clients reach it from here (None: the platform's default endpoint, or nothing to reach)."""
        return self.url


class ClusterClient(StoredModel):
    """How clients reach a cluster the stack created: its kubeconfig (one context, the cloud CLI's exec credential
    plugin: nothing secret in it)."""

    context: str = Field(description="The kubeconfig's one context.")
    kubeconfig: str = Field(description="The kubeconfig (JSON, which is YAML).")


class StackClients(StoredModel):
    """The `mlstack` output of a deployed stack."""

    schema_version: Literal["mlstack.clients/v1"] = Field(default=SCHEMA_VERSION, alias="schemaVersion")
    stack: str
    target: str
    components: dict[str, dict] = Field(default_factory=dict)
    cluster: ClusterClient | None = None  # a cluster the stack created (eks, gke, aks)


class ObjectStoreClient(StoredModel):
    kind: Literal["object_store"] = "object_store"
    flavor: str
    endpoint_url: str | None = Field(default=None, description="S3 endpoint (None: the cloud's default endpoint).")
    region: str | None = None
    buckets: list[str] = Field(description="Bucket URIs, e.g. s3://mlstack.")
    access_key_id: str | None = None
    secret_access_key: SecretRef | None = None
    cluster_endpoint_url: str | None = Field(
        default=None, description="S3 endpoint inside the cluster (pipeline pods)."
    )

    def address(self) -> str | None:
        """Where clients reach it from here (None: the platform's default endpoint, or nothing to reach)."""
        return self.endpoint_url


class TrackingClient(StoredModel):
    kind: Literal["tracking"] = "tracking"
    flavor: str
    tracking_uri: str = Field(description="MLFLOW_TRACKING_URI.")
    username: str | None = Field(default=None, description="MLFLOW_TRACKING_USERNAME.")
    password: SecretRef | None = None
    artifact_root: str | None = Field(default=None, description="Where the server stores artifacts (proxied).")
    dns_target: str | None = Field(
        default=None,
        description="Name the tracking URI's host must resolve to (a "
        "CNAME or alias) when mlstack did not create that DNS record.",
    )
    cluster_tracking_uri: str | None = Field(
        default=None, description="Tracking URI inside the cluster (pipeline pods)."
    )

    def address(self) -> str | None:
        """Where clients reach it from here (None: the platform's default endpoint, or nothing to reach)."""
        return self.tracking_uri


class ServingClient(StoredModel):
    kind: Literal["serving"] = "serving"
    flavor: str
    base_url: str = Field(
        description="Base URL of the inference server; KServe: of one model, with `{model}` standing for the "
        "InferenceService's name (one Service per model, inside the cluster)."
    )
    protocol: str = Field(description="Inference protocol, e.g. v2 (KServe/Seldon open inference protocol).")
    namespace: str | None = Field(default=None, description="KServe: where the stack's InferenceServices go.")
    service_account: str | None = Field(
        default=None, description="KServe: the service account InferenceServices pull models with (read-only keys)."
    )
    runtime: str | None = Field(default=None, description="KServe: the ServingRuntime InferenceServices name.")
    model_repository: str | None = Field(default=None, description="Directory clients put model folders into.")
    execution_role: str | None = Field(default=None, description="Identity deployed models run as (cloud targets).")
    cluster_base_url: str | None = Field(default=None, description="Base URL inside the cluster (pipeline pods).")

    def address(self) -> str | None:
        """Where clients reach it from here (None: the platform's default endpoint, or nothing to reach)."""
        return self.base_url
