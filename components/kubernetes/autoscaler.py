"""The Kubernetes cluster autoscaler on an EKS cluster the stack creates: EKS scales a managed node group between its
min and max only when something sets its desired size, and this is what does (GKE and AKS scale their pools
themselves). The upstream AWS example (cluster-autoscaler-autodiscover.yaml of kubernetes/autoscaler), tightened: it
discovers the node groups by the tags EKS puts on their Auto Scaling groups, reaches AWS by IRSA (a role only its
service account may assume, able to scale this cluster's groups alone), runs as nobody with a read-only root, and
reads the API with the upstream ClusterRole (it must see every pod and node to decide).

A node agent of the cluster in kube-system, held to its own policy rule (policy.py: node_agents_are_pinned_and_
confined); the namespace rules of the stack's workloads do not apply to it (it mounts its token, and its role is
cluster-wide)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlstack.components.kubernetes import naming as n
from mlstack.components.kubernetes import workload as w
from mlstack.components.kubernetes.device_plugin import NODE_AGENT
from mlstack.versions import KUBERNETES_IMAGES

NAME, NAMESPACE, UID = "cluster-autoscaler", "kube-system", 65534
# The upstream ClusterRole, verbatim in substance (no wildcard, nothing that writes but events, evictions, pod
# status, node updates, jobs' patches and its own lease): what the autoscaler reads to simulate scheduling.
CLUSTER_RULES = [
    {"api_groups": [""], "resources": ["events", "endpoints"], "verbs": ["create", "patch"]},
    {"api_groups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
    {"api_groups": [""], "resources": ["pods/status"], "verbs": ["update"]},
    {"api_groups": [""], "resources": ["endpoints"], "resource_names": [NAME], "verbs": ["get", "update"]},
    {"api_groups": [""], "resources": ["nodes"], "verbs": ["watch", "list", "get", "update"]},
    {
        "api_groups": [""],
        "resources": [
            "namespaces",
            "pods",
            "services",
            "replicationcontrollers",
            "persistentvolumeclaims",
            "persistentvolumes",
        ],
        "verbs": ["watch", "list", "get"],
    },
    {"api_groups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": ["watch", "list"]},
    {
        "api_groups": ["apps"],
        "resources": ["statefulsets", "replicasets", "daemonsets"],
        "verbs": ["watch", "list", "get"],
    },
    {
        "api_groups": ["resource.k8s.io"],
        "resources": ["deviceclasses", "resourceslices", "resourceclaims"],
        "verbs": ["watch", "list", "get"],
    },
    {
        "api_groups": ["storage.k8s.io"],
        "resources": ["storageclasses", "csinodes", "csidrivers", "csistoragecapacities", "volumeattachments"],
        "verbs": ["watch", "list", "get"],
    },
    {"api_groups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch", "patch"]},
    {"api_groups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
    {
        "api_groups": ["coordination.k8s.io"],
        "resources": ["leases"],
        "resource_names": [NAME],
        "verbs": ["get", "update"],
    },
]
# its status ConfigMap, in kube-system
RULES = [
    {"api_groups": [""], "resources": ["configmaps"], "verbs": ["create", "list", "watch"]},
    {
        "api_groups": [""],
        "resources": ["configmaps"],
        "resource_names": ["cluster-autoscaler-status", "cluster-autoscaler-priority-expander"],
        "verbs": ["delete", "get", "update", "watch"],
    },
]


def command(cluster: str) -> list[str]:
    """Auto-discovery of this cluster's node groups by EKS' own tags; the cheapest fitting group first."""
    return [
        "./cluster-autoscaler",
        "--cloud-provider=aws",
        f"--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/{cluster}",
        "--expander=least-waste",
        "--balance-similar-node-groups",
        "--skip-nodes-with-local-storage=false",
        "--stderrthreshold=info",
        "--v=2",
    ]


def deploy(stack: str, cluster: str, region: str, annotations: dict[str, Any], opts: Any) -> list[Any]:
    """Its service account (annotated with its IRSA role), RBAC, and Deployment in kube-system."""
    labels = {**n.labels(stack, NAME, "cluster"), NODE_AGENT: NAME}
    meta = {"name": NAME, "namespace": NAMESPACE, "labels": labels}
    account = k8s.core.v1.ServiceAccount(
        "cluster-autoscaler-account",
        metadata={**meta, "annotations": annotations},
        automount_service_account_token=True,
        opts=opts,
    )
    subject = [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]
    cluster_role = k8s.rbac.v1.ClusterRole(
        "cluster-autoscaler-cluster-role", metadata={"name": NAME, "labels": labels}, rules=CLUSTER_RULES, opts=opts
    )
    role = k8s.rbac.v1.Role("cluster-autoscaler-role", metadata=meta, rules=RULES, opts=opts)
    bound = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[account, cluster_role, role]))
    ref = {"api_group": "rbac.authorization.k8s.io"}
    bindings = [
        k8s.rbac.v1.ClusterRoleBinding(
            "cluster-autoscaler-cluster-binding",
            metadata={"name": NAME, "labels": labels},
            role_ref={**ref, "kind": "ClusterRole", "name": NAME},
            subjects=subject,
            opts=bound,
        ),
        k8s.rbac.v1.RoleBinding(
            "cluster-autoscaler-binding",
            metadata=meta,
            role_ref={**ref, "kind": "Role", "name": NAME},
            subjects=subject,
            opts=bound,
        ),
    ]
    container = {
        "name": NAME,
        "image": KUBERNETES_IMAGES[NAME],
        "command": command(cluster),
        "env": [{"name": "AWS_REGION", "value": region}],
        "resources": w.resources("100m", "600Mi", "500m", "600Mi"),
        "security_context": w.container_security(),
    }
    pod = {
        "service_account_name": NAME,
        "automount_service_account_token": True,  # it reads and updates the cluster through the API server
        "priority_class_name": "system-cluster-critical",
        "security_context": w.pod_security(UID),
        "containers": [container],
    }
    deployment = k8s.apps.v1.Deployment(
        "cluster-autoscaler",
        metadata=meta,
        spec={
            "replicas": 1,
            "selector": {"match_labels": {NODE_AGENT: NAME}},
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=bindings)),
    )
    return [account, cluster_role, role, *bindings, deployment]
