"""Secure defaults every `kubernetes` recipe's offline plan must show (run by tests/test_policy.py on recipes/): the
objects `mlstack render` writes and a deploy applies are the same, so these rules hold for both."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from mlstack import registry
from mlstack.components.kubernetes import clusters
from mlstack.components.kubernetes import device_plugin as dp
from mlstack.components.kubernetes import naming as n
from mlstack.components.kubernetes import workload as w
from mlstack.components.kubernetes.clusters._managed import POOL_LABEL
from mlstack.policy import require

SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|CREDENTIAL", re.I)
CPU_MEMORY = {"cpu", "memory"}


@cache
def pod_specs() -> dict[str, tuple[str, ...]]:
    """Resource type -> the path to its pod spec: Kubernetes' own workloads, and the types each kubernetes flavor's
    module declares in its POD_SPECS (custom resources such as an InferenceService)."""
    return {**w.POD_SPECS, **registry.declared("kubernetes", "POD_SPECS")}


@cache
def pod_accounts() -> dict[str, str]:
    """Custom resource type -> the service account its pods run as, where its pod spec has no field for the token
    (KServe's ServingRuntime: the InferenceService names the account), from each flavor module's POD_ACCOUNTS."""
    return registry.declared("kubernetes", "POD_ACCOUNTS")


@cache
def chart_rules() -> dict[str, Any]:
    """Release name -> what a flavor module's CHART_RULES says of the values it gives that chart (problems, in
    words): the chart's objects are rendered at deploy time, so its pods are policed through those values."""
    return registry.declared("kubernetes", "CHART_RULES")


@cache
def manifest_rules() -> dict[str, Any]:
    """Manifest (versions.MANIFESTS key) -> what a flavor module's MANIFEST_RULES says of the objects it applies of
    it (problems, in words); the ConfigGroup that applies them is named `<component>-<manifest>`."""
    return registry.declared("kubernetes", "MANIFEST_RULES")


def _manifest_rule(resource: Any) -> Any:
    return manifest_rules().get(resource.name.partition("-")[2])  # `<component>-<manifest>`


def _node_agent(resource: Any) -> bool:
    """A node agent of the cluster's (NVIDIA's device plugin in kube-system): held to its own rule, not the
    stack's workload rules (it runs as root with one host path, which `restricted` refuses)."""
    return dp.NODE_AGENT in ((resource.inputs.get("metadata") or {}).get("labels") or {})


def _pods(plan, with_type: bool = False) -> Iterator[Any]:
    specs = pod_specs()
    for r in plan.resources:
        if r.type in specs and not _node_agent(r):
            pod: Any = r.inputs
            for key in specs[r.type]:
                pod = (pod or {}).get(key)
            require(isinstance(pod, dict), f"{r.name}: no pod spec at {'.'.join(specs[r.type])}")
            yield (r.name, pod, r.type) if with_type else (r.name, pod)


