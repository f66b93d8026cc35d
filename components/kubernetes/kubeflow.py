"""Kubeflow Pipelines (KFP) standalone in the stack's namespace: KFP's own published manifests
(versions.MANIFESTS["kubeflow-pipelines"], rendered with kustomize into the mirror directory: KFP ships no chart),
changed for the stack by `stack_objects` and applied with `yaml.v2.ConfigGroup`. What every KFP on a cluster shares
(its CRDs, Argo's PriorityClass) is the `kubeflow-pipelines` cluster add-on (addons/kubeflow_pipelines.py).

What `stack_objects` changes, and why:
- Its objects move to the stack's namespace (KFP's render names `kubeflow` on every object and RoleBinding subject).
- Its artifacts go to the stack's object store (the API server, the UI, Argo's artifact repository, the v2
  launcher's `kfp-launcher` providers), under `prefix` of the first bucket: KFP's bundled SeaweedFS is left out (its
  objects are all named `seaweedfs` and its NetworkPolicy would select the stack's own).
- Its database stays KFP's MySQL 8.4 (for the API server and ML Metadata): KFP 2.17's PostgreSQL path does not start
  (kubeflow/pipelines#13956: the driver name is never read, the storage layer speaks MySQL). mlstack gives MySQL a
  generated root password (KFP's is empty) and its volume is a claim `destroy` keeps.
- Left out: what serves v1 pipelines only (ZenML compiles v2): the cache server and its deployer (which needs
  cluster-wide rights to approve certificates and write webhooks), the metadata writer, the viewer controller and the
  visualization server. v1 pipelines are refused (`BLOCK_V1_PIPELINES`).
- Pod Security `restricted`: KFP's and Argo's pods comply as published; the step containers run as non-root too
  (`defaultSecurityContextRunAsNonRoot`). Every pod, the steps' included, carries the label the stack's network
  policies admit (steps: through the API server's patch of each compiled workflow).

What mlstack makes besides: the two Secrets KFP reads by name (the object store's keys, MySQL's login), the
`kfp-launcher` ConfigMap, MySQL's claim, and the NetworkPolicies."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlstack.clients.models import OrchestratorClient
from mlstack.components.base import Component
from mlstack.components.context import ComponentArgs
from mlstack.components.generated import GeneratedSecret
from mlstack.components.kubernetes import addons
from mlstack.components.kubernetes import naming as n
from mlstack.components.kubernetes import workload as w
from mlstack.components.kubernetes.orchestrator import API_PORTS, PIPELINE_PODS
from mlstack.components.kubernetes.settings import KubernetesKubeflowOrchestrator
from mlstack.components.outputs import Endpoint, OrchestratorOutputs
from mlstack.errors import NotAvailableError
from mlstack.versions import MANIFESTS

RENDER = "kubeflow-pipelines"  # versions.MANIFESTS key
KFP_PODS = {"application-crd-id": "kubeflow-pipelines"}  # KFP's render labels every object and pod with it
# Who calls which of KFP's parts, on which ports (from KFP 2.17's render and sources): the steps (the pipeline label:
# the driver and launcher call the API server and ML Metadata), and KFP's own parts, by their Deployment's name.
STEPS = "steps"
CALLS: dict[tuple[str, tuple[int, ...]], tuple[str, ...]] = {
    ("mysql", (3306,)): ("ml-pipeline", "metadata-grpc-deployment"),
    ("metadata-grpc-deployment", (8080,)): (STEPS, "ml-pipeline", "metadata-envoy-deployment"),
    ("ml-pipeline", (8888, 8887)): (
        STEPS,
        "ml-pipeline-persistenceagent",
        "ml-pipeline-scheduledworkflow",
        "ml-pipeline-ui",
    ),
    ("metadata-envoy-deployment", (9090,)): ("ml-pipeline-ui",),  # ML Metadata's web proxy, for the UI
}
# KFP's Roles as published, kept although they hold wildcards, and why (checked: any other is a policy failure)
WILDCARD_ROLES = {
    "pipeline-runner": "the steps' account: KFP's driver makes volumes and Argo's executor follows the step pods "
    "(KFP grants it every verb on them; not narrowed here, where no pipeline runs to prove a narrower Role)",
}
API_APP, API_PORT = "ml-pipeline", 8888
STORE_SECRET, DB_SECRET, LAUNCHER, DB_CLAIM = (
    "mlpipeline-minio-artifact",
    "mysql-secret",
    "kfp-launcher",
    "mysql-pv-claim",
)
DB_USER = "root"  # KFP's MySQL has one login: the API server and ML Metadata create their databases with it
INIT_DIR, INIT_KEY = "/etc/mlstack-mysql", "init.sql"  # MySQL's --init-file, a key of mlstack's Secret
MYSQL_DATA = "/var/lib/mysql"  # where KFP's MySQL keeps its data (its claim's mount)
STEP_UID = 1000  # what step containers run as (KFP's default security context for them)
STEP_ACCOUNT = "pipeline-runner"  # the account KFP's compiled workflows run the steps as
REGION = "us-east-1"
# mlstack makes these itself: what KFP reads by name, with the stack's values (and the claim `destroy` keeps)
MINE = {("Secret", STORE_SECRET), ("Secret", DB_SECRET), ("ConfigMap", LAUNCHER), ("PersistentVolumeClaim", DB_CLAIM)}
# the parts that serve v1 pipelines only, the bundled object store, and the viewers: by object name prefix
LEFT_OUT = (
    "seaweedfs",
    "cache-",
    "kubeflow-pipelines-cache",
    "metadata-writer",
    "kubeflow-pipelines-metadata-writer",
    "ml-pipeline-visualizationserver",
    "ml-pipeline-viewer",
    "kubeflow-pipelines-viewer",
)
SHARED = {"PriorityClass", "CustomResourceDefinition", "Namespace"}  # the add-on's, or nobody's
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}


@dataclass(frozen=True)
class Stack:
    """What `stack_objects` fits KFP's render to."""

    name: str  # the stack (its label)
    namespace: str
    component: str  # the recipe's component name (its label: `drift` names it)
    store_host: str  # the object store's in-cluster host and port (its S3 API, plain HTTP)
    store_port: int
    bucket: str
    prefix: str  # where in the bucket KFP keeps artifacts and logs
    pull_secret: str | None = None  # the stack registry's pull Secret: the steps' account pulls their images with it


