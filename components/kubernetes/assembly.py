"""How the `kubernetes` target sets up a stack: one explicit provider for the recipe's context, and the stack's
namespace — Pod Security `restricted` enforced, every flow denied unless a component allows it, DNS allowed."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mlstack.components.context import StackContext
from mlstack.components.kubernetes import naming as n
from mlstack.components.kubernetes.workload import BOUNDED_DELETE, KubernetesPlatform

POD_SECURITY = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}


def setup(ctx: StackContext) -> tuple[pulumi.ResourceOptions, KubernetesPlatform]:
    placement, stack = ctx.placement, ctx.stack
    namespace = n.namespace_of(stack, placement)
    provider = k8s.Provider(
        "kubernetes",
        context=n.context_of(stack, placement),
        enable_server_side_apply=True,
        suppress_deprecation_warnings=True,
    )
    opts = pulumi.ResourceOptions(providers={"kubernetes": provider})
    ns = k8s.core.v1.Namespace(
        "namespace",
        metadata={"name": namespace, "labels": {**n.labels(stack, namespace, "namespace"), **POD_SECURITY}},
        # Kept by destroy (deleting it would delete the volumes of the stack's data with it); --purge deletes it.
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(retain_on_delete=not ctx.purge, custom_timeouts=BOUNDED_DELETE)
        ),
    )
    platform = KubernetesPlatform(
        stack,
        namespace,
        ns.metadata["name"],
        kind=(placement.get("cluster") or {}).get("type") == "kind",
        storage_class=placement.get("storage_class"),
        purge=ctx.purge,
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
