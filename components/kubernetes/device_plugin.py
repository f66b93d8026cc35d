"""NVIDIA's device plugin on the GPU pools of a cluster the stack creates where the cloud installs only the driver
(EKS' NVIDIA AMI, AKS' GPU driver install; GKE installs its own): without it no node advertises `nvidia.com/gpu`, and
a pod asking for a GPU never schedules. NVIDIA's own static manifest (deployments/static/nvidia-device-plugin.yml of
the pinned release), confined: on the GPU pools alone, tolerating their taints alone, no API token, capabilities
dropped, RuntimeDefault seccomp, its one host path the kubelet's device-plugin socket directory.

It is a node agent in kube-system, not a workload of the stack's namespace: it runs as root (the kubelet's socket
directory is root's) and mounts that host path, which the namespace's Pod Security `restricted` refuses; the policy
suite holds it to its own rule (policy.py: node_agents_are_pinned_and_confined) instead."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlstack.components.kubernetes import naming as n
from mlstack.components.kubernetes import workload as w
from mlstack.components.kubernetes.clusters._managed import POOL_LABEL
from mlstack.versions import KUBERNETES_IMAGES

NAME, NAMESPACE = "nvidia-device-plugin", "kube-system"
NODE_AGENT = "mlstack.dev/node-agent"  # the label of a node agent (the policy suite reads it)
SOCKETS = "/var/lib/kubelet/device-plugins"  # where the kubelet takes device plugins' sockets


def daemon_set(stack: str, gpu_pools: list[str], tolerations: list[dict[str, str]], opts: Any) -> Any:
    """The DaemonSet on the pools `gpu_pools`, tolerating `tolerations` (the GPU taint, a spot pool's)."""
    labels = {**n.labels(stack, NAME, "cluster"), NODE_AGENT: NAME}
    affinity = {
        "node_affinity": {
            "required_during_scheduling_ignored_during_execution": {
                "node_selector_terms": [
                    {"match_expressions": [{"key": POOL_LABEL, "operator": "In", "values": sorted(gpu_pools)}]}
                ]
            }
        }
    }
    container = {
        "name": NAME,
        "image": KUBERNETES_IMAGES[NAME],
        "resources": w.resources("10m", "32Mi", "200m", "128Mi"),
        "security_context": {
            "allow_privilege_escalation": False,
            "capabilities": {"drop": ["ALL"]},
            "privileged": False,
            # a writable root, as NVIDIA ships it: the image asks for the NVIDIA runtime hook (NVIDIA_VISIBLE_DEVICES),
            # which writes into the container's root when it starts
            "seccomp_profile": {"type": "RuntimeDefault"},
        },
        "volume_mounts": [{"name": "device-plugins", "mount_path": SOCKETS}],
    }
    return k8s.apps.v1.DaemonSet(
        "nvidia-device-plugin",
        metadata={"name": NAME, "namespace": NAMESPACE, "labels": labels},
        spec={
            "selector": {"match_labels": {NODE_AGENT: NAME}},
            "update_strategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automount_service_account_token": False,
                    "enable_service_links": False,
                    "priority_class_name": "system-node-critical",
                    "affinity": affinity,
                    "tolerations": [dict(t) for t in tolerations],
                    "containers": [container],
                    "volumes": [{"name": "device-plugins", "host_path": {"path": SOCKETS, "type": "Directory"}}],
                },
            },
        },
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(custom_timeouts=w.bounded_delete(300))),
    )
