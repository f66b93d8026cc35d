"""What the managed clusters (eks, gke, aks) share, declared: the API endpoint, the pinned Kubernetes version, the
system node pool and the recipe's own pools, GPU pools among them; and their provisioner's base. Each cloud's
module says what its cloud offers (the machine types that carry GPUs) and builds its cluster.

Declaration-level, like the package: Pulumi and the cloud SDKs are imported by `build` when a program runs.
A module whose name starts with `_` is not a provisioner (the package's discovery skips it)."""

from __future__ import annotations

import base64
import re
import shutil
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, ClassVar, Protocol

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from mlstack.components.kubernetes.clusters import Check, ClusterProvisioner, Gate
from mlstack.errors import NotAvailableError
from mlstack.policy import PolicyViolation
from mlstack.recipe import rules
from mlstack.recipe import settings as shared
from mlstack.recipe.base import UserModel

SYSTEM = "system"  # the system pool's name
POOL_LABEL = "mlstack.dev/pool"  # on every node of a pool: what a component's `node_pool` selects
# The taint of every GPU node, on every cloud: GKE's own convention (it taints GPU nodes itself); mlstack sets the
# same on EKS and AKS, so one toleration serves a pod on any of them.
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
GPU_RESOURCE = "nvidia.com/gpu"  # what the NVIDIA device plugin advertises
# The cluster CA an offline plan's kubeconfig carries: plainly not a certificate.
PLACEHOLDER_CA = base64.b64encode(b"certificate of the cluster's CA, known after deploy").decode()
LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
RESERVED_LABELS = ("kubernetes.io/", "k8s.io/", "mlstack.dev/")  # the kubelet's own, and ours


def _labels(labels: dict[str, str]) -> dict[str, str]:
    for key, value in labels.items():
        if not LABEL_KEY.match(key):
            raise ValueError(f"label key {key!r} is not a Kubernetes label key")
        prefix = key.partition("/")[0] + "/" if "/" in key else ""
        if any(prefix.endswith(r) for r in RESERVED_LABELS):
            raise ValueError(f"label key {key!r} is in a prefix Kubernetes or mlstack sets itself ({prefix})")
        if not LABEL_VALUE.match(value):
            raise ValueError(f"label {key!r}: {value!r} is not a Kubernetes label value (63 characters at most)")
    return labels


class Gpu(UserModel):
    """The GPUs of each node of a pool: what the pool's machine type carries, said, so that mlstack taints the pool
    and sets up its driver, and a component asking for the pool gets a GPU."""

    type: str = Field(pattern=r"^nvidia-[a-z0-9-]{2,40}$", description="Accelerator, e.g. nvidia-l4, nvidia-a100.")
    count: int = Field(default=1, ge=1, le=16, description="GPUs per node.")


# (machine type) -> (accelerator, count): the GPU machine types a cloud offers, as the cloud's module lists them
GpuMachines = dict[str, tuple[str, int]]


def gpu_problem(
    machine_type: str, gpu: Gpu | None, machines: GpuMachines, cloud: str, family: re.Pattern[str] | None = None
) -> str | None:
    """Why `gpu` does not describe `machine_type` on a cloud whose GPU machine types are `machines` (None: it does).
    A GPU machine type must say its GPUs (else its pool is neither tainted nor given a driver); one of a GPU `family`
    that `machines` does not list is refused (its GPUs, and so its driver and taint, are not known)."""
    offered = machines.get(machine_type)
    if offered is None and family is not None and family.match(machine_type):
        return (
            f"{machine_type} is a GPU machine type mlstack does not know the GPUs of; pick one it lists "
            f"(e.g. {', '.join(sorted(machines)[:4])}, …)"
        )
    if gpu is None:
        if offered:
            return f"{machine_type} carries {offered[1]} x {offered[0]}: say so in the pool's `gpu:` block"
        return None
    if offered is None:
        kinds = sorted({a for a, _ in machines.values()})
        with_it = sorted(m for m, (a, _) in machines.items() if a == gpu.type)[:6]
        hint = f"; {gpu.type} comes with {', '.join(with_it)}" if with_it else f"; {cloud} offers {', '.join(kinds)}"
        return f"{cloud} offers no GPU on {machine_type}{hint}"
    if offered != (gpu.type, gpu.count):
        return f"{machine_type} carries {offered[1]} x {offered[0]}, not {gpu.count} x {gpu.type}"
    return None


