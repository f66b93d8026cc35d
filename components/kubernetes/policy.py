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
from mlstack.components.kubernetes.tracking import APP as MLFLOW
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
    """A node agent of the cluster's in kube-system (NVIDIA's device plugin, EKS' cluster autoscaler): held to its
    own rule, not the stack's workload rules (root and a host path, cluster-wide RBAC, which they need)."""
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
    # the node's metadata server where the cluster needs it (GKE); and for MLflow's pods alone, its managed database
    provisioner = clusters.of(recipe.target)
    shared, database = provisioner.ip_blocks(plan), provisioner.database_blocks(plan)
    seen: set[tuple[str, str]] = set()
    for p in policies:
        spec = p.inputs["spec"]
        blocks = (*shared, *database) if spec["podSelector"] == {"matchLabels": n.selector(MLFLOW)} else shared
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


# What the cluster autoscaler may write (resource -> verbs; it reads more): the upstream ClusterRole's writes.
AUTOSCALER_WRITES = {
    "events": {"create", "patch"},
    "endpoints": {"create", "patch", "update"},
    "pods/eviction": {"create"},
    "pods/status": {"update"},
    "nodes": {"update"},
    "jobs": {"patch"},
    "leases": {"create", "update"},
}
READS = {"get", "list", "watch"}
AGENT_KINDS = {dp.NAME: "kubernetes:apps/v1:DaemonSet", "cluster-autoscaler": "kubernetes:apps/v1:Deployment"}