def left_out(obj: dict[str, Any]) -> bool:
    kind, name = obj["kind"], obj["metadata"]["name"]
    return (kind, name) in MINE or kind in SHARED or name.startswith(LEFT_OUT)


def stack_objects(objects: list[dict[str, Any]], stack: Stack) -> list[dict[str, Any]]:
    """KFP's rendered objects, fitted to the stack (see the module's docstring). An object of a kind or scope this
    does not know is exit 3 naming it: the file is not the render of the pinned release."""
    fitted = []
    for original in objects:
        if left_out(original):
            continue
        obj = copy.deepcopy(original)
        kind, meta = obj["kind"], obj["metadata"]
        if kind.startswith("Cluster") or "namespace" not in meta:
            raise NotAvailableError(
                f"{MANIFESTS[RENDER].file}: {kind} {meta['name']} is cluster-scoped, which KFP "
                f"{MANIFESTS[RENDER].version}'s render has not (is it another release's?)",
                hint=f"render it again: {MANIFESTS[RENDER].render}",
            )
        meta["namespace"] = stack.namespace
        meta["labels"] = {**(meta.get("labels") or {}), **_labels(stack, meta["name"])}
        if kind == "RoleBinding":
            for subject in obj.get("subjects") or []:
                if subject.get("kind") == "ServiceAccount":
                    subject["namespace"] = stack.namespace
        if kind == "ServiceAccount" and meta["name"] == STEP_ACCOUNT and stack.pull_secret:
            # ZenML's kubeflow orchestrator passes no pod settings but node selectors to KFP 2: the steps pull the
            # stack registry's images through their account
            obj["imagePullSecrets"] = [{"name": stack.pull_secret}]
        if kind in WORKLOADS:
            _workload(obj, stack)
        if kind == "ConfigMap":
            _config(obj, stack)
        fitted.append(obj)
    return fitted


