"""`orchestrator: kubeflow`: Kubeflow Pipelines standalone from KFP's own render (versions.MANIFESTS), fitted to the
stack by `kubeflow.stack_objects`:
- what the fitting does, on objects shaped as KFP's render shapes them (written here: KFP's manifests are not
  served by any registry these machines reach): moved to the stack's namespace with its RoleBindings' subjects,
  the bundled object store and v1-only parts left out, the stack's store and bucket wherever KFP names its own,
  MySQL's empty root password replaced by mlstack's Secret, step pods non-root and labelled; a cluster-scoped
  object it does not know is refused;
- with the real render in the mirror (MLSTACK_CHART_MIRROR): the same, and the policy suite's rule over it;
- a deploy without the render in the mirror stops before anything runs (exit 3 naming the files and the command
  that renders them);
- with the real render in the mirror: a deploy on the real API server (Pod Security `restricted`) installs the
  add-on's CRDs and KFP, every Deployment is ready on the test control plane's node, a second deploy changes nothing,
  and the purge of the last stack removes the add-on too;
- `verify` reads KFP's health call through the forward `connect` opens.

ZenML's import of the stack file is tests/kube/test_zenml_import.py."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
import yaml

from mlstack.components.kubernetes import kubeflow
from mlstack.components.kubernetes.addons import MIRROR_ENV, addons
from mlstack.components.kubernetes.addons import kubeflow_pipelines as addon
from mlstack.errors import NotAvailableError
from mlstack.recipe.loader import load_recipe
from mlstack.versions import MANIFESTS
from tests.conftest import RECIPES

RECIPE = RECIPES / "kubernetes-kubeflow.yaml"
STACK = kubeflow.Stack("mlops-kubeflow", "mlops", "orchestrator", "seaweedfs.mlops.svc.cluster.local", 8333,
                       "mlstack", "kubeflow")


def _deployment(name: str, env: list[dict], labels: dict | None = None) -> dict:
    container = {"name": "main", "image": f"example/{name}:1", "env": env,
                 "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}
    pod_labels = {"app": name, **kubeflow.KFP_PODS, **(labels or {})}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "kubeflow", "labels": dict(kubeflow.KFP_PODS)},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": pod_labels},
                                  "spec": {"securityContext": {"runAsNonRoot": True,
                                                               "seccompProfile": {"type": "RuntimeDefault"}},
                                           "containers": [container]}}}}


def _object(kind: str, name: str, **rest) -> dict:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": "kubeflow"}, **rest}


def _shaped_like_kfp() -> list[dict]:
    """A few objects of each sort KFP's render holds, shaped as it shapes them."""
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubeflow"}},
        {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "workflow-controller"},
         "value": 1000000},
        _deployment("ml-pipeline", [{"name": "OBJECTSTORECONFIG_HOST", "value": "seaweedfs.kubeflow"},
                                    {"name": "OBJECTSTORECONFIG_PORT", "value": "9000"},
                                    {"name": "COMPILED_PIPELINE_SPEC_PATCH", "value": "{}"}]),
        _deployment("mysql", [{"name": "MYSQL_ALLOW_EMPTY_PASSWORD", "value": "true"}]),
        _deployment("ml-pipeline-ui", []),
        _deployment("seaweedfs", []),
        _deployment("cache-server", []),
        _deployment("metadata-writer", []),
        _deployment("ml-pipeline-visualizationserver", []),
        _object("Secret", "mysql-secret", stringData={"username": "root", "password": ""}),
        _object("Secret", "mlpipeline-minio-artifact", stringData={"accesskey": "minio", "secretkey": "minio123"}),
        _object("PersistentVolumeClaim", "mysql-pv-claim", spec={}),
        _object("ConfigMap", "kfp-launcher", data={"defaultPipelineRoot": ""}),
        _object("ConfigMap", "pipeline-install-config", data={"bucketName": "mlpipeline", "dbType": "mysql"}),
        _object("ConfigMap", "workflow-controller-configmap", data={
            "artifactRepository": "archiveLogs: true\ns3:\n  endpoint: seaweedfs.kubeflow.svc:9000\n  bucket: mlpipeline\n"}),
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "seaweedfs", "namespace": "kubeflow"}, "spec": {}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "ml-pipeline", "namespace": "kubeflow"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "ml-pipeline"},
         "subjects": [{"kind": "ServiceAccount", "name": "ml-pipeline", "namespace": "kubeflow"},
                      {"kind": "Group", "name": "system:authenticated", "apiGroup": "rbac.authorization.k8s.io"}]},
    ]


