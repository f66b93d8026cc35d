"""How the `kubernetes` target sets up a stack: one explicit provider for the recipe's context, and the stack's
namespace — Pod Security `restricted` enforced, every flow denied unless a component allows it, DNS allowed, and
labelled with the cluster add-ons the stack uses."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mlstack.components.context import StackContext
from mlstack.components.kubernetes import addons, clusters
from mlstack.components.kubernetes import naming as n
from mlstack.components.kubernetes.settings import KubernetesTarget
from mlstack.components.kubernetes.workload import KubernetesPlatform, bounded_delete

POD_SECURITY = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}


def setup(ctx: StackContext) -> tuple[pulumi.ResourceOptions, KubernetesPlatform]:
    placement: KubernetesTarget = ctx.placement
    stack, cluster = ctx.stack, clusters.of(placement)
    namespace, context = n.namespace_of(stack, placement), cluster.context(stack, placement)
    delete_timeout_s = placement.delete_timeout_s
    uses = {
        a.label: "existing" if a.name in placement.existing_addons else "true"
        for a in addons.ordered(ctx.shared, placement.existing_addons)
    }
    # A cluster the stack creates (eks, gke, aks) comes first: the provider is made from its kubeconfig, so every
    # in-cluster object waits for it and its node pools, and a destroy deletes them before the cluster.
    built = cluster.build(stack, placement, ctx.tags)
    provider = k8s.Provider(
        "kubernetes",
        **({"kubeconfig": built.kubeconfig} if built else {"context": context}),
        enable_server_side_apply=True,
        suppress_deprecation_warnings=True,
        opts=pulumi.ResourceOptions(depends_on=built.ready) if built else None,
    )
    opts = pulumi.ResourceOptions(providers={"kubernetes": provider})
    # the cluster's own in-cluster parts (EKS' cluster autoscaler)
    if built and built.in_cluster:
        built.in_cluster(opts)
    # NVIDIA's device plugin on the GPU pools, where the cloud installs only the driver (EKS, AKS)
    gpu_pools, tolerations = cluster.gpu_pools(placement) if built and cluster.device_plugin else ([], [])
    if gpu_pools:
        from mlstack.components.kubernetes import device_plugin

        device_plugin.daemon_set(stack, gpu_pools, tolerations, opts)
    # the StorageClass of a cluster that has no default one (EKS): the namespace, and so every volume, after it
    storage = (
        [k8s.storage.v1.StorageClass("storage-class", **built.storage_class, opts=opts)]
        if built and built.storage_class
        else []
    )
    ns = k8s.core.v1.Namespace(
        "namespace",
        # the cluster add-ons mlstack installs for this stack: the cluster's add-ons stack reads who uses what here
        metadata={"name": namespace, "labels": {**n.labels(stack, namespace, "namespace"), **POD_SECURITY, **uses}},
        # Kept by destroy (deleting it would delete the volumes of the stack's data with it); `destroy --purge`
        # deletes it afterwards, outside the engine (lifecycle.purge), so a purge never runs an update.
        opts=pulumi.ResourceOptions.merge(
            opts,
            pulumi.ResourceOptions(
                retain_on_delete=True, custom_timeouts=bounded_delete(delete_timeout_s), depends_on=storage
            ),
        ),
    )
    platform = KubernetesPlatform(
        stack,
        namespace,
        ns.metadata["name"],
        cluster,
        context,
        storage_class=cluster.storage_class(placement),
        delete_timeout_s=delete_timeout_s,
        rollout_timeout_s=placement.rollout_timeout_s,
        placement=placement,
        kubeconfig=built.kubeconfig if built else None,
        cloud=built.cloud if built else None,
    )
    meta = {"namespace": platform.namespace_name, "labels": n.labels(stack, "mlstack", "namespace")}
    k8s.networking.v1.NetworkPolicy(
        "default-deny",
        metadata={**meta, "name": "default-deny"},
        spec={"pod_selector": {}, "policy_types": ["Ingress", "Egress"]},
        opts=opts,
    )
    k8s.networking.v1.NetworkPolicy(
        "allow-dns",
        metadata={**meta, "name": "allow-dns"},
        spec={
            "pod_selector": {},
            "policy_types": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            "namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": "kube-system"}},
                            "pod_selector": {"match_labels": {"k8s-app": "kube-dns"}},
                        }
                    ],
                    "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
                }
            ],
        },
        opts=opts,
    )
    return opts, platform