def _labels(stack: Stack, app: str) -> dict[str, str]:
    return n.labels(stack.name, app, stack.component)


def _workload(obj: dict[str, Any], stack: Stack) -> None:
    template = obj["spec"]["template"]
    tmeta = template.setdefault("metadata", {})
    # mlstack's labels (its name: the Deployment's, which the network policies select); KFP's own pods are no
    # pipeline pods (those are the steps): they reach only what they call
    tmeta["labels"] = {**(tmeta.get("labels") or {}), **_labels(stack, obj["metadata"]["name"])}
    pod = template["spec"]
    for container in pod.get("containers") or []:
        env = container.get("env") or []
        if obj["metadata"]["name"] == API_APP:
            _set_env(env, "OBJECTSTORECONFIG_HOST", stack.store_host)
            _set_env(env, "OBJECTSTORECONFIG_PORT", str(stack.store_port))
            _set_env(env, "OBJECTSTORECONFIG_SECURE", "false")
            _set_env(env, "OBJECTSTORECONFIG_REGION", REGION)
            # the steps' pods carry the pipeline label too: the API server patches every workflow it compiles
            _set_env(env, "COMPILED_PIPELINE_SPEC_PATCH", json.dumps({"podMetadata": {"labels": PIPELINE_PODS}}))
        elif obj["metadata"]["name"] == "mysql":
            env[:] = [e for e in env if e.get("name") != "MYSQL_ALLOW_EMPTY_PASSWORD"]
            env.append(
                {"name": "MYSQL_ROOT_PASSWORD", "valueFrom": {"secretKeyRef": {"name": DB_SECRET, "key": "password"}}}
            )
            # the image takes MYSQL_ROOT_PASSWORD only when it makes the database: on every later start (a volume
            # `destroy` kept) MySQL runs mlstack's init file, which gives root the current deploy's password. Not on
            # the first: `--initialize` runs the init file too, in a bootstrap mode that refuses account statements
            container["command"] = ["/bin/sh", "-c", mysql_start_script(), "mysql-start"]
            container.setdefault("volumeMounts", []).append(
                {"name": "mlstack-init", "mountPath": INIT_DIR, "readOnly": True}
            )
            init = {"secretName": DB_SECRET, "items": [{"key": INIT_KEY, "path": INIT_KEY}], "defaultMode": 0o440}
            pod.setdefault("volumes", []).append({"name": "mlstack-init", "secret": init})
        elif obj["metadata"]["name"] == "ml-pipeline-ui":
            _set_env(env, "MINIO_HOST", stack.store_host)
            _set_env(env, "MINIO_NAMESPACE", "")  # else the UI appends it to MINIO_HOST
            _set_env(env, "MINIO_PORT", str(stack.store_port))
            _set_env(env, "MINIO_SSL", "false")
            _set_env(env, "AWS_REGION", REGION)
            # where Argo archives the steps' logs (the UI reads them there once the workflow is gone)
            _set_env(env, "ARGO_ARCHIVE_BUCKETNAME", stack.bucket)
            _set_env(env, "ARGO_KEYFORMAT", log_key_format(stack.prefix))
        if env:
            container["env"] = env


def _set_env(env: list[dict[str, Any]], name: str, value: str) -> None:
    env[:] = [e for e in env if e.get("name") != name]
    env.append({"name": name, "value": value})


