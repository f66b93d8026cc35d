"""The `kubernetes` target, declared: placement (a cluster from one of the provisioners in clusters/), machine
needs, the in-cluster flavors and their rules (no Pulumi imported here)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from mlstack.components.aws import target as aws_target
from mlstack.components.azure import target as azure_target
from mlstack.components.gcp import target as gcp_target
from mlstack.components.kubernetes import addons, clusters
from mlstack.components.kubernetes import settings as s
from mlstack.components.kubernetes.clusters._managed import GPU_RESOURCE
from mlstack.registry import Flavor, PluginNeed, Problems, SdkNeeds, Target, TargetNeeds, Unsupported

SDK = SdkNeeds(requires=("pulumi", "pulumi_kubernetes"), install_hint="`pip install 'mlstack[kubernetes]'`")
PKG = "mlstack.components.kubernetes"


def _port_needs_node_ports(st: Any, stack: str, placement: s.KubernetesTarget) -> Problems:
    """`port` is the 127.0.0.1 side of a node port: only clusters that map node ports to this machine have one."""
    if getattr(st, "port", None) and clusters.of(placement).exposure != "node_ports":
        mapping = " or ".join(p.type for p in clusters.provisioners() if p.exposure == "node_ports")
        return [
            (
                "port",
                f"only a {mapping} cluster maps ports to 127.0.0.1; on this cluster ({placement.cluster.type}) "
                "reach the service with `mlstack connect` (or leave port out)",
            )
        ]
    return []


def _tracking(st: Any, stack: str, placement: s.KubernetesTarget) -> Problems:
    return [*_port_needs_node_ports(st, stack, placement), *_managed_database(st, placement)]


def _managed_database(st: Any, placement: s.KubernetesTarget) -> Problems:
    """`database: managed` is the cloud's PostgreSQL beside a cluster the stack creates there, sized by a tier of
    that cloud; `database_tier` sizes nothing else."""
    provisioner = clusters.of(placement)
    if st.database != "managed":
        tier = "sizes the cloud's managed database: set `database: managed` with it, or leave it out"
        return [("database_tier", tier)] if st.database_tier else []
    offered = [p.type for p in clusters.provisioners() if p.DATABASE]
    if not provisioner.creates_cluster:
        return [
            (
                "database",
                f"a managed PostgreSQL is the cloud's, beside a cluster the stack creates (`cluster: {{type: "
                f"{' | '.join(offered)}}}`); on this {placement.cluster.type} cluster leave it `in_cluster`",
            )
        ]
    if provisioner.DATABASE is None:
        return [
            (
                "database",
                f"mlstack makes no managed PostgreSQL beside a {placement.cluster.type} cluster yet (it does beside "
                f"{', '.join(offered)}); leave it `in_cluster`",
            )
        ]
    if problems := provisioner.database_problems(placement, st):
        return problems
    _, pattern, example = provisioner.DATABASE
    if st.database_tier and not re.match(pattern, st.database_tier):
        return [("database_tier", f"not a tier of {provisioner.cloud_target}'s managed PostgreSQL (e.g. {example})")]
    return []


def _metadata_in_the_tracking_database(st: Any, others: dict[str, Any]) -> Problems:
    """Airflow keeps its metadata in the tracking component's in-cluster PostgreSQL (its pods carry that database's
    client label): a managed one is not offered to it."""
    if getattr(others.get("tracking"), "database", None) == "managed":
        return [
            (
                "flavor",
                "Airflow keeps its metadata in the tracking component's in-cluster PostgreSQL: with it, leave "
                "components.tracking.database `in_cluster`",
            )
        ]
    return []


def _node_pool_of_the_cluster(st: Any, stack: str, placement: s.KubernetesTarget) -> Problems:
    """`node_pool` names a pool of the cluster the stack creates (the pools of any other cluster are not known)."""
    pool = getattr(st, "node_pool", None)
    if not pool:
        return []
    names = list(clusters.of(placement).pools(placement))
    if pool in names:
        return []
    managed = ", ".join(p.type for p in clusters.provisioners() if p.creates_cluster)
    return [
        (
            "node_pool",
            f"no node pool {pool!r}: the cluster's are {', '.join(names)}"
            if names
            else f"mlstack knows no pools of an {placement.cluster.type!r} cluster; {managed} clusters declare them "
            "(`target.cluster.pools`)",
        )
    ]


def _addons_need_the_cluster_first(st: Any, stack: str, placement: s.KubernetesTarget) -> Problems:
    """Cluster add-ons are installed by a stack of their own, before the stack that uses them; a cluster the stack
    itself creates does not exist yet at that point."""
    if not clusters.of(placement).creates_cluster:
        return []
    return [
        (
            "flavor",
            f"{st.flavor}'s cluster add-ons are installed before the stack, when the {placement.cluster.type} "
            "cluster this stack creates does not exist yet: deploy that stack first, then this flavor in a recipe "
            "on it (`cluster: {type: existing}`, the context `mlstack output --format kubeconfig` writes)",
        )
    ]


def _kubeflow_problems(st: Any, stack: str, placement: s.KubernetesTarget) -> Problems:
    return _kubeflow_needs_a_registry_zenml_takes(st, stack, placement) + _addons_need_the_cluster_first(
        st, stack, placement
    )


def _in_cluster_problems(st: Any, stack: str, placement: s.KubernetesTarget) -> Problems:
    return _port_needs_node_ports(st, stack, placement) + _node_pool_of_the_cluster(st, stack, placement)


def _kubeflow_needs_a_registry_zenml_takes(st: Any, stack: str, placement: s.KubernetesTarget) -> Problems:
    """ZenML's kubeflow orchestrator refuses a stack whose registry is `localhost:<port>` (it takes it for a local
    one, and has no switch to skip that check), which is how the nodes of a kind cluster pull the stack's images."""
    provisioner = clusters.of(placement)
    if provisioner.registry_pull == "node_localhost":
        return [
            (
                "flavor",
                f"ZenML's kubeflow orchestrator refuses a registry on localhost, and that is how the nodes of a "
                f"{placement.cluster.type} cluster pull the stack's images; run Kubeflow Pipelines on a cluster "
                "whose nodes pull the registry by a name they resolve (`cluster: {type: existing}`)",
            )
        ]
    return []