class Bounded(UserModel):
    """What an autoscaled pool's bounds must satisfy (its `min` and `max` are declared by each pool model)."""

    @field_validator("max", check_fields=False)
    @classmethod
    def _not_below_min(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("min")
        if low is not None and value < low:
            raise ValueError(f"max {value} is below min {low}")
        return value


class Pool(Bounded):
    """A node pool: its machine type, autoscaling bounds, spot or on-demand, GPUs and labels. Every node carries
    `mlstack.dev/pool: <name>`; a GPU pool is tainted `nvidia.com/gpu=present:NoSchedule`."""

    name: str = Field(
        pattern=r"^[a-z][a-z0-9]{0,11}$",
        description="Pool name: 1-12 lowercase letters and digits, starting with a letter (AKS' rule, the "
        "narrowest of the three clouds).",
    )
    machine_type: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$", description="The cloud's machine type.")
    min: int = Field(default=0, ge=0, le=1000, description="Fewest nodes (0: the pool scales to nothing when idle).")
    max: int = Field(ge=1, le=1000, description="Most nodes the autoscaler adds.")
    spot: bool = Field(default=False, description="Spot (preemptible) capacity instead of on-demand.")
    disk_gb: int = Field(default=100, ge=20, le=16384, description="Node disk, GiB.")
    gpu: Gpu | None = Field(default=None, description="The GPUs of each node (a GPU machine type must say them).")
    labels: Annotated[dict[str, str], AfterValidator(_labels)] = Field(
        default_factory=dict, description="Node labels, besides `mlstack.dev/pool: <name>`."
    )

    GPU_MACHINES: ClassVar[GpuMachines] = {}
    GPU_FAMILY: ClassVar[re.Pattern[str] | None] = None  # machine types that carry GPUs, listed or not
    CLOUD: ClassVar[str] = ""

    @classmethod
    def gpu_problem(cls, machine_type: str, gpu: Gpu | None) -> str | None:
        """Why `gpu` does not describe what `machine_type` carries on this cloud (None: it does)."""
        return gpu_problem(machine_type, gpu, cls.GPU_MACHINES, cls.CLOUD, cls.GPU_FAMILY)

    @field_validator("gpu")
    @classmethod
    def _offered(cls, gpu: Gpu | None, info: ValidationInfo) -> Gpu | None:
        machine = info.data.get("machine_type")
        if machine and (problem := cls.gpu_problem(machine, gpu)):
            raise ValueError(problem)
        return gpu

    @model_validator(mode="after")
    def _gpu_machine_says_its_gpus(self) -> Pool:
        """`gpu` omitted is not validated by its field validator: a GPU machine type without it is caught here."""
        if self.gpu is None and (problem := self.gpu_problem(self.machine_type, None)):
            raise ValueError(problem)
        return self


class SystemPool(Bounded):
    """The pool the cluster's own services and the stack's components run on (on-demand, no GPU)."""

    machine_type: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$",
        description="The cloud's machine type; default: the cloud module's (4 vCPU, 16 GiB).",
    )
    min: int = Field(default=2, ge=1, le=1000, description="Fewest nodes (two: one may be drained or upgraded).")
    max: int = Field(default=3, ge=1, le=1000, description="Most nodes the autoscaler adds.")
    disk_gb: int = Field(default=100, ge=20, le=16384, description="Node disk, GiB.")


class Endpoint(UserModel):
    """Who reaches the cluster's API server: the listed networks, and nobody else — through the cluster's network
    (a VPN, a peered network) when it is private (the default), over the internet when it is public."""

    public: bool = Field(default=False, description="Reachable from the internet (by `allowed_cidrs` alone).")
    allowed_cidrs: shared.AllowedNetworks = Field(
        min_length=1,
        description="The networks that reach the API server: where mlstack deploys from (your machine, your CI "
        "runners) and your users; 0.0.0.0/0 and ::/0 are refused.",
    )


class ManagedSpec(UserModel):
    """What every managed cluster's block has besides its cloud's placement: who reaches the API server, the
    system pool and the recipe's pools (each cloud's module declares `type`, `version` and `pools` of its own)."""

    endpoint: Endpoint = Field(description="Who reaches the API server.")
    system_pool: SystemPool = Field(default_factory=SystemPool, description="The cluster's system node pool.")

    @field_validator("pools", check_fields=False)
    @classmethod
    def _unique(cls, pools: list[Pool]) -> list[Pool]:
        rules.no_repeats([p.name for p in pools])
        if any(p.name == SYSTEM for p in pools):
            raise ValueError(f"{SYSTEM!r} is the system pool's name (set it in `system_pool:`)")
        return pools