def _config(obj: dict[str, Any], stack: Stack) -> None:
    data = obj.setdefault("data", {})
    name = obj["metadata"]["name"]
    if name == "pipeline-install-config":
        data.update(
            {
                "bucketName": stack.bucket,
                "defaultPipelineRoot": artifacts_uri(stack.bucket, stack.prefix),
                "defaultSecurityContextRunAsNonRoot": "true",  # Pod Security `restricted` admits no other step
                "defaultSecurityContextRunAsUser": str(STEP_UID),
                "defaultSecurityContextRunAsGroup": str(STEP_UID),
                "BLOCK_V1_PIPELINES": "true",  # what serves them is left out
            }
        )
    elif name == "workflow-controller-configmap":
        from ruamel.yaml import YAML

        repository = YAML(typ="safe").load(data.get("artifactRepository") or "{}") or {}
        s3 = repository.setdefault("s3", {})
        s3.update(
            {
                "endpoint": f"{stack.store_host}:{stack.store_port}",
                "bucket": stack.bucket,
                "insecure": True,
                "region": REGION,
                "keyFormat": log_key_format(stack.prefix),
                "accessKeySecret": {"name": STORE_SECRET, "key": "accesskey"},
                "secretKeySecret": {"name": STORE_SECRET, "key": "secretkey"},
            }
        )
        data["artifactRepository"] = json.dumps(repository, sort_keys=True)  # JSON is YAML


def log_key_format(prefix: str) -> str:
    """Where in the bucket Argo archives each step's log (its artifact repository's `keyFormat`; the UI's too)."""
    return f"{prefix.strip('/')}/logs/{{{{workflow.namespace}}}}/{{{{workflow.name}}}}/{{{{pod.name}}}}"


def artifacts_uri(bucket: str, prefix: str) -> str:
    return f"s3://{bucket}/{prefix.strip('/')}/artifacts"


def mysql_start_script(datadir: str = MYSQL_DATA, entrypoint: str = "docker-entrypoint.sh") -> str:
    """The MySQL container's command: the image's entrypoint with KFP's arguments, and with mlstack's init file once
    the database exists (its `mysql` schema is there)."""
    return (
        f'if [ -d "{datadir}/mysql" ]; then set -- "$@" "--init-file={INIT_DIR}/{INIT_KEY}"; fi\n'
        f'exec {entrypoint} "$@"\n'
    )


def init_sql(password: str) -> str:
    """MySQL's init file: root's password (the login KFP's pods use, over TCP) set to the Secret's on every start of
    an existing database (`mysql_start_script`). `IF EXISTS`: a database the image made with `MYSQL_ROOT_HOST`
    other than `%` has no such user. The generated password is letters, digits, - and _ (nothing to escape)."""
    return f"ALTER USER IF EXISTS '{DB_USER}'@'%' IDENTIFIED BY '{password}';\n"


def launcher_providers(store_host: str, store_port: int) -> str:
    """The v2 launcher's and driver's object store (`kfp-launcher`'s `providers`): its compiled-in default is
    `seaweedfs.kubeflow:9000`, which no stack has."""
    return json.dumps(
        {
            "s3": {
                "default": {
                    "endpoint": f"{store_host}:{store_port}",
                    "region": REGION,
                    "disableSSL": True,
                    "forcePathStyle": True,
                    "credentials": {
                        "fromEnv": False,
                        "secretRef": {
                            "secretName": STORE_SECRET,
                            "accessKeyKey": "accesskey",
                            "secretKeyKey": "secretkey",
                        },
                    },
                }
            }
        },
        sort_keys=True,
    )


