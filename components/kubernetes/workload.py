"""Typed building blocks every in-cluster component shares, secure by default: restricted pod and container
security contexts, requests and limits, a volume claim, a Service (ClusterIP, or a node port on kind) and the
NetworkPolicy allowing exactly the flows into a workload. Plain dicts of the Kubernetes API's fields (the Pulumi
SDK's input types accept them); nothing here renders YAML."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlstack.components.base import holds_data
from mlstack.components.kubernetes import naming as n
from mlstack.components.kubernetes.clusters import ClusterProvisioner
from mlstack.components.kubernetes.settings import DELETE_TIMEOUT_S, ROLLOUT_TIMEOUT_S
from mlstack.components.outputs import Endpoint, WorkloadIdentity

# Kubernetes' own workload types -> the path to their pod spec (the policy suite reads every pod from these, and
# from the POD_SPECS a flavor's module declares for its own types, custom resources included).
POD_SPECS: dict[str, tuple[str, ...]] = {
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "kubernetes:core/v1:Pod": ("spec",),
}
SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}  # a ClusterIP Service is usable at once; the provider waits >= 10 s


def bounded_delete(seconds: int) -> pulumi.CustomTimeouts:
    """A finalizer that never clears (a volume still mounted, a namespace's stuck object) must not hang destroy: the
    provider gives up after this (the recipe's target.delete_timeout_s) and its error names the object."""
    return pulumi.CustomTimeouts(delete=f"{seconds}s")


def workload_opts(
    parent: pulumi.Resource,
    platform: KubernetesPlatform,
    *depends_on: pulumi.Resource,
    delete_before_replace: bool = False,
) -> pulumi.ResourceOptions:
    rollout = f"{platform.rollout_timeout_s}s"  # how long the provider waits for the new pods to be ready
    return pulumi.ResourceOptions(
        parent=parent,
        depends_on=list(depends_on),
        custom_timeouts=pulumi.CustomTimeouts(create=rollout, update=rollout, delete=f"{platform.delete_timeout_s}s"),
        delete_before_replace=delete_before_replace,
    )


@dataclass(frozen=True)
class KubernetesPlatform:
    """What the target's assembly set up for every component: the namespace and how services are exposed."""

    stack: str
    namespace: str
    namespace_name: pulumi.Output[str]  # the Namespace resource's name: using it orders creation after it
    cluster: ClusterProvisioner  # who provides the cluster: how services are exposed, how nodes pull images
    context: str | None  # the kubeconfig context the stack's provider uses (None: the current one)
    storage_class: str | None = None
    delete_timeout_s: int = DELETE_TIMEOUT_S
    rollout_timeout_s: int = ROLLOUT_TIMEOUT_S
    placement: Any = None  # the recipe's typed `target:` block (a managed cluster's node pools)
    kubeconfig: pulumi.Output[str] | None = None  # of a cluster the stack created (eks, gke, aks)
    cloud: Any = None  # its cloud side: the cloud's object store and registry (clusters/_managed.py: CloudAccess)

    def client(self) -> pulumi.Output[dict[str, str]] | None:
        """How clients reach a cluster the stack created (mlstack.clients.models: ClusterClient); None: the user's."""
        if self.kubeconfig is None:
            return None
        return self.kubeconfig.apply(lambda config: {"context": self.context or "", "kubeconfig": config})

    def cloud_side(self, part: str) -> Any:
        """The cluster's cloud side, which makes `part` (clusters/_managed.py: CloudAccess; its `object_store`,
        `registry` or `database`); validation refuses what needs it where the cluster's has none."""
        if getattr(self.cloud, part, None) is None:
            raise LookupError(
                f"the cloud's {part} needs a cluster the stack creates that makes it, not {self.cluster.type}"
            )
        return self.cloud

    def on_pool(self, pool: str | None) -> Any:
        """How a pod asking for node pool `pool` is scheduled (clusters/_managed.py: Scheduling); None: anywhere."""
        return self.cluster.scheduling(self.placement, pool) if pool else None

    @property
    def node_ports(self) -> bool:
        """Services are reached from this machine on node ports the cluster maps to 127.0.0.1."""
        return self.cluster.exposure == "node_ports"

    @property
    def nodes_pull_localhost(self) -> bool:
        """Nodes pull the stack's registry by the `localhost:<port>` name images are pushed under from here."""
        return self.cluster.registry_pull == "node_localhost"


@dataclass(frozen=True)
class Flows:
    """How a component takes part in the stack's network, as data; network.py derives the NetworkPolicies.

    Its pods (`pods`) reach the services of the components it is wired to (registry: `needs`/`uses`) and its own
    `reaches`; its service (`serves`) admits the pods of the components wired to it and its own `admits`."""

    pods: dict[str, str] | None = None  # selector of the pods that call other components (None: it calls none)
    serves: Endpoint | None = None  # the service it offers (its typed outputs carry it too)
    admits: tuple[dict[str, str], ...] = ()  # its own pods that call its service (a set-up Job)
    reaches: tuple[Endpoint, ...] = ()  # its own services its pods call (its database)
    any_host_ports: tuple[int, ...] = ()  # ports its pods reach on any host (the API server, HTTPS)
    ip_blocks: tuple[tuple[str, int], ...] = ()  # (CIDR, port) its pods reach outside the cluster (a metadata server)
    egress_name: str | None = None  # the egress policy's name part (default: the pods' app)
    # other pods of its own that call the services of some of the kinds it is wired to: (their selector, those
    # kinds); those services admit them (their egress is the component's own policy)
    also_calls: tuple[tuple[dict[str, str], tuple[str, ...]], ...] = ()


def endpoint(platform: KubernetesPlatform, app: str, port: int) -> Endpoint:
    """A service of the stack's namespace, as in-cluster clients reach it."""
    return Endpoint(app, n.selector(app), port, n.service_host(app, platform.namespace))


def container_security(read_only: bool = True) -> dict[str, Any]:
    return {
        "allow_privilege_escalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "run_as_non_root": True,
        "read_only_root_filesystem": read_only,
        "seccomp_profile": {"type": "RuntimeDefault"},
    }


def pod_security(uid: int) -> dict[str, Any]:
    return {
        "run_as_non_root": True,
        "run_as_user": uid,
        "run_as_group": uid,
        "fs_group": uid,
        "fs_group_change_policy": "OnRootMismatch",
        "seccomp_profile": {"type": "RuntimeDefault"},
    }


def resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu_limit, "memory": memory_limit}}


