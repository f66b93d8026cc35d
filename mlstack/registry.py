"""The one registry of what mlstack can build: targets, and per target (kind, flavor) -> implementation.

A target is one package, `components/<target>/` (installed as `mlstack.components.<target>`). Its `target.py`
declares everything mlstack knows about it as data — placement model, what it needs from the machine, its flavors
with their settings, naming rules, ZenML and verify hints — and names by import path the modules that build
resources (assembly, components), fake its provider in the offline plan and hold its policy rules. Reading the
registry therefore imports neither Pulumi nor a cloud SDK.

Validation, `doctor`, the JSON Schema, the README's support table and error hints are all computed from here;
central modules iterate over targets and never branch on one. Adding a target is one line in `TARGET_PACKAGES`.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypedDict, get_args

from pydantic import BaseModel

Kind = Literal["object_store", "registry", "tracking", "orchestrator", "serving"]
KINDS: tuple[str, ...] = get_args(Kind)

# One line per target: the package under components/ that declares it (in the order docs and `doctor` list them).
TARGET_PACKAGES: tuple[str, ...] = ("local", "aws", "gcp", "azure", "kubernetes")

Problems = list[tuple[str, str]]  # (field, rule broken), the field relative to the component

# Flavors mlstack declines to offer, and why (the support table says it): (kind, flavor, reason).
DECLINED: tuple[tuple[str, str, str], ...] = (
    (
        "serving",
        "seldon",
        "Seldon Core v1 and v2 are under the Business Source License 1.1 since 2024: production use needs a "
        "commercial licence. `kserve` serves the same V2 protocol with MLServer (Apache-2.0), which Seldon runs "
        "models with; `mlstack import mlstacks` maps Seldon to it",
    ),
)


@dataclass(frozen=True)
class Unsupported:
    """Something a flavor cannot do, as data with the reason (shown by `verify` and `doctor`)."""

    reason: str


class SdkNeeds(TypedDict):
    """What every flavor of a cloud target shares: its SDK module and how to install it (splatted into Flavor)."""

    requires: tuple[str, ...]
    install_hint: str


@dataclass(frozen=True)
class Flavor:
    target: str
    kind: str
    name: str
    settings: type[BaseModel]
    component: str  # "module:Class" of the Pulumi ComponentResource
    summary: str
    requires: tuple[str, ...] = ("pulumi",)  # Python modules
    runtimes: tuple[str, ...] = ()  # service runtimes (mlstack.versions.RUNTIMES), installed on first deploy
    install_hint: str = "reinstall mlstack with its extras: `make install`"
    needs: tuple[str, ...] = ()  # other kinds the recipe must have for this flavor
    # kind -> (the flavors of it this flavor works with, why): e.g. Airflow's S3 connection takes keys
    only_with: dict[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)
    uses: tuple[str, ...] = ()  # other kinds it is wired to when the recipe has them (build order follows)
    deletes_data: str = ""  # what `destroy` deletes with its contents (then it asks for --purge); "" = nothing
    problems: Callable[[Any, str, Any], Problems] | None = None  # (settings, stack, typed placement) -> rules broken
    # (its settings, the recipe's components' settings by kind) -> rules broken that another component's settings
    # decide (its fields named): e.g. Airflow keeps its metadata in the tracking component's in-cluster PostgreSQL
    alongside: Callable[[Any, dict[str, Any]], Problems] | None = None
    # what the flavor does without a kind it `uses` (kind -> said by validate and deploy), e.g. local MLflow keeps
    # artifacts on disk when the recipe has no object store
    without: dict[str, str] = field(default_factory=dict)
    zenml: str | None = None  # ZenML flavor of the same stack component (None: ZenML has none)
    zenml_config: Callable[[Any], dict[str, Any]] | None = None  # typed client -> ZenML component configuration
    zenml_extra: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # ZenML components it needs
    verify: str | Unsupported = Unsupported("no check written for this flavor")  # a check of mlstack.clients.verify
    shared: tuple[str, ...] = ()  # what its target installs once per placement for it (a cluster's add-ons)
    charts: tuple[str, ...] = ()  # Helm charts it installs in the stack (mlstack.versions.CHARTS keys)
    manifests: tuple[str, ...] = ()  # rendered manifests it applies from the mirror (mlstack.versions.MANIFESTS keys)

    def wired_to(self) -> tuple[str, ...]:
        """Kinds this flavor takes outputs from: what it needs and what it uses when present."""
        return tuple(dict.fromkeys(self.needs + self.uses))

    def missing(self) -> list[str]:
        """Python modules this installation lacks for the flavor; checked without importing anything."""
        return [f"Python module {m}" for m in self.requires if importlib.util.find_spec(m) is None]

    def load(self) -> type:
        return _load(self.component)


@dataclass(frozen=True)
class PluginNeed:
    """A Pulumi provider plugin the engine needs, at the version of its Python SDK."""

    plugin: str  # engine plugin name (resource-<plugin>-v<version>)
    provider_module: str  # Python SDK of the provider: the engine asks for the plugin at its version
    pinned_extra: str  # pip extra that installs the SDK


@dataclass(frozen=True)
class TargetNeeds:
    """What a target needs from the machine, read without calling a cloud: credentials and provider plugins."""

    credential_env: tuple[str, ...] = ()  # any one of these set counts as configured
    credential_files: tuple[str, ...] = ()  # any one of these existing counts as configured
    plugins: tuple[PluginNeed, ...] = ()  # every stack of the target needs these
    credentials_unless: Callable[[Any], str | None] | None = None  # typed placement -> why none are needed
    # typed placement -> names of further plugins that placement needs (a cluster on a cloud: that cloud's)
    more_plugins: Callable[[Any], tuple[str, ...]] | None = None

    def plugins_for(self, placement: BaseModel) -> tuple[PluginNeed, ...]:
        """The plugins a stack at this placement needs: the target's, then those the placement adds (each
        declared by the target whose own plugin it is)."""
        names = self.more_plugins(placement) if self.more_plugins else ()
        extra = tuple(need for name in names if (need := plugin_need(name)) not in self.plugins)
        return self.plugins + extra

    def credentials(
        self, environ: dict[str, str] | None = None, placement: BaseModel | None = None
    ) -> tuple[bool, str]:
        reason = self.credentials_unless(placement) if self.credentials_unless and placement is not None else None
        if reason:
            return True, reason
        if not self.credential_env and not self.credential_files:
            return True, "none needed"
        env = os.environ if environ is None else environ
        for name in self.credential_env:
            if env.get(name):
                return True, f"${name} is set"
        for name in self.credential_files:
            path = Path(os.path.expandvars(os.path.expanduser(name)))
            if path.exists():
                return True, f"{path} exists"
        return False, f"none of ${', $'.join(self.credential_env)} set, no {', '.join(self.credential_files)}"


Gate = Callable[[], None]  # waits for a check running in the background and raises what it raised


SHARED_OUTPUT = "shared"  # a shared stack's program exports what it holds under this name: {name: versions}


@dataclass(frozen=True)
class SharedStack:
    """What the stacks at one placement share (a cluster's add-ons), deployed once for all of them as a Pulumi stack
    of its own: the engine runs it before a stack's deploy, and after its `destroy --purge` (then it holds what the
    other stacks still use, or is destroyed when none uses anything)."""

    name: str  # its Pulumi stack (one per placement, e.g. per cluster)
    # (what it holds now, its outputs) -> (what it must hold, the program declaring that): a deploy never removes
    # what another stack may use; it may refuse (an add-on already there that this state does not hold)
    plan: Callable[[tuple[str, ...], dict[str, Any]], tuple[tuple[str, ...], Callable[[], None]]]
    users: tuple[str, ...] = ()  # the other stacks that use it
    gone: bool = False  # what it managed went with the placement (a purged kind cluster): only its state is left


class TargetHooks:
    """What a target does beyond declaring resources, each method optional (the defaults do nothing). A target
    package subclasses this in one of its modules and names the instance: `Target(hooks="module:HOOKS")`.
    Engine-time (mlstack/engine/operations.py) unless said otherwise; `placement` is the recipe's typed `target:`."""

    def preflight(self, placement: Any, stack: str) -> Gate | None:
        """Before preview, deploy, drift and destroy: raise for what the machine (exit 3) or the platform (exit 4)
        lacks; a slow check may run in the background and return a gate the engine's program waits for."""
        return None

    def inputs(self, placement: Any, components: dict[str, Any]) -> None:
        """Before every engine run that runs the program (preview, drift, deploy): raise (exit 3) for what the
        program reads from this machine and it lacks (a chart mirror's files)."""

    def prepare(
        self, placement: Any, stack: str, components: dict[str, Any], work_dir: Path, emit: Callable[[str], None]
    ) -> None:
        """Before a deploy's engine run (e.g. create a kind cluster)."""

    def purge(self, placement: Any, stack: str) -> str | None:
        """`destroy --purge`, after the engine's destroy: delete what destroy kept (never an update); what was
        deleted, or None when nothing was there."""
        return None

    def health(self, placement: Any, stack: str) -> list[tuple[str, str]]:
        """`drift` and `verify`: (component, what is wrong) where what runs is not what the state says (a rollout
        that did not finish leaves the previous pods serving); [] when all is as deployed."""
        return []

    def drift_ignores(self, placement: Any) -> dict[str, tuple[str, ...]]:
        """`drift`: resource type -> the output fields the platform itself moves (a node pool's size, which its
        autoscaler sets), dotted, `[*]` for every item of a list; a change of only those is not drift."""
        return {}

    def render(self, plan: Any) -> dict[str, str] | None:
        """`mlstack render`: the stack as the platform's own manifests, {file name: text}; None: it has none."""
        return None

    def doctor(self, fix: bool = False) -> list[tuple[str, bool, str]]:
        """What `mlstack doctor` checks on this machine for this target: (check, ok, detail); `fix`
        (`doctor --fix`): first fetch what can be fetched (a chart mirror's archives)."""
        return []

    def connect(
        self, placement: Any, stack: str, components: dict[str, dict[str, Any]]
    ) -> AbstractContextManager[dict[str, dict[str, Any]]] | None:
        """`mlstack connect` and `verify`: a context that reaches the stack's services from this machine and
        yields the client config at the local addresses; None: they are reachable as they are."""
        return None

    # the checks `checks` gives, by the name a flavor's `verify` names them (the contract test holds both to it)
    check_names: tuple[str, ...] = ()

    def checks(
        self, placement: Any, stack: str, components: dict[str, dict[str, Any]]
    ) -> dict[str, Callable[[Any, dict[str, str]], str]]:
        """`verify`: checks that act on the platform (KServe's deploys a model), beside mlstack.clients.verify's
        protocol checks and called like them, (client, secrets) -> what was checked; `components` is the client
        config as this machine reaches it (inside `connect`'s forwards)."""
        return {}

    def shared(self, placement: Any, stack: str, needs: tuple[str, ...], leaving: bool) -> SharedStack | None:
        """Before a deploy (`leaving` False) and after a purge (True): what the stacks at this placement share, for
        the flavors' `needs` of this stack (`Flavor.shared`); None when the placement shares nothing."""
        return None

    def finish(self, platform: Any, components: dict[str, Any], wiring: dict[str, tuple[str, ...]]) -> None:
        """Program-time, once every component is built: what spans components (the kubernetes target's
        NetworkPolicies). `wiring`: kind -> the kinds it is wired to."""