def _by_name(objects: list[dict]) -> dict[str, dict]:
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in objects}


def _env(deployment: dict) -> dict[str, str | None]:
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value") or json.dumps(e.get("valueFrom")) for e in container.get("env") or []}


def test_the_fitting_moves_kfp_into_the_stack_and_onto_its_store_and_secrets():
    fitted = _by_name(kubeflow.stack_objects(_shaped_like_kfp(), STACK))
    # what is left out: the bundled store, v1-only parts, what the add-on or mlstack makes
    assert set(fitted) == {"Deployment/ml-pipeline", "Deployment/mysql", "Deployment/ml-pipeline-ui",
                           "ConfigMap/pipeline-install-config", "ConfigMap/workflow-controller-configmap",
                           "RoleBinding/ml-pipeline"}
    assert {o["metadata"]["namespace"] for o in fitted.values()} == {"mlops"}
    assert [s.get("namespace") for s in fitted["RoleBinding/ml-pipeline"]["subjects"]] == ["mlops", None]
    api = _env(fitted["Deployment/ml-pipeline"])
    assert api["OBJECTSTORECONFIG_HOST"] == "seaweedfs.mlops.svc.cluster.local"
    assert api["OBJECTSTORECONFIG_PORT"] == "8333" and api["OBJECTSTORECONFIG_SECURE"] == "false"
    assert json.loads(api["COMPILED_PIPELINE_SPEC_PATCH"]) == {"podMetadata": {"labels": {"mlstack.dev/pipeline": "true"}}}
    mysql = _env(fitted["Deployment/mysql"])
    assert "MYSQL_ALLOW_EMPTY_PASSWORD" not in mysql
    assert json.loads(mysql["MYSQL_ROOT_PASSWORD"]) == {"secretKeyRef": {"name": "mysql-secret", "key": "password"}}
    ui = _env(fitted["Deployment/ml-pipeline-ui"])
    assert (ui["MINIO_HOST"], ui["MINIO_PORT"], ui["MINIO_SSL"]) == ("seaweedfs", "8333", "false")
    config = fitted["ConfigMap/pipeline-install-config"]["data"]
    assert config["bucketName"] == "mlstack" and config["defaultPipelineRoot"] == "s3://mlstack/kubeflow/artifacts"
    assert config["defaultSecurityContextRunAsNonRoot"] == "true" and config["BLOCK_V1_PIPELINES"] == "true"
    assert config["dbType"] == "mysql"  # KFP's PostgreSQL path does not start in 2.17 (kubeflow/pipelines#13956)
    repository = yaml.safe_load(fitted["ConfigMap/workflow-controller-configmap"]["data"]["artifactRepository"])
    assert repository["archiveLogs"] is True
    assert repository["s3"]["endpoint"] == "seaweedfs.mlops.svc.cluster.local:8333" and repository["s3"]["insecure"]
    assert repository["s3"]["bucket"] == "mlstack" and repository["s3"]["keyFormat"].startswith("kubeflow/logs/")
    for deployment in (o for o in fitted.values() if o["kind"] == "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels["mlstack.dev/pipeline"] == "true" and labels["app.kubernetes.io/name"] == deployment[
            "metadata"]["name"]
        assert labels["application-crd-id"] == "kubeflow-pipelines"  # what the ingress policy selects
    assert kubeflow.manifest_problems(list(fitted.values())) == []
    # what mlstack makes instead: the launcher's providers point at the stack's store, with mlstack's Secret
    providers = json.loads(kubeflow.launcher_providers(STACK.store_host, STACK.store_port))["s3"]["default"]
    assert providers["endpoint"] == "seaweedfs.mlops.svc.cluster.local:8333" and providers["disableSSL"] is True
    assert providers["credentials"]["secretRef"]["secretName"] == kubeflow.STORE_SECRET