def secret_env(name: str, secret: pulumi.Input[str], key: str) -> dict[str, Any]:
    """An environment variable read from a Secret by reference (never a literal value in the pod spec)."""
    return {"name": name, "value_from": {"secret_key_ref": {"name": secret, "key": key}}}


def http_probe(path: str, port: int, delay: int = 5) -> dict[str, Any]:
    return {
        "http_get": {"path": path, "port": port},
        "initial_delay_seconds": delay,
        "period_seconds": 10,
        "timeout_seconds": 5,
        "failure_threshold": 6,
    }


def pod_template(
    platform: KubernetesPlatform,
    app: str,
    component: str,
    containers: list[dict],
    uid: int,
    volumes: list[dict] | None = None,
    init_containers: list[dict] | None = None,
    pool: str | None = None,
    identity: tuple[str, WorkloadIdentity] | None = None,
) -> dict[str, Any]:
    """A pod template; `pool`: the node pool the pods run on (a managed cluster's), its GPUs for the first container;
    `identity`: (service account, its workload identity) the pods act as in the cloud, its environment in every
    container."""
    placed = platform.on_pool(pool)
    if placed is not None and placed.gpus:
        first = containers[0]
        limits = {**first["resources"]["limits"], placed.resource: str(placed.gpus)}
        containers = [{**first, "resources": {**first["resources"], "limits": limits}}, *containers[1:]]
    labels = n.labels(platform.stack, app, component)
    if identity is not None:
        account, cloud = identity
        env = [{"name": k, "value": v} for k, v in cloud.env.items()]
        containers = [{**c, "env": [*(c.get("env") or []), *env]} for c in containers]
        labels = {**labels, **cloud.pod_labels}
    return {
        "metadata": {"labels": labels},
        "spec": {
            # the cloud's token is projected by its webhook; the Kubernetes API's is never mounted
            "service_account_name": identity[0] if identity else None,
            "automount_service_account_token": False,
            "enable_service_links": False,
            "security_context": pod_security(uid),
            "containers": containers,
            "init_containers": init_containers or None,
            "volumes": volumes or None,
            **(placed.pod() if placed is not None else {}),
        },
    }