NO_HOOKS = TargetHooks()


@dataclass(frozen=True)
class Target:
    name: str
    placement: type[BaseModel]  # the recipe's `target:` block, discriminated by `type`
    summary: str
    flavors: tuple[Flavor, ...]
    needs: TargetNeeds = field(default_factory=TargetNeeds)
    assembly: str | None = None  # "module:function" (ctx) -> (ResourceOptions, platform); see stacks/program.py
    offline: str | None = None  # module with attributes(typ, name, inputs, placement) and call(placement)
    policy: str | None = None  # module with RULES: checks of the offline plan every recipe of this target passes
    aliases: dict[str, dict[str, Any]] = field(default_factory=dict)  # short `type:` names -> what they stand for
    # what `destroy` leaves in place (retained) unless --purge; a callable reads the placement (what exists there)
    keeps_on_destroy: str | Callable[[Any], str] = ""
    # (typed placement) -> what a plain destroy deletes that holds the stack's data ("" none): destroy asks --purge
    deletes_data: Callable[[Any], str] | None = None
    tag_problems: Callable[[dict[str, str]], Problems] | None = None  # (tag key, rule broken) for the platform
    hooks: str | None = None  # "module:NAME" of a TargetHooks instance (None: no hooks)
    # (typed placement, the flavors' `shared` needs) -> what a plan says of them (a cluster's add-ons, versions)
    shared_note: Callable[[Any, tuple[str, ...]], str] | None = None
    # module with estimate(plan, recipe, pricing) -> (Priced, notes), region(placement) and USES (the usage keys it
    # reads; None: all): `mlstack cost`
    cost: str | None = None
    # False: the target's resources that can drift look at what runs in their own diff (the local target's processes
    # and buckets), so deploy and preview skip the engine's refresh (`drift` still runs it), unless the state holds
    # an operation a killed run left pending or is not in a file backend (what it holds unknown without a CLI call)
    refresh: bool = True

    def cost_module(self) -> Any:
        return importlib.import_module(self.cost) if self.cost else None

    def lifecycle(self) -> TargetHooks:
        """The target's hooks (loaded on first use: they may import the platform's client)."""
        if self.hooks is None:
            return NO_HOOKS
        found = _load(self.hooks)
        if not isinstance(found, TargetHooks):
            raise TypeError(f"{self.hooks} is not a TargetHooks instance")
        return found

    def load_assembly(self) -> Callable[..., Any]:
        if self.assembly is None:
            raise LookupError(f"target {self.name} has no assembly")
        assembly: Callable[..., Any] = _load(self.assembly)
        return assembly

    def offline_module(self) -> Any:
        return importlib.import_module(self.offline) if self.offline else None

    def policy_rules(self, placement: Any = None) -> tuple[Callable[[Any, Any], None], ...]:
        """The rules ((plan, recipe), raising PolicyViolation) of every recipe of this target, and, given a typed
        placement, those of what it places the stack on (its policy module's `rules_for`: a cluster's)."""
        if not self.policy:
            return ()
        module = importlib.import_module(self.policy)
        more = module.rules_for(placement) if placement is not None and hasattr(module, "rules_for") else ()
        return (*module.RULES, *more)


