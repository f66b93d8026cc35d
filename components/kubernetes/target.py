"""The `kubernetes` target, declared: placement (any cluster, or a kind cluster mlstack creates), machine needs, the
in-cluster flavors and their rules (no Pulumi imported here)."""

from __future__ import annotations

from typing import Any

from mlstack.components.kubernetes import settings as s
from mlstack.recipe import settings as shared
from mlstack.registry import Flavor, Problems, SdkNeeds, Target, TargetNeeds, Unsupported

SDK = SdkNeeds(requires=("pulumi", "pulumi_kubernetes"), install_hint="`pip install 'mlstack[kubernetes]'`")
PKG = "mlstack.components.kubernetes"


def _port_needs_kind(st: Any, stack: str, placement: dict[str, Any]) -> Problems:
    if getattr(st, "port", None) and (placement.get("cluster") or {}).get("type") != "kind":
        return [
            (
                "port",
                "only a kind cluster maps ports to 127.0.0.1; on an existing cluster reach the service "
                "with `mlstack connect` (or leave port out)",
            )
        ]
    return []


def _orchestrator(client: Any) -> dict[str, Any]:
    """ZenML's kubernetes orchestrator: our context, namespace and service account; pods carry the label the
    stack's network policies admit (ZenML must not create RBAC of its own)."""

    def pods() -> dict[str, Any]:  # one dict per use: the YAML of the stack file then has no anchors
        return {
            "labels": client.pod_labels or {},
            "image_pull_secrets": client.image_pull_secrets or [],
            # Pod Security `restricted` admits nothing else; ZenML merges this into its own context.
            "container_security_context": {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
                "runAsNonRoot": True,
                "runAsUser": 1000,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
        }

    config = {
        "kubernetes_context": client.kubernetes_context,
        "kubernetes_namespace": client.kubernetes_namespace,
        "incluster": True,  # the orchestrator pod loads in-cluster config; the user's machine the context
        "service_account_name": client.service_account,  # given: ZenML creates no RBAC of its own
        "step_pod_service_account_name": client.step_service_account,
        "pass_zenml_token_as_secret": True,  # else the API token sits in the Job spec
        "pod_settings": pods(),
        "orchestrator_pod_settings": pods(),
    }
    if client.local_registry:
        config["skip_local_validations"] = True  # the registry is localhost:<port> on kind, pulled by the nodes
    return config


TARGET = Target(
    name="kubernetes",
    placement=s.KubernetesTarget,
    summary="an in-cluster stack on any Kubernetes cluster, or on a local kind cluster mlstack creates",
    needs=TargetNeeds(
        ("KUBECONFIG",),
        ("~/.kube/config",),
        "pulumi_kubernetes",
        "kubernetes",
        "kubernetes",
        credentials_unless=lambda p: (
            "kind writes the context" if (p.get("cluster") or {}).get("type") == "kind" else None
        ),
    ),
    assembly=f"{PKG}.assembly:setup",
    offline=f"{PKG}.offline",
    policy=f"{PKG}.policy",
    aliases={"kind": {"type": "kubernetes", "cluster": {"type": "kind"}}},
    keeps_on_destroy=lambda p: (
        "the namespace and its PersistentVolumeClaims (objects, images, runs, models)"
        + ("; the kind cluster" if (p.get("cluster") or {}).get("type") == "kind" else "")
    ),
    preflight=f"{PKG}.lifecycle:preflight",
    prepare=f"{PKG}.kind:ensure_cluster",
    purge=f"{PKG}.lifecycle:purge",
    render=f"{PKG}.manifests:render",
    doctor=f"{PKG}.lifecycle:doctor_checks",
    connect=f"{PKG}.connect:forwards",
    flavors=(
        Flavor(
            "kubernetes",
            "object_store",
            "minio",
            shared.MinioObjectStore,
            f"{PKG}.object_store:KubernetesObjectStore",
            "MinIO StatefulSet on a kept volume, generated root keys in a Secret, buckets made by a Job",
            fields=("port", "buckets", "storage_gb"),
            problems=_port_needs_kind,
            zenml="s3",
            verify="s3",
            **SDK,
        ),
        Flavor(
            "kubernetes",
            "registry",
            "distribution",
            shared.DistributionRegistry,
            f"{PKG}.registry:KubernetesRegistry",
            "CNCF distribution Deployment on a kept volume, htpasswd from generated credentials, a pull Secret",
            fields=("port", "auth", "storage_gb"),
            problems=_port_needs_kind,
            zenml="default",
            verify="oci",
            **SDK,
        ),
        Flavor(
            "kubernetes",
            "tracking",
            "mlflow",
            shared.MlflowTracking,
            f"{PKG}.tracking:KubernetesTracking",
            "MLflow (the clouds' server contract) on an in-cluster PostgreSQL StatefulSet; artifacts proxied to "
            "the object store",
            needs=("object_store",),
            fields=("port", "artifact_prefix", "auth", "image", "database_storage_gb"),
            problems=_port_needs_kind,
            zenml="mlflow",
            verify="mlflow",
            **SDK,
        ),
        Flavor(
            "kubernetes",
            "orchestrator",
            "kubernetes",
            s.KubernetesOrchestrator,
            f"{PKG}.orchestrator:KubernetesOrchestrator",
            "ZenML's Kubernetes orchestrator: a service account with a namespaced Role of exactly the verbs it uses",
            uses=("registry",),
            zenml="kubernetes",
            zenml_config=_orchestrator,
            zenml_extra={"image_builder": ("local", {})},  # ZenML builds the step image where it submits
            verify=Unsupported("nothing answers before a pipeline runs; the Role is checked by the policy suite"),
            **SDK,
        ),
        Flavor(
            "kubernetes",
            "serving",
            "mlserver",
            shared.MlserverServing,
            f"{PKG}.serving:KubernetesServing",
            "MLServer (V2 inference protocol) Deployment with a model repository on a kept volume",
            fields=("port", "storage_gb"),
            problems=_port_needs_kind,
            verify="v2",
            **SDK,
        ),
    ),
)
