"""The kubernetes target's hooks: what it does around the engine, for whichever provisioner provides the cluster
(components/kubernetes/clusters/) — preflight, prepare, `destroy --purge` (delete what destroy kept, after the
engine's destroy, so a purge never runs an update and works after an earlier plain destroy too) and `doctor` (the
current context's API server answers in 5 s, and each provisioner's own checks) — and around the program: its
manifests (`render`), port forwards (`connect`) and the NetworkPolicies between components (`finish`).

Modules that import Pulumi or the Kubernetes client are imported when their hook runs: preflight stays fast."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from mlstack.components.kubernetes import clusters
from mlstack.components.kubernetes.settings import KubernetesTarget
from mlstack.errors import MlstackError
from mlstack.registry import Gate, SharedStack, TargetHooks


class KubernetesHooks(TargetHooks):
    def preflight(self, placement: KubernetesTarget, stack: str) -> Gate | None:
        return clusters.of(placement).preflight(placement, stack)

    def inputs(self, placement: KubernetesTarget, components: dict[str, Any]) -> None:
        """A mirror directory holds the charts the flavors install in the stack, and the rendered manifests they
        apply (those come from a mirror directory only): exit 3 naming what is missing, before the engine starts."""
        from mlstack.components.kubernetes import addons
        from mlstack.registry import lookup

        flavors = [lookup("kubernetes", kind, spec.flavor) for kind, spec in components.items()]
        addons.check_charts([chart for f in flavors if f is not None for chart in f.charts], addons.mirror())
        addons.check_manifests([m for f in flavors if f is not None for m in f.manifests], addons.mirror())

    def prepare(
        self,
        placement: KubernetesTarget,
        stack: str,
        components: dict[str, Any],
        work_dir: Path,
        emit: Callable[[str], None],
    ) -> None:
        clusters.of(placement).prepare(placement, stack, components, work_dir, emit)

    def purge(self, placement: KubernetesTarget, stack: str) -> str | None:
        return clusters.of(placement).purge(placement, stack)

    def shared(
        self, placement: KubernetesTarget, stack: str, needs: tuple[str, ...], leaving: bool
    ) -> SharedStack | None:
        """The cluster's add-ons stack. Who uses what is read from the cluster: each stack's namespace carries
        `addons.mlstack.dev/<name>` = "true" for an add-on mlstack installed for it, "existing" for one its recipe
        says the cluster runs (`target.existing_addons`, whose CRDs a deploy checks first)."""
        from mlstack.components.kubernetes import access, addons
        from mlstack.components.kubernetes import naming as n

        mine = addons.managed(needs, placement.existing_addons)
        if not mine and not (not leaving and placement.existing_addons):
            return None  # nothing of this stack's to add, remove or check
        provisioner = clusters.of(placement)
        identity = provisioner.identity(stack, placement)
        if leaving and provisioner.purge_deletes_cluster and identity:  # the purge deleted the cluster: no API
            return SharedStack(addons.stack_name(identity), lambda held, outputs: ((), _nothing), gone=True)
        cluster = access.connect(clusters.context_of(stack, placement))
        if not leaving:
            _check_existing(cluster, needs, placement.existing_addons)
            if not mine:
                return None
        own = (stack, n.namespace_of(stack, placement))
        found = access.addon_users(cluster, [a.label for a in addons.addons().values()])
        users = {user: used for user, used in found.items() if user != own}
        used = {name.removeprefix(addons.LABEL) for u in users.values() for name, how in u.items() if how == "true"}
        context, mirror = cluster.context, addons.mirror()

        def plan(held: tuple[str, ...], outputs: dict[str, Any]) -> tuple[tuple[str, ...], Callable[[], None]]:
            # a deploy adds this stack's and removes nothing; a purge keeps what others use of what this state
            # holds (an add-on another state installed is that state's to keep or remove)
            keep = {a.name for a in mine} | set(held) if not leaving else used & set(held)
            # what a kept add-on needs stays while this state holds it (another stack's `existing` says nothing
            # of what mlstack installed here)
            keep |= {a.name for a in addons.ordered(keep)} & set(held)
            order = [a for a in addons.ordered(keep) if a.name in keep]
            if not leaving:
                _refuse_adopting(cluster, [a for a in order if a.name not in held])
            # what an add-on applied from a rendered manifest is kept in the stack's outputs: an add-on it holds
            # needs no render in this machine's mirror (another stack's deploy, a purge), only a new one does
            applied = outputs.get(addons.APPLIED_OUTPUT) or {}
            addons.check_mirror(order, mirror, applied)

            def program() -> None:
                from mlstack.components.kubernetes import addon_stack

                addon_stack.build(context, order, mirror, applied)

            return tuple(a.name for a in order), program

        return SharedStack(
            name=addons.stack_name(identity or cluster.server),
            plan=plan,
            users=tuple(sorted(f"{s} (namespace {ns})" for s, ns in users)),
        )

    def drift_ignores(self, placement: KubernetesTarget) -> dict[str, tuple[str, ...]]:
        return dict(clusters.of(placement).DRIFT_IGNORES)  # a created cluster's pool sizes, set by its autoscaler

    def health(self, placement: KubernetesTarget, stack: str) -> list[tuple[str, str]]:
        from mlstack.components.kubernetes import access
        from mlstack.components.kubernetes import naming as n

        cluster = access.connect(clusters.context_of(stack, placement))
        return access.unfinished_rollouts(cluster, n.namespace_of(stack, placement), stack)

    def render(self, plan: Any) -> dict[str, str]:
        from mlstack.components.kubernetes import addons, manifests
        from mlstack.registry import flavors_for

        # what a flavor applies from a rendered manifest (KFP's) is rendered only from the mirror: MANIFESTS.md says
        # what is missing without it, and how to get it
        types = {r.type for r in plan.resources}
        needed = [
            m
            for f in flavors_for("kubernetes")
            if f.manifests and getattr(f.load(), "TYPE", None) in types
            for m in f.manifests
        ]
        missing = [m for m in needed if addons.manifest_path(m, addons.mirror()) is None]
        return manifests.render(plan, missing)

    def doctor(self, fix: bool = False) -> list[tuple[str, bool, str]]:
        from mlstack.components.kubernetes import access
        from mlstack.components.kubernetes.addons import charts

        checks: list[tuple[str, bool, str]] = []
        try:
            cluster = access.connect(None)
        except MlstackError as exc:
            checks.append(("context", False, exc.message))
        else:
            checks.append(("context", True, f"{cluster.context}: {cluster.server} answers"))
        for provisioner in clusters.provisioners():
            checks += provisioner.doctor()
        return checks + charts.checks(fix)

    def connect(
        self, placement: KubernetesTarget, stack: str, components: dict[str, dict[str, Any]]
    ) -> AbstractContextManager[dict[str, dict[str, Any]]]:
        from mlstack.components.kubernetes import connect

        return connect.forwarded(placement, stack, components)

    check_names = ("kserve",)

    def checks(
        self, placement: KubernetesTarget, stack: str, components: dict[str, dict[str, Any]]
    ) -> dict[str, Callable[[Any, dict[str, str]], str]]:
        def kserve(client: Any, secrets: dict[str, str]) -> str:
            from mlstack.components.kubernetes import kserve_check  # Pulumi's Kubernetes SDK: only when it runs

            return kserve_check.check(placement, stack, components)(client, secrets)

        return {"kserve": kserve}

    def finish(self, platform: Any, components: dict[str, Any], wiring: dict[str, tuple[str, ...]]) -> None:
        from mlstack.components.kubernetes import network

        network.finish(platform, components, wiring)


HOOKS = KubernetesHooks()


def _nothing() -> None:
    return None


def _check_existing(cluster: Any, needs: tuple[str, ...], existing: list[str]) -> None:
    """The add-ons the recipe says the cluster runs serve their CRDs (exit 4 naming the missing ones)."""
    from mlstack.components.kubernetes import access, addons
    from mlstack.errors import CredentialsError

    there = [a for a in addons.ordered(needs, existing) if a.name in existing]
    missing = access.missing_crds(cluster, [crd for a in there for crd in a.crds])
    if missing:
        raise CredentialsError(
            f"target.existing_addons: the cluster of context {cluster.context!r} does not serve " + ", ".join(missing),
            hint="install those add-ons on the cluster first, or remove them from existing_addons so that mlstack "
            "installs them",
        )


def _refuse_adopting(cluster: Any, new: list[Any]) -> None:
    """An add-on this state does not hold yet but any of whose CRDs the cluster serves was installed by someone else
    (or by mlstack from another state backend; Argo Workflows installed on its own has some of KFP's): installing it
    would take those objects over (server-side apply), and a purge would delete them, and every object of their
    kinds. Refused, exit 2, naming it and the CRDs."""
    from mlstack.components.kubernetes import access
    from mlstack.errors import UsageError

    there = {}
    for addon in new:
        served = sorted(set(addon.crds) - set(access.missing_crds(cluster, list(addon.crds))))
        if served:
            there[addon.name] = served
    if there:
        raise UsageError(
            f"target.existing_addons: {', '.join(there)} already runs on the cluster of context {cluster.context!r} "
            f"(it serves {', '.join(c for crds in there.values() for c in crds)}), installed by someone else or from "
            "another state backend; mlstack does not take it over",
            hint=f"add {', '.join(there)} to target.existing_addons (mlstack then checks it and leaves it alone)",
        )