def _of_the_clusters_cloud(cloud: str, names: Callable[[Any, str, Any], Problems]) -> Callable[..., Problems]:
    """A cloud's own store or registry: only on a cluster the stack creates in that cloud (whose identities reach it
    keylessly), with that cloud's naming rules."""

    def problems(st: Any, stack: str, placement: s.KubernetesTarget) -> Problems:
        provisioner = clusters.of(placement)
        if provisioner.creates_cluster and provisioner.cloud_target == cloud:
            return names(st, stack, placement)  # the cloud target's naming rules (they read no placement)
        there = ", ".join(p.type for p in clusters.provisioners() if p.cloud_target == cloud)
        return [
            (
                "flavor",
                f"{st.flavor} is {cloud}'s own, reached keylessly from a cluster the stack creates there "
                f"(`cluster: {{type: {there}}}`); on this {placement.cluster.type} cluster pick an in-cluster flavor",
            )
        ]

    return problems


def _beside(cloud: Target, kind: str, name: str, component: str, summary: str) -> Flavor:
    """A cloud target's own store or registry flavor, beside a cluster the stack creates in that cloud: its settings,
    naming rules, ZenML flavor and check, made by the cluster's cloud side (cloud_storage.py)."""
    [same] = [f for f in cloud.flavors if f.kind == kind and f.name == name]
    return Flavor(
        "kubernetes",
        kind,
        name,
        same.settings,
        f"{PKG}.cloud_storage:{component}",
        summary,
        problems=_of_the_clusters_cloud(cloud.name, same.problems or (lambda *_: [])),
        deletes_data=same.deletes_data,
        zenml=same.zenml,
        verify=same.verify,
        **SDK,
    )