def node_agents_are_pinned_and_confined(plan, recipe) -> None:
    """What mlstack runs in kube-system of a cluster the stack creates is exactly what that cluster needs
    (`node_agents`, one object each, of its kind, in kube-system; nothing else carries the node-agent label), each
    with its pinned image, no host namespace or port, not privileged, capabilities dropped, no escalation and
    RuntimeDefault seccomp; and each confined its own way:
    - NVIDIA's device plugin: on the GPU pools alone tolerating their taints alone, no token, one host path (the
      kubelet's device-plugin sockets), root only for that (a writable root, as NVIDIA ships it: the NVIDIA runtime
      hook writes into it);
    - the cluster autoscaler: no host path, as nobody (pod and containers), a read-only root, its ClusterRole no
      wildcard, no Secret, and writes only as upstream's (events, evictions, pod status, nodes, jobs, its lease),
      bound to its own account alone."""
    from mlstack.components.kubernetes import autoscaler as ca
    from mlstack.versions import KUBERNETES_IMAGES

    provisioner = clusters.of(recipe.target)
    labelled = [r for r in plan.resources if _node_agent(r)]
    agents = [r for r in labelled if r.type in pod_specs()]
    names = sorted(str((r.inputs.get("metadata") or {}).get("name")) for r in agents)
    wanted = sorted(provisioner.node_agents(recipe.target))
    require(names == wanted, f"node agents {names}, where the cluster needs {wanted}")
    for agent in agents:
        meta = agent.inputs.get("metadata") or {}
        name = str(meta.get("name"))
        require(agent.type == AGENT_KINDS.get(name), f"{agent.name}: a {agent.type.rsplit(':', 1)[-1]} node agent")
        require(meta.get("namespace") == dp.NAMESPACE, f"{agent.name}: outside {dp.NAMESPACE}")
        pod = ((agent.inputs.get("spec") or {}).get("template") or {}).get("spec") or {}
        require(not any(pod.get(k) for k in ("hostNetwork", "hostPID", "hostIPC")), f"{agent.name}: host namespace")
        paths = [v["hostPath"].get("path") for v in pod.get("volumes") or [] if "hostPath" in v]
        for c in _containers(pod):
            ctx, where = c.get("securityContext") or {}, f"{agent.name}/{c.get('name')}"
            require(c.get("image") == KUBERNETES_IMAGES[name], f"{where}: image {c.get('image')} is not the pin")
            require(ctx.get("privileged") in (None, False), f"{where}: privileged")
            require(ctx.get("allowPrivilegeEscalation") is False, f"{where}: privilege escalation allowed")
            require((ctx.get("capabilities") or {}).get("drop") == ["ALL"], f"{where}: capabilities not dropped")
            require(not (ctx.get("capabilities") or {}).get("add"), f"{where}: adds capabilities")
            seccomp = ctx.get("seccompProfile") or (pod.get("securityContext") or {}).get("seccompProfile") or {}
            require(seccomp.get("type") == "RuntimeDefault", f"{where}: no RuntimeDefault seccomp profile")
            require(not any(p.get("hostPort") for p in c.get("ports") or []), f"{where}: binds a host port")
            if name == ca.NAME:
                require(ctx.get("readOnlyRootFilesystem") is True, f"{where}: writable root filesystem")
                require(ctx.get("runAsUser", 1) != 0 and ctx.get("runAsNonRoot") is not False, f"{where}: as root")
        if name == dp.NAME:
            pools, tolerations = provisioner.gpu_pools(recipe.target)
            required = ((pod.get("affinity") or {}).get("nodeAffinity") or {}).get(
                "requiredDuringSchedulingIgnoredDuringExecution"
            ) or {}
            terms = required.get("nodeSelectorTerms") or []
            require(
                terms == [{"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": sorted(pools)}]}]
                and not pod.get("nodeSelector"),
                f"{agent.name}: runs beyond the GPU pools ({terms})",
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
            security = pod.get("securityContext") or {}
            require(security.get("runAsNonRoot") is True and security.get("runAsUser") != 0, f"{agent.name}: as root")
            require(paths == [], f"{agent.name}: mounts host paths {paths}")
            require(pod.get("serviceAccountName") == ca.NAME, f"{agent.name}: runs as {pod.get('serviceAccountName')}")
    subject = [{"kind": "ServiceAccount", "name": ca.NAME, "namespace": ca.NAMESPACE}]
    for r in labelled:
        if not r.type.startswith("kubernetes:rbac.authorization.k8s.io/v1:"):
            continue
        require(ca.NAME in names, f"{r.name}: RBAC with no autoscaler to use it")
        if r.type.endswith(("Role", ":ClusterRole")):
            for rule in r.inputs.get("rules") or []:
                words = [*rule.get("apiGroups", []), *rule.get("resources", []), *rule.get("verbs", [])]
                require("*" not in words and "secrets" not in rule.get("resources", []), f"{r.name}: {rule}")
                for resource in rule.get("resources", []):
                    writes = set(rule.get("verbs", [])) - READS
                    allowed = AUTOSCALER_WRITES.get(resource, set()) | (
                        {"create", "delete", "update"} if resource == "configmaps" else set()
                    )
                    require(writes <= allowed, f"{r.name}: {', '.join(sorted(writes))} on {resource}")
        else:
            require(r.inputs.get("subjects") == subject, f"{r.name}: bound to {r.inputs.get('subjects')}")
            require((r.inputs.get("roleRef") or {}).get("name") == ca.NAME, f"{r.name}: binds another role")


def databases_outside_the_cluster_take_tls(plan, recipe) -> None:
    """A container whose database is not a Service of the cluster (a cloud's managed PostgreSQL) connects with TLS:
    only the in-cluster one, whose traffic stays on the cluster network, may turn it off."""
    for name, pod in _pods(plan):
        for c in _containers(pod):
            env = {e.get("name"): e.get("value") for e in c.get("env") or []}
            if "DB_HOST" in env and not str(env["DB_HOST"]).endswith(".svc.cluster.local"):
                mode = env.get("DB_SSLMODE")
                require(
                    mode in (None, "require", "verify-ca", "verify-full"),
                    f"{name}/{c['name']}: reaches the database at {env['DB_HOST']} with sslmode {mode}",
                )


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
    databases_outside_the_cluster_take_tls,
    services_are_cluster_internal_unless_exposed,
)


def rules_for(placement: Any) -> tuple[Any, ...]:
    """The rules of the cluster the stack creates (a managed cluster's cloud resources: its provisioner's RULES),
    and the cloud target's own rules of the cloud's store and registry flavors beside it."""
    import importlib

    provisioner = clusters.of(placement)
    storage = provisioner.STORAGE_RULES
    cloud = importlib.import_module(str(registry.target(provisioner.cloud_target).policy)) if storage else None
    return (*provisioner.RULES, *(getattr(cloud, name) for name in storage))