def version_field(cloud: str) -> Any:
    from mlstack.versions import MANAGED_KUBERNETES

    return Field(default=MANAGED_KUBERNETES[cloud], pattern=r"^1\.\d{2}$", description="Kubernetes version, pinned.")


@dataclass(frozen=True)
class Scheduling:
    """How a pod lands on a pool: the node selector, the tolerations and the GPUs it asks for."""

    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: tuple[dict[str, str], ...] = ()
    gpus: int = 0
    resource: str = GPU_RESOURCE

    def pod(self) -> dict[str, Any]:
        """The pod spec fields (empty where the pod may run anywhere)."""
        spec: dict[str, Any] = {}
        if self.node_selector:
            spec["node_selector"] = dict(self.node_selector)
        if self.tolerations:
            spec["tolerations"] = [dict(t) for t in self.tolerations]
        return spec


def scheduling(pool: Pool | None) -> Scheduling:
    if pool is None:
        return Scheduling()
    if pool.gpu is None:
        return Scheduling({POOL_LABEL: pool.name})
    toleration = {"key": GPU_TAINT["key"], "operator": "Exists", "effect": GPU_TAINT["effect"]}
    return Scheduling({POOL_LABEL: pool.name}, (toleration,), pool.gpu.count)


class CloudAccess(Protocol):
    """The cloud's side of a stack on a managed cluster: its object store and registry, made under the cluster's own
    cloud provider, whose consumers reach them keylessly (the store's outputs bind a service account to an identity
    scoped to its buckets; the nodes pull the registry with their own identity). Each returns (outputs, client)."""

    def object_store(self, name: str, settings: Any, context: Any, parent: Any) -> tuple[Any, Any]: ...

    def registry(self, name: str, settings: Any, context: Any, parent: Any) -> tuple[Any, Any]: ...


@dataclass(frozen=True)
class ClusterAccess:
    """What a managed cluster's resources hand the stack: the in-cluster objects' way in and what they wait for."""

    kubeconfig: Any  # Output[str]: one context, the cloud CLI's exec credential plugin (no token in it)
    ready: list[Any]  # the node pools: workloads need nodes to become ready
    oidc_issuer: Any  # Output[str]: the issuer the stack's workload identities federate with
    # the StorageClass the stack's volumes use, where the cluster has no default of its own (EKS): its spec fields
    storage_class: dict[str, Any] | None = None
    cloud: CloudAccess | None = None  # the cloud's object store, registry and workload identities
    # the cluster's own in-cluster parts (EKS' cluster autoscaler), declared with the stack's Kubernetes provider:
    # (options carrying that provider) -> None
    in_cluster: Any = None


class ManagedProvisioner(ClusterProvisioner):
    """A cluster the stack's own program creates in a cloud: its resources come before every in-cluster object
    (the stack's Kubernetes provider is made from the cluster's kubeconfig output), so a destroy deletes the
    workloads first and the cluster last, and with the cluster the volumes of the stack's data: a destroy asks for
    --purge. The kubeconfig authenticates through the cloud CLI's exec credential plugin, never a static token."""

    exposure = "port_forward"
    registry_pull = "service"
    creates_cluster = True
    credentials_reason = "the stack creates the cluster and its kubeconfig"
    cloud: ClassVar[str]  # the engine plugin of the cloud's provider
    price_prefix: ClassVar[str]  # the cloud's name in the price snapshot's keys
    exec_tool: ClassVar[str]  # the credential plugin the kubeconfig runs
    exec_hint: ClassVar[str]  # how to install it
    default_machine: ClassVar[str]  # the system pool's machine type unless the recipe names one
    deletes_data = "the cluster, and with it the volumes of the stack's data (objects, images, runs, models)"

    def context(self, stack: str, placement: Any) -> str | None:
        return placement.context or f"mlstack-{stack}"  # the context `mlstack output --format kubeconfig` names

    def preflight(self, placement: Any, stack: str) -> Gate | None:
        """The kubeconfig's credential plugin (the cluster does not exist before the first deploy: nothing to ask)."""
        if not shutil.which(self.exec_tool):
            raise NotAvailableError(
                f"a {self.type} cluster's kubeconfig authenticates with `{self.exec_tool}`, which is not on PATH",
                hint=self.exec_hint,
            )
        return None

    def purge(self, placement: Any, stack: str) -> str | None:
        return None  # the engine's destroy deleted the cluster, the namespace and its volumes with it

    def doctor(self) -> list[Check]:
        found = shutil.which(self.exec_tool)
        return [
            (
                self.type,
                bool(found),
                f"{self.exec_tool} found" if found else f"for `cluster: {{type: {self.type}}}`: {self.exec_hint}",
            )
        ]

    def pools(self, placement: Any) -> dict[str, Pool]:
        """Every pool of the cluster by name, the system pool (`system`) first."""
        spec = placement.cluster
        system = spec.system_pool
        first = Pool(
            name=SYSTEM,
            machine_type=system.machine_type or self.default_machine,
            min=system.min,
            max=system.max,
            disk_gb=system.disk_gb,
        )
        return {p.name: p for p in (first, *spec.pools)}

    builder: ClassVar[str]  # "module:function" declaring the cluster's resources (Pulumi; components/kubernetes/cloud/)

    def build(self, stack: str, placement: Any, tags: dict[str, str]) -> ClusterAccess:
        import importlib

        module, _, function = self.builder.partition(":")
        built: ClusterAccess = getattr(importlib.import_module(module), function)(self, stack, placement, tags)
        return built

    def cost_lines(self, placement: Any, pricing: Any) -> list[Any]:
        """The control plane and each pool (at min nodes, up to max; spot priced as spot), as `mlstack cost` lines
        of price keys `<cloud>.<type>.cluster_hour` and `<cloud>.<type>.node.<machine>[.spot]`: unpriced, and
        named, where the price snapshot lacks them."""
        hours = pricing.use("hours_up")
        prefix = f"{self.price_prefix}.{self.type}"
        lines = [pricing.line("cluster", "cluster", f"{self.type} control plane", f"{prefix}.cluster_hour", hours)]
        for pool in self.pools(placement).values():
            nodes = (pool.min * hours[0], pool.min * hours[1], pool.max * hours[2])
            key = f"{prefix}.node.{pool.machine_type}" + (".spot" if pool.spot else "")
            what = f"pool {pool.name}: {pool.min}-{pool.max} x {pool.machine_type}" + (" (spot)" if pool.spot else "")
            lines.append(pricing.line("cluster", f"pool-{pool.name}", what, key, nodes))
        return lines

    def tolerations(self, pool: Pool) -> tuple[dict[str, str], ...]:
        """Tolerations of the taints the cloud itself puts on a pool's nodes (AKS' spot taint)."""
        return ()

    def gpu_pools(self, placement: Any) -> tuple[list[str], list[dict[str, str]]]:
        """The GPU pools' names, and the tolerations a pod on every one of them needs (their taints)."""
        pools = [p for p in self.pools(placement).values() if p.gpu]
        tolerations = [t for p in pools for t in scheduling(p).tolerations + self.tolerations(p)]
        unique = [dict(t) for t in dict.fromkeys(tuple(sorted(t.items())) for t in tolerations)]
        return [p.name for p in pools], unique

    def scheduling(self, placement: Any, pool: str | None) -> Scheduling | None:
        found = self.pools(placement).get(pool) if pool else None
        if found is None:
            return None
        placed = scheduling(found)
        return replace(placed, tolerations=placed.tolerations + self.tolerations(found))


def kubeconfig(name: str, server: str, ca_data: str, command: str, args: list[str], extra: dict[str, Any]) -> str:
    """A kubeconfig (JSON, which is YAML) with one context, `name`, authenticating through an exec credential plugin."""
    import json

    user: dict[str, Any] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": command,
            "args": args,
            "interactiveMode": "Never",
            **extra,
        }
    }
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
            "users": [{"name": name, "user": user}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
        },
        indent=2,
    )


def allow_list(cidrs: list[str], what: str) -> None:
    """The policy suite's check of an allow-list: what the recipe's validation allows (never the internet)."""
    try:
        rules.allowed_networks(list(cidrs))
    except ValueError as exc:
        raise PolicyViolation(f"{what}: {exc}") from None