def _load(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@cache
def _declared(package: str) -> Target:
    """One target's declaration, its package imported alone: a verb on one recipe loads only that recipe's target
    (a target may still import another whose flavors it offers beside its own, as kubernetes does the clouds')."""
    declared: Target = importlib.import_module(f"mlstack.components.{package}.target").TARGET
    if declared.name != package or any(f.target != package for f in declared.flavors):
        raise RuntimeError(f"components/{package}/target.py declares another target's name")
    return declared


def targets() -> tuple[Target, ...]:
    """Every registered target (imports them all: for what spans targets, such as docs, doctor and the schema)."""
    return tuple(_declared(package) for package in TARGET_PACKAGES)


def target(name: str) -> Target:
    if name in TARGET_PACKAGES:
        return _declared(name)
    raise KeyError(name)


def target_names() -> tuple[str, ...]:
    """The targets' names, which are their packages' (checked as each is imported)."""
    return TARGET_PACKAGES


def expand_alias(value: Any) -> Any:
    """A target's short form (`target: kind`, `{type: kind, ...}`) as the placement it stands for; other values
    unchanged. `target: local` is shorthand for `{type: local}`."""
    spec = {"type": value} if isinstance(value, str) else value
    if not isinstance(spec, dict):
        return value
    if spec.get("type") in TARGET_PACKAGES:  # a target's own name is never another's alias
        return spec
    for t in targets():
        if spec.get("type") in t.aliases:
            rest = {k: v for k, v in spec.items() if k != "type"}
            return {**t.aliases[spec["type"]], **rest}
    return spec


def plugin_need(name: str) -> PluginNeed:
    """The plugin of that name, as the target that uses it declares it."""
    for t in targets():
        for need in t.needs.plugins:
            if need.plugin == name:
                return need
    raise LookupError(f"no target declares the provider plugin {name!r}")


def alias_names() -> tuple[str, ...]:
    return tuple(a for t in targets() for a in t.aliases)


def all_flavors() -> tuple[Flavor, ...]:
    return tuple(f for t in targets() for f in t.flavors)


def lookup(target: str, kind: str, flavor: str) -> Flavor | None:
    return _index(target).get((kind, flavor)) if target in TARGET_PACKAGES else None


def flavors_for(target: str | None = None, kind: str | None = None) -> list[Flavor]:
    """Flavors of one target (only its package is imported) or of all, of one kind or all."""
    among = all_flavors() if target is None else _declared(target).flavors if target in TARGET_PACKAGES else ()
    return [f for f in among if kind is None or f.kind == kind]


def declared(target: str, name: str) -> dict[Any, Any]:
    """What the component modules of a target's flavors declare under `name` (a dict each), merged: the policy
    suite's and `render`'s per-flavor facts (pod spec paths, chart rules, Secret keys). Imports those modules, and so
    Pulumi: for the plan's readers only, never on the validation path."""
    found: dict[Any, Any] = {}
    for flavor in flavors_for(target):
        found.update(getattr(importlib.import_module(flavor.component.partition(":")[0]), name, {}))
    return found


def build_order(flavors: dict[str, Flavor]) -> list[str]:
    """The recipe's kinds, each after the kinds it is wired to (KINDS order among equals); flavors declare their
    wiring, so a new flavor needs no edit here. A cycle is a registry bug."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(kind: str) -> None:
        if kind in order:
            return
        if kind in visiting:
            raise RuntimeError(f"registry: flavors wired in a cycle through {kind}")
        visiting.add(kind)
        for dep in flavors[kind].wired_to():
            if dep in flavors:
                visit(dep)
        visiting.discard(kind)
        order.append(kind)

    for kind in sorted(flavors, key=KINDS.index):
        visit(kind)
    return order


@cache
def _index(target: str) -> dict[tuple[str, str], Flavor]:
    index: dict[tuple[str, str], Flavor] = {}
    for f in _declared(target).flavors:
        key = (f.kind, f.name)
        if key in index:
            raise RuntimeError(f"registry lists {(target, *key)} twice")
        index[key] = f
    return index