def _holds_containers(value: Any) -> bool:
    if isinstance(value, dict):
        return "containers" in value or any(_holds_containers(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_containers(v) for v in value)
    return False


def every_pod_spec_is_policed(plan, recipe) -> None:
    """A resource that carries containers is a workload the rules below must read: its type is declared (Kubernetes'
    own, or a flavor module's POD_SPECS), so no rule silently skips a custom resource's pods."""
    specs = pod_specs()
    for r in plan.resources:
        if r.type == n.HELM_CHART:
            require(r.inputs.get("name") in chart_rules(), f"{r.name}: chart {r.inputs.get('name')} has no rule")
        elif r.type == n.CONFIG_GROUP:
            require(_manifest_rule(r) is not None, f"{r.name}: manifests no rule reads")
        elif r.type.startswith("kubernetes:") and r.type not in specs:
            require(not _holds_containers(r.inputs), f"{r.name}: a {r.type} runs containers no rule reads")


def charts_keep_their_pods_restricted(plan, recipe) -> None:
    """A chart mlstack installs in the stack's namespace gets values under which every pod it renders is admitted by
    Pod Security `restricted`, exposes nothing, and reads its secrets by reference (the flavor's CHART_RULES)."""
    for r in plan.of_type(n.HELM_CHART):
        rule = chart_rules().get(r.inputs.get("name"))
        for problem in rule(r.inputs.get("values") or {}) if rule else []:
            require(False, f"{r.name}: {problem}")


def manifests_keep_their_pods_restricted(plan, recipe) -> None:
    """The objects a flavor applies from a rendered manifest (KFP's) are admitted by Pod Security `restricted`,
    create nothing cluster-wide, expose nothing, and hold no secret of their own (the flavor's MANIFEST_RULES)."""
    for r in plan.of_type(n.CONFIG_GROUP):
        rule = _manifest_rule(r)
        for problem in rule(r.inputs.get("objs") or []) if rule else []:
            require(False, f"{r.name}: {problem}")


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*(pod.get("initContainers") or []), *pod["containers"]]


def namespace_enforces_restricted(plan, recipe) -> None:
    namespaces = plan.of_type("kubernetes:core/v1:Namespace")
    require(namespaces, "the stack has no namespace of its own")
    for ns in namespaces:
        require(
            ns.inputs["metadata"]["labels"].get("pod-security.kubernetes.io/enforce") == "restricted",
            f"{ns.name}: Pod Security `restricted` is not enforced",
        )