def test_a_cluster_scoped_object_the_render_should_not_hold_is_refused():
    objects = [*_shaped_like_kfp(), {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                                     "metadata": {"name": "someone-elses"}, "roleRef": {}, "subjects": []}]
    with pytest.raises(NotAvailableError, match="ClusterRoleBinding someone-elses is cluster-scoped"):
        kubeflow.stack_objects(objects, STACK)


def test_the_policy_rule_names_what_is_not_restricted_or_leaves_the_namespace():
    root = _deployment("ml-pipeline", [])
    root["spec"]["template"]["spec"]["securityContext"] = {}
    problems = kubeflow.manifest_problems([
        root,
        {"kind": "ClusterRole", "metadata": {"name": "wide"}},
        {"kind": "Service", "metadata": {"name": "ml-pipeline-ui"}, "spec": {"type": "LoadBalancer"}},
        {"kind": "Secret", "metadata": {"name": "mysql-secret"}},
        {"kind": "Role", "metadata": {"name": "ml-pipeline"}, "rules": [{"apiGroups": [""], "resources": ["*"],
                                                                         "verbs": ["get"]}]},
    ])
    assert any("ml-pipeline/main: may run as root" in p for p in problems)
    assert any("no RuntimeDefault seccomp" in p for p in problems)
    assert any("its pods lack the pipeline label" in p for p in problems)
    assert any(p.startswith("ClusterRole wide: cluster-scoped") for p in problems)
    assert any(p.startswith("Service ml-pipeline-ui: exposed") for p in problems)
    assert any(p.startswith("Secret mysql-secret") for p in problems)
    assert any(p.startswith("Role ml-pipeline: a wildcard") for p in problems)


def test_the_add_on_takes_the_crds_and_argo_s_priority_class_and_nothing_else():
    cluster = [{"kind": "Namespace", "metadata": {"name": "kubeflow"}},
               {"kind": "CustomResourceDefinition", "metadata": {"name": "workflows.argoproj.io"}},
               {"kind": "ClusterRole", "metadata": {"name": "kubeflow-pipelines-cache-deployer-clusterrole"}}]
    assert [o["metadata"]["name"] for o in addon.select(addon.CLUSTER, cluster)] == ["workflows.argoproj.io"]
    assert [o["metadata"]["name"] for o in addon.select(addon.STACK, _shaped_like_kfp())] == ["workflow-controller"]
    assert addons()["kubeflow-pipelines"].namespace is None  # nothing of it runs a pod


# -- with KFP's real render in the mirror -------------------------------------------------------------------------


@cache
def _mirror() -> Path | None:
    import os

    where = os.environ.get(MIRROR_ENV)
    if where and all((Path(where) / m.file).is_file() for m in MANIFESTS.values()):
        return Path(where)
    return None


needs_render = pytest.mark.skipif(
    _mirror() is None,
    reason=f"needs KFP {MANIFESTS['kubeflow-pipelines'].version}'s render in the mirror directory {MIRROR_ENV} "
    f"names ({', '.join(m.file for m in MANIFESTS.values())}): KFP publishes kustomize bases on GitHub only, which "
    "these machines cannot reach; " + "; ".join(m.render for m in MANIFESTS.values()),
)


