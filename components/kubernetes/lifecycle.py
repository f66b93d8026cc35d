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
        """The cluster's add-ons stack: what this stack needs (unless it is leaving) and what the other stacks'
        namespaces say they use, less what the recipe says the cluster already runs (whose CRDs must be there)."""
        from mlstack.components.kubernetes import access, addons
        from mlstack.components.kubernetes import naming as n
        from mlstack.errors import CredentialsError

        if not needs:
            return None
        cluster = access.connect(clusters.context_of(stack, placement))
        existing = [a for a in addons.ordered(needs, placement.existing_addons) if a.name in placement.existing_addons]
        if not leaving and existing:
            missing = access.missing_crds(cluster, [crd for a in existing for crd in a.crds])
            if missing:
                raise CredentialsError(
                    f"target.existing_addons: the cluster of context {cluster.context!r} does not serve "
                    + ", ".join(missing),
                    hint="install those add-ons on the cluster first, or remove them from existing_addons so that "
                    "mlstack installs them",
                )
        mine = addons.managed(needs, placement.existing_addons)
        if not mine:
            return None  # all of it is the cluster's own: nothing of this stack's to add or remove
        own = (stack, n.namespace_of(stack, placement))
        users = {
            user: used
            for user, used in access.addon_users(cluster, [a.label for a in addons.addons().values()]).items()
            if user != own
        }
        wanted = {label.removeprefix(addons.LABEL) for used in users.values() for label in used}
        if not leaving:
            wanted |= {a.name for a in mine}
        # exactly what the namespaces say (an add-on another stack's recipe says its cluster runs is not added)
        order = [a for a in addons.ordered(wanted) if a.name in wanted]
        mirror = addons.mirror()
        addons.check_mirror(order, mirror)
        context = cluster.context

        def program() -> None:
            from mlstack.components.kubernetes.addons import program as addon_program

            addon_program.build(context, order, mirror)

        return SharedStack(
            name=addons.stack_name(cluster.server),
            program=program,
            wanted=tuple(a.name for a in order),
            users=tuple(sorted(f"{s} (namespace {ns})" for s, ns in users)),
        )

    def health(self, placement: KubernetesTarget, stack: str) -> list[tuple[str, str]]:
        from mlstack.components.kubernetes import access
        from mlstack.components.kubernetes import naming as n

        cluster = access.connect(clusters.context_of(stack, placement))
        return access.unfinished_rollouts(cluster, n.namespace_of(stack, placement), stack)

    def render(self, plan: Any) -> dict[str, str]:
        from mlstack.components.kubernetes import manifests

        return manifests.render(plan)

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

    def finish(self, platform: Any, components: dict[str, Any], wiring: dict[str, tuple[str, ...]]) -> None:
        from mlstack.components.kubernetes import network

        network.finish(platform, components, wiring)


HOOKS = KubernetesHooks()