def _keeps(placement: s.KubernetesTarget) -> str:
    also = clusters.of(placement).keeps
    return "the namespace and its PersistentVolumeClaims (objects, images, runs, models)" + (
        f"; {also}" if also else ""
    )


def _shared_note(placement: s.KubernetesTarget, needs: tuple[str, ...]) -> str:
    managed = addons.managed(needs, placement.existing_addons)
    there = [a.name for a in addons.ordered(needs, placement.existing_addons) if a.name in placement.existing_addons]
    text = "cluster add-ons, installed once per cluster and shared by its stacks: " + (
        "; ".join(f"{a.name} ({a.versions()})" for a in managed) or "none"
    )
    return text + (f"; already on the cluster (CRDs checked before deploy): {', '.join(there)}" if there else "")


def _orchestrator(client: Any) -> dict[str, Any]:
    """ZenML's kubernetes orchestrator: our context, namespace and service account; pods carry the label the
    stack's network policies admit (ZenML must not create RBAC of its own)."""

    def pods() -> dict[str, Any]:  # one dict per use: the YAML of the stack file then has no anchors
        env = [{"name": k, "value": v} for k, v in (client.pod_env or {}).items()]
        return {
            **({"env": env} if env else {}),
            "labels": dict(client.pod_labels or {}),
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

    steps = pods()  # the step pods: on the recipe's node pool, with its GPUs
    if client.step_node_selector:
        steps["node_selectors"] = dict(client.step_node_selector)
    if client.step_tolerations:
        steps["tolerations"] = [dict(t) for t in client.step_tolerations]
    if client.step_gpus:
        steps["resources"] = {"limits": {GPU_RESOURCE: str(client.step_gpus)}}
    if client.step_annotations:
        steps["annotations"] = dict(client.step_annotations)
    config = {
        "kubernetes_context": client.kubernetes_context,
        "kubernetes_namespace": client.kubernetes_namespace,
        "incluster": True,  # the orchestrator pod loads in-cluster config; the user's machine the context
        "service_account_name": client.service_account,  # given: ZenML creates no RBAC of its own
        "step_pod_service_account_name": client.step_service_account,
        "pass_zenml_token_as_secret": True,  # else the API token sits in the Job spec
        "pod_settings": steps,
        "orchestrator_pod_settings": pods(),
    }
    if client.local_registry:
        config["skip_local_validations"] = True  # the registry is localhost:<port> on kind, pulled by the nodes
    return config


def _airflow(client: Any) -> dict[str, Any]:
    """ZenML's airflow orchestrator, remote: each step a KubernetesPodOperator pod in the stack's namespace, with the
    label the stack's network policies admit, the step service account and the `restricted` security context; DAGs
    go to the object store, where Airflow reads them."""
    operator_args: dict[str, Any] = {
        "namespace": client.kubernetes_namespace,
        "service_account_name": client.step_service_account,
        "labels": client.pod_labels or {},
        "security_context": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
        "container_security_context": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    }
    if client.image_pull_secrets:
        operator_args["image_pull_secrets"] = [{"name": s} for s in client.image_pull_secrets]
    # ZenML writes each DAG archive to dag_output_dir; an s3:// one it uploads with the artifact store's filesystem
    # (the stack's object store), where Airflow's S3 DAG bundle reads it
    return {
        "local": False,
        "dag_output_dir": (client.dags_uri or "").rstrip("/") or None,
        "operator": "kubernetes_pod",
        "operator_args": operator_args,
    }


def _kubeflow(client: Any) -> dict[str, Any]:
    """ZenML's kubeflow orchestrator, talking to KFP's API server by its address (the stack file's is the in-cluster
    one; `mlstack connect` forwards it to this machine). Not through `kubernetes_context`: that goes through the
    API server's service proxy, which the namespace's default-deny policy stops."""
    return {"kubeflow_hostname": client.url, "kubeflow_namespace": client.kubernetes_namespace}


TARGET = Target(
    name="kubernetes",
    placement=s.KubernetesTarget,
    summary="an in-cluster stack on any Kubernetes cluster, or on a local kind cluster mlstack creates",
    needs=TargetNeeds(
        ("KUBECONFIG",),
        ("~/.kube/config",),
        (PluginNeed("kubernetes", "pulumi_kubernetes", "kubernetes"),),
        credentials_unless=lambda p: clusters.of(p).credentials_reason,
        more_plugins=lambda p: clusters.of(p).plugins,
    ),
    assembly=f"{PKG}.assembly:setup",
    hooks=f"{PKG}.lifecycle:HOOKS",
    offline=f"{PKG}.offline",
    cost=f"{PKG}.cost",
    policy=f"{PKG}.policy",
    aliases={p.alias: {"type": "kubernetes", "cluster": {"type": p.type}} for p in clusters.provisioners() if p.alias},
    keeps_on_destroy=_keeps,
    deletes_data=lambda p: clusters.of(p).deletes_data,
    shared_note=_shared_note,
    flavors=(
        Flavor(
            "kubernetes",
            "object_store",
            "minio",
            s.KubernetesMinioObjectStore,
            f"{PKG}.object_store:KubernetesObjectStore",
            "MinIO StatefulSet on a kept volume, generated root keys in a Secret, buckets made by a Job",
            problems=_port_needs_node_ports,
            zenml="s3",
            verify="s3",
            **SDK,
        ),
        Flavor(
            "kubernetes",
            "object_store",
            "seaweedfs",
            s.KubernetesSeaweedfsObjectStore,
            f"{PKG}.seaweedfs:KubernetesSeaweedfs",
            "SeaweedFS StatefulSet on a kept volume: only its S3 gateway on the pod's address, identity and JWT keys "
            "generated into a Secret, buckets made by a Job",
            problems=_port_needs_node_ports,
            zenml="s3",
            verify="s3",
            **SDK,
        ),
        _beside(
            aws_target.TARGET,
            "object_store",
            "s3",
            "KubernetesS3",
            "S3 buckets beside an eks cluster (the aws target's: versioned, encrypted, TLS-only); the in-cluster "
            "parts reach them by IRSA, each service account with a role scoped to the buckets",
        ),
        _beside(
            gcp_target.TARGET,
            "object_store",
            "gcs",
            "KubernetesGcs",
            "GCS buckets beside a gke cluster (the gcp target's: uniform access, public access prevented, versioned); "
            "the in-cluster parts reach them by Workload Identity, each service account as a Google service account "
            "of its own, objectUser on the buckets",
        ),
        _beside(
            azure_target.TARGET,
            "object_store",
            "azure_blob",
            "KubernetesAzureBlob",
            "Blob Storage beside an aks cluster (the azure target's: HTTPS, Entra ID only, versioned); the in-cluster "
            "parts reach it by Workload Identity, each service account as a managed identity of its own, Storage "
            "Blob Data Contributor on the containers",
        ),
        Flavor(
            "kubernetes",
            "registry",
            "distribution",
            s.KubernetesDistributionRegistry,
            f"{PKG}.registry:KubernetesRegistry",
            "CNCF distribution Deployment on a kept volume, htpasswd from generated credentials, a pull Secret",
            problems=_port_needs_node_ports,
            zenml="default",
            verify="oci",
            **SDK,
        ),
        _beside(
            aws_target.TARGET,
            "registry",
            "ecr",
            "KubernetesEcr",
            "ECR repositories beside an eks cluster (the aws target's: scanned, immutable, KMS); its nodes pull "
            "them with their own role, no pull Secret",
        ),
        _beside(
            gcp_target.TARGET,
            "registry",
            "artifact_registry",
            "KubernetesArtifactRegistry",
            "Artifact Registry repositories beside a gke cluster (the gcp target's: immutable, scanned); its nodes' "
            "service account reads them, no pull Secret",
        ),
        _beside(
            azure_target.TARGET,
            "registry",
            "acr",
            "KubernetesAcr",
            "Azure Container Registry beside an aks cluster (the azure target's: no admin user, no anonymous pull); "
            "the cluster's kubelet identity pulls from it (AcrPull), no pull Secret",
        ),
        Flavor(
            "kubernetes",
            "tracking",
            "mlflow",
            s.KubernetesMlflowTracking,
            f"{PKG}.tracking:KubernetesTracking",
            "MLflow (the clouds' server contract) on an in-cluster PostgreSQL StatefulSet, or the cloud's managed "
            "PostgreSQL beside an eks or gke cluster the stack creates; artifacts proxied to the object store",
            needs=("object_store",),
            problems=_tracking,
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
            problems=_node_pool_of_the_cluster,
            uses=("object_store", "registry", "tracking", "serving"),  # pipeline steps call every one of them
            zenml="kubernetes",
            zenml_config=_orchestrator,
            zenml_extra={"image_builder": ("local", {})},  # ZenML builds the step image where it submits
            verify=Unsupported("nothing answers before a pipeline runs; the Role is checked by the policy suite"),
            **SDK,
        ),
        Flavor(
            "kubernetes",
            "orchestrator",
            "airflow",
            s.KubernetesAirflowOrchestrator,
            f"{PKG}.airflow:KubernetesAirflow",
            "Apache Airflow (official chart, KubernetesExecutor) with its metadata in the stack's PostgreSQL and task "
            "logs and DAGs in the object store; ZenML's steps run as pods in the stack's namespace",
            needs=("object_store", "tracking"),  # logs and DAGs; the tracking component's PostgreSQL
            only_with={
                "object_store": (
                    ("minio", "seaweedfs"),
                    "its S3 connection (task logs, DAG bundles) logs in with the in-cluster store's keys; it does not "
                    "take a cloud identity yet",
                )
            },
            uses=("registry", "serving"),  # pipeline steps call them
            alongside=_metadata_in_the_tracking_database,
            charts=("airflow",),
            zenml="airflow",
            zenml_config=_airflow,
            zenml_extra={"image_builder": ("local", {})},  # ZenML builds the step image where it writes the DAG
            verify="airflow",
            **SDK,
        ),
        Flavor(
            "kubernetes",
            "orchestrator",
            "kubeflow",
            s.KubernetesKubeflowOrchestrator,
            f"{PKG}.kubeflow:KubernetesKubeflow",
            "Kubeflow Pipelines standalone (KFP's own manifests, from the mirror) with its artifacts in the object "
            "store and its metadata in KFP's MySQL on a kept volume; its and Argo's CRDs installed once per cluster",
            needs=("object_store", "registry"),  # ZenML's kubeflow orchestrator runs the steps from the registry
            uses=("tracking", "serving"),  # pipeline steps call them
            problems=_kubeflow_problems,
            shared=("kubeflow-pipelines",),
            manifests=("kubeflow-pipelines",),
            zenml="kubeflow",
            zenml_config=_kubeflow,
            zenml_extra={"image_builder": ("local", {})},  # ZenML builds the step image where it submits
            verify="kubeflow",
            **SDK,
        ),
        Flavor(
            "kubernetes",
            "serving",
            "mlserver",
            s.KubernetesMlserverServing,
            f"{PKG}.serving:KubernetesServing",
            "MLServer (V2 inference protocol) Deployment with a model repository on a kept volume",
            problems=_in_cluster_problems,
            verify="v2",
            **SDK,
        ),
        Flavor(
            "kubernetes",
            "serving",
            "kserve",
            s.KubernetesKserveServing,
            f"{PKG}.kserve:KubernetesKserve",
            "KServe (Standard mode, no Knative) with an MLServer ServingRuntime (V2); models pulled from the object "
            "store with read-only keys; KServe and cert-manager installed once per cluster",
            needs=("object_store",),
            problems=_addons_need_the_cluster_first,
            shared=("kserve",),
            verify="kserve",  # deploys a tiny model, asks it once, deletes it (components/kubernetes/kserve_check.py)
            **SDK,
        ),
    ),
)