@needs_render
def test_the_real_render_fits_and_passes_the_policy_rule():
    from mlstack.components.kubernetes.addons import load_manifests

    objects = load_manifests("kubeflow-pipelines", str(_mirror()))
    fitted = _by_name(kubeflow.stack_objects(objects, STACK))
    assert {"Deployment/ml-pipeline", "Deployment/mysql", "Deployment/metadata-grpc-deployment",
            "Deployment/workflow-controller", "Deployment/ml-pipeline-persistenceagent",
            "Deployment/ml-pipeline-scheduledworkflow"} <= set(fitted)
    assert not [k for k in fitted if "seaweedfs" in k or "cache" in k or k.startswith("Secret/")]
    assert kubeflow.manifest_problems(list(fitted.values())) == []
    text = json.dumps(list(fitted.values()))
    assert "seaweedfs.kubeflow" not in text and '"namespace": "kubeflow"' not in text
    crds = addon.select(addon.CLUSTER, load_manifests(addon.CLUSTER, str(_mirror())))
    assert set(addons()["kubeflow-pipelines"].crds) <= {c["metadata"]["name"] for c in crds}


def test_a_deploy_without_the_render_stops_before_anything_runs(plugin_home, control_plane, tmp_path, monkeypatch):
    from tests.local.conftest import mlstack

    monkeypatch.setenv(MIRROR_ENV, str(tmp_path / "mirror"))
    (tmp_path / "mirror").mkdir()
    done = mlstack("deploy", str(RECIPE), "--yes", "--json", check=False, timeout=120)
    assert done.returncode == 3, done.stdout + done.stderr
    [error] = json.loads(done.stdout)["errors"]
    assert MANIFESTS["kubeflow-pipelines"].file in error["message"]
    assert MANIFESTS["kubeflow-pipelines"].render in error["hint"]
    namespace = load_recipe(RECIPE).target.namespace
    assert control_plane.kubectl("get", "namespace", namespace, "--ignore-not-found", "-o", "name").stdout == ""
    assert not plugin_home.stack_dir(load_recipe(RECIPE).name).joinpath("run").exists()


@pytest.mark.engine
@pytest.mark.timeout(1500)
@needs_render
def test_kfp_through_the_engine_on_a_real_api_server(plugin_home, control_plane, tmp_path, monkeypatch):
    """With KFP's render in the mirror: the add-on's CRDs and KFP next to mlstack's own objects, every object admitted
    under Pod Security `restricted`, every Deployment ready on the test control plane's node, a second deploy
    changes nothing, and the purge of the last stack removes the add-on (its CRDs) too."""
    from tests.local.conftest import mlstack_json

    monkeypatch.setenv(MIRROR_ENV, str(_mirror()))
    cp, name = control_plane, "kubeflow-engine"
    text = RECIPE.read_text().replace("name: mlops-kubeflow", f"name: {name}")
    recipe = tmp_path / f"{name}.yaml"
    recipe.write_text(text.replace("  namespace: mlops-kubeflow\n", f"  namespace: {name}\n  context: {cp.context}\n"))
    try:
        mlstack_json("deploy", str(recipe), "--yes", timeout=1200)
        crds = cp.kubectl("get", "crd", "-o", "name").stdout
        assert "workflows.argoproj.io" in crds and "scheduledworkflows.kubeflow.org" in crds
        assert "applications.app.k8s.io" not in crds and "viewers.kubeflow.org" not in crds
        deployments = {d["metadata"]["name"]: d for d in json.loads(
            cp.kubectl("-n", name, "get", "deploy", "-o", "json").stdout)["items"]}
        assert {"ml-pipeline", "mysql", "metadata-grpc-deployment", "workflow-controller"} <= set(deployments)
        assert all(d["status"].get("readyReplicas") == d["spec"]["replicas"] for d in deployments.values())
        secret = json.loads(cp.kubectl("-n", name, "get", "secret", kubeflow.DB_SECRET, "-o", "json").stdout)
        assert len(secret["data"]["password"]) > 20  # mlstack's generated password, not KFP's empty one
        launcher = json.loads(cp.kubectl("-n", name, "get", "configmap", kubeflow.LAUNCHER, "-o", "json").stdout)
        assert f"seaweedfs.{name}.svc.cluster.local:8333" in launcher["data"]["providers"]
        again = mlstack_json("deploy", str(recipe), "--yes", timeout=600)["result"]
        assert again["changed"] is False, again["changes"]
    finally:
        mlstack_json("destroy", str(recipe), "--yes", "--purge", timeout=900)
    assert cp.kubectl("get", "namespace", name, "--ignore-not-found", "-o", "name").stdout.strip() == ""
    assert "workflows.argoproj.io" not in cp.kubectl("get", "crd", "-o", "name").stdout