def containers_are_locked_down(plan, recipe) -> None:
    """Non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp, read-only root."""
    for name, pod in _pods(plan):
        pod_ctx = pod.get("securityContext") or {}
        for c in _containers(pod):
            ctx, where = c.get("securityContext") or {}, f"{name}/{c['name']}"
            require(ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")) is True, f"{where}: may run as root")
            require(ctx.get("allowPrivilegeEscalation") is False, f"{where}: privilege escalation allowed")
            require((ctx.get("capabilities") or {}).get("drop") == ["ALL"], f"{where}: capabilities not dropped")
            seccomp = (ctx.get("seccompProfile") or pod_ctx.get("seccompProfile") or {}).get("type")
            require(seccomp == "RuntimeDefault", f"{where}: no RuntimeDefault seccomp profile")
            require(ctx.get("readOnlyRootFilesystem") is True, f"{where}: writable root filesystem")
            require(ctx.get("privileged") in (None, False), f"{where}: privileged")


def containers_have_requests_and_limits(plan, recipe) -> None:
    for name, pod in _pods(plan):
        for c in _containers(pod):
            res = c.get("resources") or {}
            require(
                CPU_MEMORY <= set(res.get("requests") or {}) and CPU_MEMORY <= set(res.get("limits") or {}),
                f"{name}/{c['name']}: CPU and memory requests and limits",
            )


def nothing_reaches_the_host(plan, recipe) -> None:
    for name, pod in _pods(plan):
        require(not any(pod.get(k) for k in ("hostNetwork", "hostPID", "hostIPC")), f"{name}: shares a host namespace")
        require(not any("hostPath" in v for v in pod.get("volumes") or []), f"{name}: mounts a host path")
        require(
            not any(p.get("hostPort") for c in _containers(pod) for p in c.get("ports") or []),
            f"{name}: binds a host port",
        )


def secrets_are_referenced_never_literal(plan, recipe) -> None:
    for name, pod in _pods(plan):
        for c in _containers(pod):
            for env in c.get("env") or []:
                if SECRET_NAME.search(env["name"]):
                    require("valueFrom" in env and "value" not in env, f"{name}/{c['name']}: {env['name']} is literal")


def mounted_secrets_are_read_only_and_owner_only(plan, recipe) -> None:
    """A Secret mounted as files (a server's configuration) is mounted read-only, its files readable by the pod's
    user and group (fsGroup) alone."""
    for name, pod in _pods(plan):
        secrets = {v["name"]: v["secret"] for v in pod.get("volumes") or [] if v.get("secret")}
        for volume, secret in secrets.items():
            mode = secret.get("defaultMode") or 0o644  # Kubernetes' default
            require(mode & 0o007 == 0, f"{name}: secret volume {volume} is readable by others (mode {mode:o})")
            for c in _containers(pod):
                for mount in c.get("volumeMounts") or []:
                    if mount["name"] == volume:
                        require(mount.get("readOnly") is True, f"{name}/{c['name']}: mounts {volume} writable")


def service_account_tokens_only_where_needed(plan, recipe) -> None:
    """Workload pods mount no token; the one account that does is the orchestrator's (it launches step pods)."""
    tokenless = {
        sa.inputs["metadata"]["name"]
        for sa in plan.of_type("kubernetes:core/v1:ServiceAccount")
        if sa.inputs.get("automountServiceAccountToken") is False
    }
    for name, pod, typ in _pods(plan, with_type=True):
        if "automountServiceAccountToken" not in pod and typ in pod_accounts():
            require(pod_accounts()[typ] in tokenless, f"{name}: its pods' account {pod_accounts()[typ]} mounts a token")
            continue
        require(pod.get("automountServiceAccountToken") is False, f"{name}: mounts a service account token")
    for sa in plan.of_type("kubernetes:core/v1:ServiceAccount"):
        if sa.inputs.get("automountServiceAccountToken") is not False:
            bound = [
                b
                for b in plan.of_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
                if any(s.get("name") == sa.inputs["metadata"]["name"] for s in b.inputs["subjects"])
            ]
            require(bound, f"{sa.name}: mounts a token it has no Role for")


def rbac_is_namespaced_without_wildcards(plan, recipe) -> None:
    cluster_wide = [  # a node agent's (the cluster autoscaler's) is held to the node-agent rule
        r.name
        for r in plan.resources
        if r.type.startswith("kubernetes:rbac.authorization.k8s.io/v1:Cluster") and not _node_agent(r)
    ]
    require(cluster_wide == [], f"cluster-wide RBAC: {cluster_wide}")
    for role in plan.of_type("kubernetes:rbac.authorization.k8s.io/v1:Role"):
        for rule in role.inputs["rules"]:
            words = [*rule.get("apiGroups", []), *rule.get("resources", []), *rule.get("verbs", [])]
            require("*" not in words, f"{role.name}: a wildcard in {rule}")
            require(not {"escalate", "bind", "impersonate"} & set(rule.get("verbs", [])), f"{role.name}: escalation")


def network_is_default_deny_with_one_allow_per_flow(plan, recipe) -> None:
    """Everything is denied unless allowed, and each allow names both ends: an empty `from` admits every source, so
    only a cluster that maps node ports to 127.0.0.1 (kind) may leave it open on an exposed port; one allow per
    selected pods and direction. (A Service nothing in the cluster calls has no allow: `mlstack connect` reaches
    it through the API server.)"""
    policies = plan.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    deny = [
        p
        for p in policies
        if p.inputs["spec"]["podSelector"] in ({}, None)
        and set(p.inputs["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p.inputs["spec"].get("ingress")
        and not p.inputs["spec"].get("egress")
    ]
    require(deny, "no default-deny NetworkPolicy")
    node_ports = clusters.of(recipe.target).exposure == "node_ports"
    blocks = clusters.of(recipe.target).IP_BLOCKS  # the node's metadata server where the cluster needs it (GKE)
    seen: set[tuple[str, str]] = set()
    for p in policies:
        spec = p.inputs["spec"]
        for rule in spec.get("ingress") or []:
            require(rule.get("from") or node_ports, f"{p.name}: admits every source")
            require(rule.get("ports"), f"{p.name}: admits every port")
        for rule in spec.get("egress") or []:
            require(rule.get("to") or rule.get("ports"), f"{p.name}: allows every destination")
            for peer in rule.get("to") or []:  # an address block: only those the cluster's own tokens come from
                if "ipBlock" in peer:
                    cidr = str(peer["ipBlock"].get("cidr"))
                    ports = [q.get("port") for q in rule.get("ports") or []]
                    require(
                        not peer["ipBlock"].get("except") and ports and all((cidr, q) in blocks for q in ports),
                        f"{p.name}: reaches {cidr} on {ports or 'every port'}, not an address this cluster "
                        f"declares ({', '.join(f'{c}:{q}' for c, q in blocks) or 'none'})",
                    )
        if spec.get("ingress") or spec.get("egress"):
            for direction in spec["policyTypes"]:
                key = (json.dumps(spec["podSelector"], sort_keys=True), direction)
                require(key not in seen, f"{p.name}: a second {direction} allow for the same pods")
                seen.add(key)


def node_agents_are_pinned_and_confined(plan, recipe) -> None:
    """What mlstack runs in kube-system of a cluster the stack creates, exactly what that cluster needs
    (`node_agents`), each in kube-system with its pinned image, no host namespace or port, not privileged,
    capabilities dropped, no escalation, a read-only root and RuntimeDefault seccomp; and each confined its own way:
    - NVIDIA's device plugin: on the GPU pools alone tolerating their taints alone, no token, one host path (the
      kubelet's device-plugin sockets), root only for that;
    - the cluster autoscaler: no host path, as nobody, its upstream ClusterRole (reads, and writes only events,
      evictions, pod status, nodes, jobs' patches and its own lease) bound to its own account alone."""
    from mlstack.components.kubernetes import autoscaler as ca
    from mlstack.versions import KUBERNETES_IMAGES

    provisioner = clusters.of(recipe.target)
    agents = {r.inputs["metadata"]["name"]: r for r in plan.resources if r.type in pod_specs() and _node_agent(r)}
    wanted = provisioner.node_agents(recipe.target)
    require(sorted(agents) == sorted(wanted), f"node agents {sorted(agents)}, where the cluster needs {list(wanted)}")
    for name, agent in agents.items():
        require(agent.inputs["metadata"].get("namespace") == dp.NAMESPACE, f"{agent.name}: outside {dp.NAMESPACE}")
        pod = agent.inputs["spec"]["template"]["spec"]
        require(not any(pod.get(k) for k in ("hostNetwork", "hostPID", "hostIPC")), f"{agent.name}: host namespace")
        paths = [v["hostPath"]["path"] for v in pod.get("volumes") or [] if "hostPath" in v]
        for c in _containers(pod):
            ctx, where = c.get("securityContext") or {}, f"{agent.name}/{c['name']}"
            require(c.get("image") == KUBERNETES_IMAGES[name], f"{where}: image {c.get('image')} is not the pin")
            require(ctx.get("privileged") in (None, False), f"{where}: privileged")
            require(ctx.get("allowPrivilegeEscalation") is False, f"{where}: privilege escalation allowed")
            require((ctx.get("capabilities") or {}).get("drop") == ["ALL"], f"{where}: capabilities not dropped")
            require(ctx.get("readOnlyRootFilesystem") is True, f"{where}: writable root filesystem")
            seccomp = ctx.get("seccompProfile") or (pod.get("securityContext") or {}).get("seccompProfile") or {}
            require(seccomp.get("type") == "RuntimeDefault", f"{where}: no RuntimeDefault seccomp profile")
            require(not any(p.get("hostPort") for p in c.get("ports") or []), f"{where}: binds a host port")
        if name == dp.NAME:
            pools, tolerations = provisioner.gpu_pools(recipe.target)
            terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            placed = [e for t in terms["nodeSelectorTerms"] for e in t.get("matchExpressions") or []]
            require(
                placed == [{"key": POOL_LABEL, "operator": "In", "values": sorted(pools)}],
                f"{agent.name}: runs beyond the GPU pools ({placed})",
            )
            require(
                {tuple(sorted(t.items())) for t in pod.get("tolerations") or []}
                == {tuple(sorted(t.items())) for t in tolerations},
                f"{agent.name}: tolerates {pod.get('tolerations')}, not the GPU pools' taints alone",
            )
            require(pod.get("automountServiceAccountToken") is False, f"{agent.name}: mounts a service account token")
            require(
                paths == [dp.SOCKETS], f"{agent.name}: host paths {paths}, not the kubelet's device-plugin directory"
            )
        else:  # the cluster autoscaler
            require(paths == [], f"{agent.name}: mounts host paths {paths}")
            require((pod.get("securityContext") or {}).get("runAsNonRoot") is True, f"{agent.name}: may run as root")
            require(pod.get("serviceAccountName") == ca.NAME, f"{agent.name}: runs as {pod.get('serviceAccountName')}")
    expected = json.dumps(_camel(ca.CLUSTER_RULES), sort_keys=True)
    subject = [{"kind": "ServiceAccount", "name": ca.NAME, "namespace": ca.NAMESPACE}]
    for r in plan.resources:
        if r.type.startswith("kubernetes:rbac.authorization.k8s.io/v1:Cluster") and _node_agent(r):
            require(ca.NAME in agents, f"{r.name}: cluster-wide RBAC with no autoscaler to use it")
            if r.type.endswith(":ClusterRole"):
                require(
                    json.dumps(r.inputs["rules"], sort_keys=True) == expected, f"{r.name}: beyond the upstream role"
                )
            else:
                require(r.inputs["subjects"] == subject, f"{r.name}: bound to {r.inputs['subjects']}")
                require(r.inputs["roleRef"]["name"] == ca.NAME, f"{r.name}: binds {r.inputs['roleRef']['name']}")


def _camel(value: Any) -> Any:
    """The SDK's snake_case field names as the plan holds them (the API's camelCase)."""
    if isinstance(value, list):
        return [_camel(v) for v in value]
    if isinstance(value, dict):
        return {
            "".join(w.capitalize() if i else w for i, w in enumerate(k.split("_"))): _camel(v) for k, v in value.items()
        }
    return value


def services_are_cluster_internal_unless_exposed(plan, recipe) -> None:
    """ClusterIP; a node port only on a cluster that maps node ports to 127.0.0.1 alone (kind); never a
    LoadBalancer."""
    node_ports = clusters.of(recipe.target).exposure == "node_ports"
    for svc in plan.of_type("kubernetes:core/v1:Service"):
        typ = svc.inputs["spec"].get("type", "ClusterIP")
        require(typ == "ClusterIP" or (node_ports and typ == "NodePort"), f"{svc.name}: exposed as {typ}")


RULES = (
    every_pod_spec_is_policed,
    charts_keep_their_pods_restricted,
    manifests_keep_their_pods_restricted,
    namespace_enforces_restricted,
    containers_are_locked_down,
    containers_have_requests_and_limits,
    nothing_reaches_the_host,
    secrets_are_referenced_never_literal,
    mounted_secrets_are_read_only_and_owner_only,
    service_account_tokens_only_where_needed,
    rbac_is_namespaced_without_wildcards,
    network_is_default_deny_with_one_allow_per_flow,
    node_agents_are_pinned_and_confined,
    services_are_cluster_internal_unless_exposed,
)


def rules_for(placement: Any) -> tuple[Any, ...]:
    """The rules of the cluster the stack creates (a managed cluster's cloud resources: its provisioner's RULES),
    and the cloud target's own rules of the cloud's store and registry flavors beside it."""
    import importlib

    provisioner = clusters.of(placement)
    storage = provisioner.STORAGE_RULES
    cloud = importlib.import_module(provisioner.STORAGE_POLICY) if storage else None
    return (*provisioner.RULES, *(getattr(cloud, name) for name in storage))
