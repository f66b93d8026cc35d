"""Reaching the recipe's cluster before the engine runs: the kubeconfig, its context, the API server, and whether
the stack's namespace is its own. Everything here fails in mlstack's words, naming the file, the context and what to
do; the engine would otherwise print Go internals, or (server-side apply upserts) adopt a namespace that belongs to
someone else and delete it on `destroy --purge`.

Uses the official Kubernetes Python client: it reads kubeconfigs as kubectl does (merged KUBECONFIG lists, exec
plugins, client certificates, tokens)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlstack.components.kubernetes import naming as n
from mlstack.errors import CredentialsError, EngineError, UsageError

TIMEOUT = 5.0


@dataclass(frozen=True)
class Cluster:
    context: str
    server: str
    api: Any  # kubernetes.client.ApiClient


def kubeconfig_files() -> tuple[list[Path], str]:
    """The kubeconfig files kubectl would read, and where that list came from (for messages)."""
    env = os.environ.get("KUBECONFIG")
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p], "$KUBECONFIG"
    return [Path("~/.kube/config").expanduser()], "the default kubeconfig"


def connect(context: str | None) -> Cluster:
    """A client of `context` (None: the current one) whose API server has answered; exit 4 otherwise."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    files, source = kubeconfig_files()
    readable = [f for f in files if f.is_file() and f.stat().st_size > 0]
    names = ", ".join(str(f) for f in files)
    fix = "point KUBECONFIG at your cluster's kubeconfig (or set target.context), then check with `mlstack doctor`"
    if not readable:
        one = len(files) == 1
        if not any(f.exists() for f in files):
            state = "does not exist" if one else "do not exist"
        else:
            state = "is empty" if one else "are empty or missing"
        raise CredentialsError(f"no kubeconfig to reach the cluster: {source} ({names}) {state}", hint=fix)
    merged = os.pathsep.join(str(f) for f in readable)
    try:
        contexts, active = config.list_kube_config_contexts(config_file=merged)
    except (ConfigException, ValueError, OSError, TypeError, AttributeError) as exc:
        raise CredentialsError(f"the kubeconfig {names} cannot be read: {_reason(exc)}", hint=fix) from None
    known = sorted(c["name"] for c in contexts or [])
    wanted = context or (active or {}).get("name")
    if not wanted:
        raise CredentialsError(
            f"the kubeconfig {names} has no current context",
            hint="set target.context in the recipe (contexts there: " + (", ".join(known) or "none") + ")",
        )
    if wanted not in known:
        stack = wanted.removeprefix("mlstack-") if wanted.startswith("mlstack-") else None
        raise CredentialsError(
            f"context {wanted!r} is not in the kubeconfig {names} (contexts there: {', '.join(known) or 'none'})",
            # a cluster a stack created is reached by the kubeconfig that stack keeps (context mlstack-<stack>)
            hint=f"write the stack's kubeconfig (`mlstack output --stack {stack} --format kubeconfig > FILE`) and "
            "add FILE to KUBECONFIG"
            if stack
            else "fix target.context in the recipe, or KUBECONFIG",
        )
    try:
        api = config.new_client_from_config(config_file=merged, context=wanted)
    except (ConfigException, ValueError, OSError, TypeError, AttributeError) as exc:
        raise CredentialsError(
            f"context {wanted!r} of the kubeconfig {names} cannot be used: {_reason(exc)}", hint=fix
        ) from None
    server = api.configuration.host
    try:
        client.VersionApi(api).get_code(_request_timeout=TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - urllib3, TLS and HTTP errors all mean the same thing here
        raise CredentialsError(
            f"the API server {server} of context {wanted!r} does not answer: {_reason(exc)}",
            hint="check that the cluster is running and reachable from here (`kubectl --context "
            f"{wanted} get --raw /version`)",
        ) from None
    return Cluster(wanted, server, api)


def check_namespace(cluster: Cluster, namespace: str, stack: str) -> None:
    """Refuse a namespace that exists and is not this stack's: server-side apply would adopt it silently."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        found = client.CoreV1Api(cluster.api).read_namespace(namespace, _request_timeout=TIMEOUT)
    except ApiException as exc:
        if exc.status == 404:
            return
        if exc.status == 403:  # not allowed to read namespaces: the engine's own errors will say what it lacks
            return
        raise CredentialsError(
            f"reading namespace {namespace!r} on context {cluster.context!r} failed: HTTP {exc.status}"
        ) from None
    labels = found.metadata.labels or {}
    owner = labels.get(n.STACK)
    if owner == stack:
        return
    held = f"it belongs to mlstack stack {owner!r}" if owner else f"it has no {n.STACK} label"
    raise UsageError(
        f"target.namespace: namespace {namespace!r} already exists on context {cluster.context!r} and is not this "
        f"stack's ({held}); mlstack does not adopt a namespace it did not create",
        hint=f"choose another target.namespace; or, if this stack should own it, `kubectl label namespace "
        f"{namespace} {n.STACK}={stack}`",
    )


def unfinished_rollouts(cluster: Cluster, namespace: str, stack: str) -> list[tuple[str, str]]:
    """(component, what is wrong) for each of the stack's Deployments and StatefulSets whose pods are not all of its
    current spec and ready: after a failed rollout the previous pods keep serving while the state holds the new
    spec, so this is what tells the two apart."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    apps, core = client.AppsV1Api(cluster.api), client.CoreV1Api(cluster.api)
    selector = f"{n.STACK}={stack}"
    try:
        workloads = [
            *apps.list_namespaced_deployment(namespace, label_selector=selector, _request_timeout=TIMEOUT).items,
            *apps.list_namespaced_stateful_set(namespace, label_selector=selector, _request_timeout=TIMEOUT).items,
        ]
    except ApiException as exc:
        if exc.status == 404:
            return []
        raise CredentialsError(f"reading the workloads of namespace {namespace!r} failed: HTTP {exc.status}") from None
    found = []
    for w in workloads:
        kind = "deployment" if isinstance(w, client.V1Deployment) else "statefulset"
        wanted, status = w.spec.replicas if w.spec.replicas is not None else 1, w.status
        current = (status.observed_generation or 0) >= (w.metadata.generation or 0)
        updated = status.updated_replicas or 0
        ready = (status.available_replicas if kind == "deployment" else status.ready_replicas) or 0
        if current and updated >= wanted and ready >= wanted and (status.replicas or 0) <= wanted:
            continue
        previous = max((status.replicas or 0) - updated, 0)
        why = (
            f"{kind}/{w.metadata.name}: rollout not finished ({updated} of {wanted} pods on the current spec, "
            + (f"{ready} ready; {previous} previous still serving" if previous else f"{ready} ready")
            + ")"
        )
        waiting = _pending_reason(core, namespace, w.spec.selector.match_labels or {})
        component = (w.metadata.labels or {}).get(n.COMPONENT, w.metadata.name)
        found.append((component, why + (f" ({waiting})" if waiting else "")))
    return found


def _pending_reason(core: Any, namespace: str, labels: dict[str, str]) -> str:
    """Why a workload's pods are not ready, in the scheduler's or kubelet's words (the first one found)."""
    selector = ",".join(f"{k}={v}" for k, v in labels.items())
    for pod in core.list_namespaced_pod(namespace, label_selector=selector, _request_timeout=TIMEOUT).items:
        for condition in pod.status.conditions or []:
            if condition.type == "PodScheduled" and condition.status == "False" and condition.message:
                return f"{condition.reason}: {condition.message}"[:200]
        for container in pod.status.container_statuses or []:
            waiting = container.state.waiting if container.state else None
            if waiting and waiting.reason:
                return f"{waiting.reason}: {waiting.message or ''}".strip(": ")[:200]
    return ""


def delete_namespace(cluster: Cluster, namespace: str, stack: str, timeout_s: int) -> bool:
    """Delete the stack's own namespace (and with it every claim in it) and wait until it is gone, bounded; False
    when there is none. A namespace that is not the stack's is never deleted."""
    import time

    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    core = client.CoreV1Api(cluster.api)
    try:
        found = core.read_namespace(namespace, _request_timeout=TIMEOUT)
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise CredentialsError(f"reading namespace {namespace!r} failed: HTTP {exc.status}") from None
    if (found.metadata.labels or {}).get(n.STACK) != stack:
        raise UsageError(
            f"namespace {namespace!r} on context {cluster.context!r} is not stack {stack!r}'s: not deleted",
            hint="delete it yourself if it should go",
        )
    try:
        core.delete_namespace(namespace, _request_timeout=TIMEOUT)
    except ApiException as exc:
        if exc.status != 404:
            raise CredentialsError(f"deleting namespace {namespace!r} failed: HTTP {exc.status}") from None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            left = core.read_namespace(namespace, _request_timeout=TIMEOUT)
        except ApiException as exc:
            if exc.status == 404:
                return True
            raise
        time.sleep(0.5)
    waiting = [c.message for c in (left.status.conditions or []) if c.status == "True" and c.message]
    raise EngineError(
        f"namespace {namespace!r} was not gone {timeout_s} s after its deletion"
        + (f": {'; '.join(waiting)[:400]}" if waiting else ""),
        hint="an object in it has a finalizer that does not clear; `kubectl get all -n "
        f"{namespace}` shows it. Raise target.delete_timeout_s or remove the finalizer, then purge again",
    )


def addon_users(cluster: Cluster, labels: list[str]) -> dict[tuple[str, str], dict[str, str]]:
    """{(stack, namespace): {label of `labels`: its value}}, for every mlstack stack on the cluster whose namespace
    carries one (the cluster says it: stacks deployed from other machines and other state backends count too)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        found = client.CoreV1Api(cluster.api).list_namespace(label_selector=n.STACK, _request_timeout=TIMEOUT).items
    except ApiException as exc:
        raise CredentialsError(
            f"listing the namespaces of context {cluster.context!r} failed: HTTP {exc.status}",
            hint="mlstack reads which stacks use the cluster's add-ons from their namespaces' labels",
        ) from None
    users: dict[tuple[str, str], dict[str, str]] = {}
    for namespace in found:
        if namespace.metadata.deletion_timestamp:  # its stack is being purged: it uses nothing any more
            continue
        meta = namespace.metadata.labels or {}
        used = {label: meta[label] for label in labels if label in meta}
        if used:
            users[(meta[n.STACK], namespace.metadata.name)] = used
    return users


def missing_crds(cluster: Cluster, crds: list[str]) -> list[str]:
    """The CustomResourceDefinitions of `crds` the cluster does not serve."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    api = client.ApiextensionsV1Api(cluster.api)
    missing = []
    for crd in crds:
        try:
            api.read_custom_resource_definition(crd, _request_timeout=TIMEOUT)
        except ApiException as exc:
            if exc.status != 404:
                raise CredentialsError(
                    f"reading CRD {crd} on context {cluster.context!r} failed: HTTP {exc.status}"
                ) from None
            missing.append(crd)
    return missing


def preflight(context: str | None, namespace: str, stack: str) -> None:
    """The cluster of `context` answers, and `namespace`, if it exists, is the stack's own."""
    check_namespace(connect(context), namespace, stack)


def in_background(check: Callable[..., None], *args: Any) -> Callable[[], None]:
    """Start `check(*args)` in a thread; the returned gate waits for it and raises what it raised (every call)."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            check(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the gate
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def gate() -> None:
        thread.join()
        if failure:
            raise failure[0]

    return gate


def _reason(exc: BaseException) -> str:
    """An exception in a few words: its class and first line, no URL query strings or tokens."""
    text = str(getattr(exc, "reason", None) or exc).strip().splitlines()
    first = text[0][:160] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