class KubernetesKubeflow(
    Component[KubernetesKubeflowOrchestrator, w.KubernetesPlatform, OrchestratorOutputs, OrchestratorClient]
):
    TYPE = "mlstack:kubernetes:KubeflowOrchestrator"

    def __init__(
        self,
        name: str,
        args: ComponentArgs[KubernetesKubeflowOrchestrator, w.KubernetesPlatform],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, args, opts)
        platform, st, child = self.platform, self.settings, pulumi.ResourceOptions(parent=self)
        store = self.uses.store()
        if store.service is None or store.access_key is None or store.secret_key is None:
            raise ValueError("Kubeflow Pipelines keeps its artifacts in an in-cluster S3 store with keys")
        bucket = store.buckets[0].name
        host, port = store.service.host, store.service.port
        registry = self.uses.registry
        pull = registry.pull_secret if registry else None
        self.db_password = GeneratedSecret(f"{name}-db-password", mixed=True, opts=child).value
        secrets = [
            k8s.core.v1.Secret(
                f"{name}-db-secret",
                metadata=w.metadata(platform, DB_SECRET, name, "mysql"),
                type="Opaque",
                string_data={
                    "username": DB_USER,
                    "password": self.db_password,
                    INIT_KEY: self.db_password.apply(init_sql),
                },
                opts=child,
            ),
            k8s.core.v1.Secret(
                f"{name}-store-secret",
                metadata=w.metadata(platform, STORE_SECRET, name, API_APP),
                type="Opaque",
                string_data={"accesskey": store.access_key, "secretkey": store.secret_key},
                opts=child,
            ),
        ]
        launcher = k8s.core.v1.ConfigMap(
            f"{name}-launcher",
            metadata=w.metadata(platform, LAUNCHER, name),
            data={
                "defaultPipelineRoot": bucket.apply(lambda b: artifacts_uri(b, st.prefix)),
                "providers": launcher_providers(host, port),
            },
            opts=child,
        )
        claim = w.volume_claim(f"{name}-db-volume", platform, DB_CLAIM, name, st.storage_gb, self)
        # without the render, only an offline plan runs this (the target's `inputs` stop every engine run first), and
        # `render` says what it lacks
        objects = addons.load_manifests(RENDER, addons.mirror())
        if objects is not None:
            fitted = bucket.apply(
                lambda b: stack_objects(
                    objects,
                    Stack(platform.stack, platform.namespace, name, host, port, b, st.prefix.strip("/"), pull),
                )
            )
            k8s.yaml.v2.ConfigGroup(
                f"{name}-kubeflow-pipelines",
                objs=fitted,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*secrets, launcher, claim]),
            )
        # KFP's parts admit exactly who calls them (CALLS); the steps (pipeline pods) reach the API server, ML
        # Metadata and what the recipe wires KFP to; KFP's own pods reach each other, the object store (the API server,
        # the UI) and the Kubernetes API (its controllers), and the object store admits them
        self._network(name, store.service)
        self.flows = w.Flows(
            pods=PIPELINE_PODS,
            reaches=tuple(
                w.endpoint(platform, app, port) for (app, ports), who in CALLS.items() if STEPS in who for port in ports
            ),
            any_host_ports=API_PORTS,
            egress_name="pipelines",
            also_calls=((KFP_PODS, ("object_store",)),),
        )
        cluster_url = f"http://{n.service_host(API_APP, platform.namespace)}:{API_PORT}"
        self.publish(
            OrchestratorOutputs(),
            bucket.apply(
                lambda b: OrchestratorClient(
                    flavor="kubeflow",
                    url=cluster_url,
                    cluster_url=cluster_url,
                    kubernetes_context=platform.context,
                    kubernetes_namespace=platform.namespace,
                    pod_labels=PIPELINE_PODS,
                    image_pull_secrets=[pull] if pull else None,
                    artifacts_uri=artifacts_uri(b, st.prefix),
                    logs_uri=f"s3://{b}/{st.prefix.strip('/')}/logs",
                )
            ),
        )

    def _network(self, name: str, store: Endpoint) -> None:
        platform = self.platform
        for (app, ports), who in CALLS.items():
            sources = [PIPELINE_PODS if caller == STEPS else n.selector(caller) for caller in who]
            w.allow_ingress(f"{name}-{app}-ingress", platform, app, name, ports, sources, self)
        targets = [(n.selector(app), port) for (app, ports) in CALLS for port in ports] + [(store.selector, store.port)]
        w.allow_egress(
            f"{name}-kfp-egress",
            platform,
            "kubeflow-pipelines",
            name,
            targets,
            self,
            selector=KFP_PODS,
            any_host_ports=API_PORTS,  # its controllers and the API server watch the Kubernetes API
        )


def manifest_problems(objects: list[dict[str, Any]]) -> list[str]:
    """What the policy suite checks of the KFP objects a stack applies (MANIFEST_RULES): every pod admitted by Pod
    Security `restricted`, nothing cluster-scoped, nothing exposed outside the cluster, no Secret of KFP's own (its
    secrets are mlstack's, generated). KFP's containers keep a writable root as published; `restricted` asks none."""
    found = []
    for obj in objects:
        kind, name = obj.get("kind"), (obj.get("metadata") or {}).get("name")
        where = f"{kind} {name}"
        if kind in SHARED or str(kind).startswith("Cluster"):
            found.append(f"{where}: cluster-scoped (two stacks on a cluster would fight over it)")
        if kind == "Secret":
            found.append(f"{where}: a Secret of KFP's render (its published, empty or fixed values)")
        if kind == "Service" and (obj.get("spec") or {}).get("type", "ClusterIP") != "ClusterIP":
            found.append(f"{where}: exposed outside the cluster")
        if kind == "Ingress":
            found.append(f"{where}: exposed outside the cluster")
        if kind == "Role" and name not in WILDCARD_ROLES:
            for rule in obj.get("rules") or []:
                words = [*rule.get("apiGroups", []), *rule.get("resources", []), *rule.get("verbs", [])]
                if "*" in words or {"escalate", "bind", "impersonate"} & set(rule.get("verbs", [])):
                    found.append(f"{where}: a wildcard or escalation in {rule}")
        if kind in WORKLOADS:
            pod = obj["spec"]["template"]["spec"]
            pod_ctx = pod.get("securityContext") or {}
            for c in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
                ctx, at = c.get("securityContext") or {}, f"{where}/{c.get('name')}"
                if ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")) is not True:
                    found.append(f"{at}: may run as root")
                if ctx.get("allowPrivilegeEscalation") is not False:
                    found.append(f"{at}: privilege escalation allowed")
                if (ctx.get("capabilities") or {}).get("drop") != ["ALL"]:
                    found.append(f"{at}: capabilities not dropped")
                if (ctx.get("seccompProfile") or pod_ctx.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
                    found.append(f"{at}: no RuntimeDefault seccomp profile")
            if pod.get("hostNetwork") or pod.get("hostPID") or pod.get("hostIPC"):
                found.append(f"{where}: shares the node's namespaces")
            labels = obj["spec"]["template"].get("metadata", {}).get("labels") or {}
            if any(labels.get(k) != v for k, v in KFP_PODS.items()) or labels.get(n.NAME) != name:
                found.append(f"{where}: its pods lack the labels the stack's policies select (KFP's, their name)")
            if any(labels.get(k) == v for k, v in PIPELINE_PODS.items()):
                found.append(f"{where}: its pods carry the pipeline label (they would reach what the steps reach)")
    return found


MANIFEST_RULES = {RENDER: manifest_problems}
SECRET_MEANINGS = {
    (DB_SECRET, "username"): "the login of KFP's MySQL: `root` (the API server and ML Metadata create their "
    "databases with it)",
    (DB_SECRET, "password"): "MySQL's root password: 32 random characters (letters, digits, - and _); MySQL takes it "
    "when it first starts on an empty volume",
    (DB_SECRET, INIT_KEY): "MySQL's init file, run on every start: `ALTER USER IF EXISTS 'root'@'%' IDENTIFIED BY "
    "'<password>';` with the password above (a volume kept from an earlier deploy takes the current one)",
    (STORE_SECRET, "accesskey"): "the object store's S3 access key id (KFP's API server, UI, launcher and Argo)",
    (STORE_SECRET, "secretkey"): "the object store's S3 secret key",
}
