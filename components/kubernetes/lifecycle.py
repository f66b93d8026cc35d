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
from mlstack.registry import Gate, TargetHooks


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

    def health(self, placement: KubernetesTarget, stack: str) -> list[tuple[str, str]]:
        from mlstack.components.kubernetes import access
        from mlstack.components.kubernetes import naming as n

        cluster = access.connect(clusters.context_of(stack, placement))
        return access.unfinished_rollouts(cluster, n.namespace_of(stack, placement), stack)

    def render(self, plan: Any) -> dict[str, str]:
        from mlstack.components.kubernetes import manifests

        return manifests.render(plan)

    def doctor(self) -> list[tuple[str, bool, str]]:
        from mlstack.components.kubernetes import access

        checks: list[tuple[str, bool, str]] = []
        try:
            cluster = access.connect(None)
        except MlstackError as exc:
            checks.append(("context", False, exc.message))
        else:
            checks.append(("context", True, f"{cluster.context}: {cluster.server} answers"))
        for provisioner in clusters.provisioners():
            checks += provisioner.doctor()
        return checks

    def connect(
        self, placement: KubernetesTarget, stack: str, components: dict[str, dict[str, Any]]
    ) -> AbstractContextManager[dict[str, dict[str, Any]]]:
        from mlstack.components.kubernetes import connect

        return connect.forwarded(placement, stack, components)

    def finish(self, platform: Any, components: dict[str, Any], wiring: dict[str, tuple[str, ...]]) -> None:
        from mlstack.components.kubernetes import network

        network.finish(platform, components, wiring)


HOOKS = KubernetesHooks()