def test_doctor_says_which_render_a_mirror_lacks_or_cannot_read(tmp_path, monkeypatch):
    """`mlstack doctor`'s rows for the rendered manifests (charts.manifest_checks: doctor prints them once the engine
    is ready): missing, with who uses it and the command that renders it; unreadable; read, with its size."""
    from mlstack.components.kubernetes.addons import charts

    monkeypatch.setenv(MIRROR_ENV, str(tmp_path))
    (tmp_path / MANIFESTS["kubeflow-pipelines"].file).write_text("kind: [unclosed\n")
    rows = {name: (ok, detail) for name, ok, detail in charts.manifest_checks()}
    cluster, stack = rows["manifests kubeflow-pipelines-cluster"], rows["manifests kubeflow-pipelines"]
    assert not cluster[0] and "missing (used by add-on kubeflow-pipelines)" in cluster[1]
    assert MANIFESTS["kubeflow-pipelines-cluster"].render in cluster[1]
    assert not stack[0] and "is not YAML" in stack[1]
    (tmp_path / MANIFESTS["kubeflow-pipelines"].file).write_text(yaml.safe_dump_all(_shaped_like_kfp()))
    ok, detail = {name: (ok, detail) for name, ok, detail in charts.manifest_checks()}["manifests kubeflow-pipelines"]
    assert ok and detail.endswith(f"({len(_shaped_like_kfp())} objects)")
    assert "orchestrator: kubeflow" in charts._users()["kubeflow-pipelines"]
    monkeypatch.delenv(MIRROR_ENV)
    assert all(ok and "not needed unless" in detail for _, ok, detail in charts.manifest_checks())


def test_verify_and_connect_reach_kfp_s_api_server_through_a_forward():
    """`mlstack connect` (and `verify`) forward to KFP's `ml-pipeline` Service on its HTTP port and point the client's
    URL (and so ZenML's `kubeflow_hostname`) at it."""
    from mlstack.components.kubernetes.connect import at_local_ports, forwards
    from mlstack.engine.offline import plan

    recipe = load_recipe(RECIPE)
    clients = plan(recipe).outputs["mlstack"]["components"]
    [forward] = [f for f in forwards(recipe.target, recipe.name, clients) if f.kind == "orchestrator"]
    assert (forward.service, forward.port, forward.namespace) == ("ml-pipeline", 8888, recipe.target.namespace)
    assert at_local_ports(clients, {forward: 41234})["orchestrator"]["url"] == "http://127.0.0.1:41234"
    assert clients["orchestrator"]["artifacts_uri"] == "s3://mlstack/kubeflow/artifacts"


def test_the_verify_check_is_kfp_s_health_call():
    """The check asks what `kfp.Client().get_kfp_healthz()` asks (GET /apis/v2beta1/healthz), and fails on anything
    but a JSON answer. A stand-in on 127.0.0.1 answers: KFP's API server is not served to these machines."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from mlstack.clients.models import OrchestratorClient
    from mlstack.clients.verify import CHECKS

    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            asked.append(self.path)
            healthy = self.path == "/apis/v2beta1/healthz"
            body = json.dumps({"multi_user": False}).encode() if healthy else b"not found"
            self.send_response(200 if healthy else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        said = CHECKS["kubeflow"](OrchestratorClient(flavor="kubeflow", url=url), {})
        assert said == f"Kubeflow Pipelines' API server healthy at {url} (single-user)"
        assert asked == ["/apis/v2beta1/healthz"]
        with pytest.raises(RuntimeError, match="HTTP 404"):
            CHECKS["kubeflow"](OrchestratorClient(flavor="kubeflow", url=url + "/elsewhere"), {})
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