def service_account(
    resource: str, platform: KubernetesPlatform, account: str, component: str, identity: WorkloadIdentity, parent: Any
) -> k8s.core.v1.ServiceAccount:
    """A service account whose pods act as `identity` in the cloud (annotated as its cloud's webhook reads it)."""
    return k8s.core.v1.ServiceAccount(
        resource,
        metadata=metadata(platform, account, component, annotations=identity.annotations),
        automount_service_account_token=False,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def metadata(
    platform: KubernetesPlatform,
    name: str,
    component: str,
    app: str | None = None,
    annotations: Mapping[str, pulumi.Input[str]] | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": platform.namespace_name,
        "labels": n.labels(platform.stack, app or name, component),
        "annotations": annotations,
    }


def volume_claim(
    resource: str, platform: KubernetesPlatform, name: str, component: str, size_gb: int, parent: pulumi.Resource
) -> k8s.core.v1.PersistentVolumeClaim:
    """A claim destroy keeps (it holds the component's data); `destroy --purge` deletes it with the namespace."""
    return k8s.core.v1.PersistentVolumeClaim(
        resource,
        metadata=metadata(platform, name, component),
        spec={
            "access_modes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": f"{size_gb}Gi"}},
            "storage_class_name": platform.storage_class,
        },
        opts=holds_data(
            pulumi.ResourceOptions(
                parent=parent, retain_on_delete=True, custom_timeouts=bounded_delete(platform.delete_timeout_s)
            )
        ),
    )


def service(
    resource: str,
    platform: KubernetesPlatform,
    app: str,
    component: str,
    port: int,
    parent: pulumi.Resource,
    exposed: bool = True,
) -> k8s.core.v1.Service:
    """ClusterIP; on a cluster that maps node ports to 127.0.0.1 (kind), a NodePort."""
    node_port = n.NODE_PORTS.get(component) if platform.node_ports and exposed else None
    ports = [{"name": "http", "port": port, "target_port": port, "protocol": "TCP", "node_port": node_port}]
    return k8s.core.v1.Service(
        resource,
        metadata=metadata(platform, app, component, annotations=SKIP_AWAIT),
        spec={"type": "NodePort" if node_port else "ClusterIP", "selector": n.selector(app), "ports": ports},
        opts=pulumi.ResourceOptions(parent=parent),
    )


def allow_ingress(
    resource: str,
    platform: KubernetesPlatform,
    app: str,
    component: str,
    port: int | tuple[int, ...],
    sources: list[dict[str, str]],
    parent: pulumi.Resource,
    from_outside: bool = False,
) -> k8s.networking.v1.NetworkPolicy:
    """One flow into `app`: from pods matching any of `sources` (label selectors) on `port` (or each of several);
    `from_outside` (kind's node port) admits any source on that port, since kube-proxy's traffic comes from the
    node."""
    peers = None if from_outside else [{"pod_selector": {"match_labels": s}} for s in sources]
    ports = (port,) if isinstance(port, int) else port
    return k8s.networking.v1.NetworkPolicy(
        resource,
        metadata=metadata(platform, f"allow-{app}-ingress", component),
        spec={
            "pod_selector": {"match_labels": n.selector(app)},
            "policy_types": ["Ingress"],
            "ingress": [{"from": peers, "ports": [{"port": p, "protocol": "TCP"} for p in ports]}],
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )


def allow_egress(
    resource: str,
    platform: KubernetesPlatform,
    app: str,
    component: str,
    targets: list[tuple[dict[str, str], int]],
    parent: pulumi.Resource,
    selector: dict[str, str] | None = None,
    any_host_ports: tuple[int, ...] = (),
    ip_blocks: tuple[tuple[str, int], ...] = (),
) -> k8s.networking.v1.NetworkPolicy:
    """The flows out of `app`'s pods (or those matching `selector`): to pods matching each selector on its port,
    to any host on `any_host_ports`, and to each (CIDR, port) of `ip_blocks` (DNS is allowed namespace-wide)."""
    anywhere = [{"ports": [{"port": port, "protocol": "TCP"} for port in any_host_ports]}] if any_host_ports else []
    anywhere += [
        {"to": [{"ip_block": {"cidr": cidr}}], "ports": [{"port": port, "protocol": "TCP"}]} for cidr, port in ip_blocks
    ]
    return k8s.networking.v1.NetworkPolicy(
        resource,
        metadata=metadata(platform, f"allow-{app}-egress", component),
        spec={
            "pod_selector": {"match_labels": selector or n.selector(app)},
            "policy_types": ["Egress"],
            "egress": [
                *(
                    {"to": [{"pod_selector": {"match_labels": sel}}], "ports": [{"port": port, "protocol": "TCP"}]}
                    for sel, port in targets
                ),
                *anywhere,
            ],
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )
