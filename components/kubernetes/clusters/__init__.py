"""Cluster provisioners: who provides the kubernetes target's cluster, one module per type in this package.

A provisioner module defines its recipe block (`Spec`, a model with `type: Literal["<type>"]`) and `PROVISIONER`,
an instance of a `ClusterProvisioner` subclass. Modules are discovered, never listed: the target's `cluster:`
union, its aliases, its lifecycle hooks (preflight, prepare, purge, doctor) and the way components expose services
and pull images all come from here, so a new cluster type (eks, gke, aks) is its module and its tests.

Declaration-level: importing this package imports neither Pulumi nor the Kubernetes client (the recipe layer reads
it); what a hook needs of them is imported when the hook runs.
"""

from __future__ import annotations

import builtins
import importlib
import pkgutil
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Literal

from mlstack.components.kubernetes.naming import namespace_of
from mlstack.recipe.base import UserModel

Gate = Callable[[], None]  # waits for a check running in the background and raises what it raised
Check = tuple[str, bool, str]  # (what, ok, detail) as `mlstack doctor` prints it


class ClusterProvisioner:
    """What one cluster type provides. Class attributes are declarations; methods run around the engine.

    Every hook takes the typed placement (the recipe's `target:` block) and the stack's name."""

    type: ClassVar[str]
    spec: ClassVar[builtins.type[UserModel]]  # the recipe's `cluster:` block for this type
    summary: ClassVar[str]
    alias: ClassVar[str | None] = None  # a short `target:` name standing for `{type: kubernetes, cluster: {type}}`
    # How this machine reaches the stack's services: node ports the cluster maps to 127.0.0.1, or `mlstack connect`
    # (kubectl port-forward) where the services stay cluster-internal.
    exposure: ClassVar[Literal["node_ports", "port_forward"]] = "port_forward"
    # How nodes pull the stack's registry: by `localhost:<port>` (the name images are pushed under from this
    # machine, which the nodes resolve to the registry's node port), or by the registry's Service address.
    registry_pull: ClassVar[Literal["node_localhost", "service"]] = "service"
    plugins: ClassVar[tuple[str, ...]] = ("kubernetes",)  # engine plugins a stack on this cluster needs
    keeps: ClassVar[str] = ""  # what destroy leaves besides the namespace, until `destroy --purge`
    credentials_reason: ClassVar[str | None] = None  # why no kubeconfig is needed before deploy (None: it is)
    purge_deletes_cluster: ClassVar[bool] = False  # `destroy --purge` deletes the cluster itself (kind)
    creates_cluster: ClassVar[bool] = False  # the stack's program creates the cluster (its cloud resources)
    # what a plain destroy deletes that holds data (the destroy then asks for --purge); "": it deletes none
    deletes_data: ClassVar[str] = ""
    # the policy suite's rules for the resources of a cluster of this type ((plan, recipe) -> None, raising)
    RULES: ClassVar[tuple[Callable[[Any, Any], None], ...]] = ()

    def identity(self, stack: str, placement: Any) -> str | None:
        """A name of the cluster that outlives its API server's address (kind's cluster name: a recreated kind
        cluster listens elsewhere); None: the API server's address names it."""
        return None

    def context(self, stack: str, placement: Any) -> str | None:
        """The kubeconfig context the stack's provider and preflight use (None: the current one)."""
        return placement.context

    def storage_class(self, placement: Any) -> str | None:
        """The StorageClass of the stack's volumes: the recipe's, else the cluster's default (None)."""
        return placement.storage_class

    def preflight(self, placement: Any, stack: str) -> Gate | None:
        """Before the engine: raise for what the machine or the cluster lacks (exit 3 or 4); a slow check may run
        in the background and return a gate. By default: the cluster answers and the namespace is the stack's."""
        from mlstack.components.kubernetes import access

        return access.in_background(
            access.preflight, self.context(stack, placement), namespace_of(stack, placement), stack
        )

    def prepare(
        self, placement: Any, stack: str, components: dict[str, Any], work_dir: Path, emit: Callable[[str], None]
    ) -> None:
        """Before a deploy's engine run: make the cluster exist (nothing to do for a cluster that already does)."""

    def purge(self, placement: Any, stack: str) -> str | None:
        """`destroy --purge`: delete what destroy kept (the namespace with its volumes); what was deleted, or None."""
        from mlstack.components.kubernetes import access

        cluster = access.connect(self.context(stack, placement))
        namespace = namespace_of(stack, placement)
        if access.delete_namespace(cluster, namespace, stack, placement.delete_timeout_s):
            return f"namespace {namespace} and its volumes"
        return None

    def doctor(self) -> list[Check]:
        """What `mlstack doctor` checks on this machine for this cluster type."""
        return []

    def build(self, stack: str, placement: Any, tags: dict[str, str]) -> Any:
        """In the stack's program, before any in-cluster object: declare the cluster's own resources and return
        its ClusterAccess (clusters/_managed.py); None: the cluster is not the stack's (reached by a context)."""
        return None

    def pools(self, placement: Any) -> dict[str, Any]:
        """The node pools the stack's components may ask for by name (a cluster the stack creates declares them)."""
        return {}

    # NVIDIA's device plugin is mlstack's to install on the GPU pools (a cloud that installs only the driver)
    device_plugin: ClassVar[bool] = False

    def gpu_pools(self, placement: Any) -> tuple[list[str], list[dict[str, str]]]:
        """The GPU pools' names, and the tolerations a pod on every one of them needs (none: no pools declared)."""
        return [], []

    def node_agents(self, placement: Any) -> tuple[str, ...]:
        """What mlstack runs in kube-system of this cluster (the policy suite's node-agent rule expects exactly it):
        NVIDIA's device plugin where it installs it and there are GPU pools."""
        return ("nvidia-device-plugin",) if self.device_plugin and self.gpu_pools(placement)[0] else ()

    # the target of the cloud the cluster is made in (its store and registry flavors are the kubernetes target's too)
    cloud_target: ClassVar[str] = ""
    # the resource types of the cloud's own store and registry flavors, priced by that target's cost rules
    STORAGE_TYPES: ClassVar[tuple[str, ...]] = ()
    STORAGE_RULES: ClassVar[tuple[str, ...]] = ()  # that target's policy rules that hold them too
    # (CIDR, port) outside the cluster network a pod may reach by address (GKE's metadata server: Workload Identity
    # tokens); none elsewhere: on EKS and AKS that address is the instance metadata, the node's own credentials
    IP_BLOCKS: ClassVar[tuple[tuple[str, int], ...]] = ()
    # the cloud's managed PostgreSQL beside the cluster (tracking `database: managed`): its resource type and how its
    # tiers are spelled (pattern, example); None: this cluster has none (its cloud side makes none yet)
    DATABASE: ClassVar[tuple[str, str, str] | None] = None
    # resource type -> the output fields its cloud moves itself (a pool's node count under the autoscaler): `drift`
    # does not report them, and the program leaves them to the cloud after creation (ignore_changes)
    DRIFT_IGNORES: ClassVar[dict[str, tuple[str, ...]]] = {}

    def ip_blocks(self, plan: Any) -> tuple[tuple[str, int], ...]:
        """The (CIDR, port) a pod of a stack on this cluster may reach by address: IP_BLOCKS."""
        return self.IP_BLOCKS

    def database_blocks(self, plan: Any) -> tuple[tuple[str, int], ...]:
        """The (CIDR, port) MLflow's pods alone may reach besides: the private address of each managed database the
        plan has."""
        if self.DATABASE is None:
            return ()
        typ, address = self.DATABASE[0], self.database_address
        return tuple((f"{r.inputs[address]}/32", 5432) for r in plan.of_type(typ))

    database_address: ClassVar[str] = ""  # the output of DATABASE's type that holds its private address

    def database_problems(self, placement: Any, settings: Any) -> list[tuple[str, str]]:
        """(tracking's field, why) where the cluster's settings leave no place for the managed database, or the
        tracking settings ask for one the cloud does not make ([]: all is well)."""
        return []

    def cloud_cost(self, plan: Any, pricing: Any) -> list[Any]:
        """The lines of the cloud's store and registry (s3, ecr) in the plan, by the cloud target's own rules."""
        from mlstack import registry
        from mlstack.cost.estimate import component_of

        if not self.STORAGE_TYPES:
            return []
        rules = registry.target(self.cloud_target).cost_module().rules(plan)
        return [
            line
            for r in plan.resources
            if r.type in self.STORAGE_TYPES
            for line in rules[r.type](r, pricing, component_of(plan, r))
        ]

    def cost_lines(self, placement: Any, pricing: Any) -> list[Any] | None:
        """`mlstack cost` lines of a cluster the stack creates (mlstack/cost/estimate.py: Line); None: not its."""
        return None

    def offline_attributes(self, typ: str, name: str, inputs: dict[str, Any], placement: Any) -> dict[str, Any]:
        """What the offline plan's mocks answer for a cloud resource `build` declares (see engine/offline.py)."""
        return {}

    def offline_call(self, placement: Any, token: str, args: dict[str, Any]) -> dict[str, Any]:
        """What the offline plan's mocks answer for a data source (`token`, `args`) `build` calls (a project's
        number)."""
        return {}

    def scheduling(self, placement: Any, pool: str | None) -> Any:
        """How a pod asking for node pool `pool` is scheduled (a Scheduling of clusters/_managed.py), None: as
        the cluster places it (no pools are declared by this cluster type)."""
        return None


@cache
def provisioners() -> tuple[ClusterProvisioner, ...]:
    """Every provisioner module of this package, `existing` first (the default), the rest by name."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: (m.name != "existing", m.name)):
        if info.name.startswith("_"):
            continue  # shared by provisioner modules (_managed.py), not one
        module = importlib.import_module(f"{__name__}.{info.name}")
        provisioner = getattr(module, "PROVISIONER", None)
        if not isinstance(provisioner, ClusterProvisioner):
            raise RuntimeError(f"components/kubernetes/clusters/{info.name}.py defines no PROVISIONER")
        found.append(provisioner)
    return tuple(found)


def of(placement: Any) -> ClusterProvisioner:
    """The provisioner of a typed kubernetes placement."""
    for provisioner in provisioners():
        if provisioner.type == placement.cluster.type:
            return provisioner
    raise LookupError(placement.cluster.type)


def context_of(stack: str, placement: Any) -> str | None:
    return of(placement).context(stack, placement)
