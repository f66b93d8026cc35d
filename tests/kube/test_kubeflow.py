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
                       "mlstack", "kubeflow", "registry-pull")


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
        _object("ServiceAccount", "pipeline-runner"),
        _object("ServiceAccount", "ml-pipeline"),
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
    return {e["name"]: e["value"] if "value" in e else json.dumps(e.get("valueFrom")) for e in container.get("env") or []}


def test_the_fitting_moves_kfp_into_the_stack_and_onto_its_store_and_secrets():
    fitted = _by_name(kubeflow.stack_objects(_shaped_like_kfp(), STACK))
    # what is left out: the bundled store, v1-only parts, what the add-on or mlstack makes
    assert set(fitted) == {"Deployment/ml-pipeline", "Deployment/mysql", "Deployment/ml-pipeline-ui",
                           "ConfigMap/pipeline-install-config", "ConfigMap/workflow-controller-configmap",
                           "RoleBinding/ml-pipeline", "ServiceAccount/pipeline-runner", "ServiceAccount/ml-pipeline"}
    # the steps' account pulls the stack registry's images (ZenML passes KFP 2 no pod settings but node selectors)
    assert fitted["ServiceAccount/pipeline-runner"]["imagePullSecrets"] == [{"name": "registry-pull"}]
    assert "imagePullSecrets" not in fitted["ServiceAccount/ml-pipeline"]
    assert {o["metadata"]["namespace"] for o in fitted.values()} == {"mlops"}
    assert [s.get("namespace") for s in fitted["RoleBinding/ml-pipeline"]["subjects"]] == ["mlops", None]
    api = _env(fitted["Deployment/ml-pipeline"])
    assert api["OBJECTSTORECONFIG_HOST"] == "seaweedfs.mlops.svc.cluster.local"
    assert api["OBJECTSTORECONFIG_PORT"] == "8333" and api["OBJECTSTORECONFIG_SECURE"] == "false"
    assert json.loads(api["COMPILED_PIPELINE_SPEC_PATCH"]) == {"podMetadata": {"labels": {"mlstack.dev/pipeline": "true"}}}
    mysql = _env(fitted["Deployment/mysql"])
    assert "MYSQL_ALLOW_EMPTY_PASSWORD" not in mysql
    assert json.loads(mysql["MYSQL_ROOT_PASSWORD"]) == {"secretKeyRef": {"name": "mysql-secret", "key": "password"}}
    # the Secret's password on every start (a kept volume keeps the first deploy's otherwise), from a mounted key
    pod = fitted["Deployment/mysql"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["command"] == ["/bin/sh", "-c", kubeflow.mysql_start_script(), "mysql-start"]
    assert {"name": "mlstack-init", "mountPath": "/etc/mlstack-mysql", "readOnly": True} in container["volumeMounts"]
    assert {"name": "mlstack-init", "secret": {"secretName": "mysql-secret", "defaultMode": 0o440,
                                               "items": [{"key": "init.sql", "path": "init.sql"}]}} in pod["volumes"]
    assert kubeflow.init_sql("pw-1_A") == "ALTER USER IF EXISTS 'root'@'%' IDENTIFIED BY 'pw-1_A';\n"
    ui = _env(fitted["Deployment/ml-pipeline-ui"])
    assert (ui["MINIO_HOST"], ui["MINIO_NAMESPACE"], ui["MINIO_PORT"], ui["MINIO_SSL"]) == (
        "seaweedfs.mlops.svc.cluster.local", "", "8333", "false")
    assert ui["ARGO_ARCHIVE_BUCKETNAME"] == "mlstack" and ui["ARGO_KEYFORMAT"].startswith("kubeflow/logs/")
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
        assert labels["app.kubernetes.io/name"] == deployment["metadata"]["name"]  # what its ingress policy selects
        assert labels["application-crd-id"] == "kubeflow-pipelines"  # what KFP's egress policy selects
        assert "mlstack.dev/pipeline" not in labels  # KFP's own pods are not the steps: they reach only what they call
    assert kubeflow.manifest_problems(list(fitted.values())) == []
    # what mlstack makes instead: the launcher's providers point at the stack's store, with mlstack's Secret
    providers = json.loads(kubeflow.launcher_providers(STACK.store_host, STACK.store_port))["s3"]["default"]
    assert providers["endpoint"] == "seaweedfs.mlops.svc.cluster.local:8333" and providers["disableSSL"] is True
    assert providers["credentials"]["secretRef"]["secretName"] == kubeflow.STORE_SECRET


def test_mysql_runs_the_init_file_only_once_its_database_exists(tmp_path):
    """The start script hands KFP's arguments to the image's entrypoint, and adds the init file only where the
    database exists: `--initialize` (the image's first start) runs an init file in a bootstrap mode that refuses
    account statements. A stand-in entrypoint records what it is given."""
    import subprocess

    data, seen = tmp_path / "data", tmp_path / "seen"
    data.mkdir()
    entrypoint = tmp_path / "entrypoint.sh"
    entrypoint.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {seen}\n')
    entrypoint.chmod(0o755)
    script = kubeflow.mysql_start_script(str(data), str(entrypoint))
    args = ["--datadir", str(data), "--disable-log-bin"]

    def started() -> list[str]:
        subprocess.run(["/bin/sh", "-c", script, "mysql-start", *args], check=True, timeout=30)
        return seen.read_text().splitlines()

    assert started() == args  # a new volume: the image makes the database with MYSQL_ROOT_PASSWORD
    (data / "mysql").mkdir()
    assert started() == [*args, "--init-file=/etc/mlstack-mysql/init.sql"]  # a kept one: the current password


def test_kind_is_refused_naming_the_line_and_field(home, tmp_path):
    """ZenML's kubeflow orchestrator refuses a registry on localhost, which is how kind's nodes pull images."""
    from typer.testing import CliRunner

    from mlstack.cli import app
    from tests.conftest import state_files

    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE.read_text().replace("  type: kubernetes\n", "  type: kind\n"))
    line_of = next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if ln.strip() == "flavor: kubeflow")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert line.startswith(f"{path}:{line_of}: components.orchestrator.flavor: ") and "localhost" in line
    assert state_files(home) == []


def test_each_part_of_kfp_admits_exactly_its_callers():
    """KFP's parts admit who calls them (the steps, by the pipeline label; KFP's parts, by name) on their ports;
    KFP's own pods reach those parts, the object store and the Kubernetes API; the steps reach what they call."""
    from mlstack.engine.offline import plan

    planned = plan(load_recipe(RECIPE))
    policies = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in
                planned.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")}

    def admitted(app: str) -> tuple[list[dict], list[int]]:
        [rule] = policies[f"allow-{app}-ingress"]["ingress"]
        return [f["podSelector"]["matchLabels"] for f in rule["from"]], [p["port"] for p in rule["ports"]]

    assert admitted("mysql") == ([{"app.kubernetes.io/name": "ml-pipeline"},
                                  {"app.kubernetes.io/name": "metadata-grpc-deployment"}], [3306])
    sources, ports = admitted("ml-pipeline")
    assert {"mlstack.dev/pipeline": "true"} in sources and ports == [8888, 8887]
    assert admitted("metadata-envoy-deployment") == ([{"app.kubernetes.io/name": "ml-pipeline-ui"}], [9090])
    assert "allow-ml-pipeline-ui-ingress" not in policies  # the UI: through `mlstack connect` only
    kfp = policies["allow-kubeflow-pipelines-egress"]
    assert kfp["podSelector"]["matchLabels"] == kubeflow.KFP_PODS
    reached = {(json.dumps(r["to"][0]["podSelector"]["matchLabels"]), r["ports"][0]["port"])
               for r in kfp["egress"] if r.get("to")}
    assert (json.dumps({"app.kubernetes.io/name": "seaweedfs"}), 8333) in reached
    assert (json.dumps({"app.kubernetes.io/name": "mlflow"}), 5000) not in reached
    store = policies["allow-seaweedfs-ingress"]["ingress"][0]["from"]
    assert {"podSelector": {"matchLabels": kubeflow.KFP_PODS}} in store
    steps = policies["allow-pipelines-egress"]
    assert steps["podSelector"]["matchLabels"] == {"mlstack.dev/pipeline": "true"}
    stepped = {(r["to"][0]["podSelector"]["matchLabels"].get("app.kubernetes.io/name"), r["ports"][0]["port"])
               for r in steps["egress"] if r.get("to")}
    assert {("ml-pipeline", 8887), ("metadata-grpc-deployment", 8080), ("seaweedfs", 8333), ("mlflow", 5000)} <= stepped
    assert ("mysql", 3306) not in stepped


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
    assert any("its pods lack the labels the stack's policies select" in p for p in problems)
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


def test_an_add_on_the_cluster_holds_needs_no_render_here_a_new_one_does(tmp_path):
    """Another stack's deploy (or a purge) re-runs the add-ons stack with what it holds: what the KFP add-on applied
    is in that stack's export, so only a first install needs the render in this machine's mirror."""
    from mlstack.components.kubernetes.addons import check_mirror, ordered

    wanted = ordered(["kubeflow-pipelines"])
    with pytest.raises(NotAvailableError, match="MLSTACK_CHART_MIRROR names none"):
        check_mirror(wanted, None)
    with pytest.raises(NotAvailableError, match=f"{tmp_path}.*lacks kubeflow-pipelines-cluster-2.17.0.yaml"):
        check_mirror(wanted, str(tmp_path))
    applied = {"kubeflow-pipelines": {m: [] for m in addons()["kubeflow-pipelines"].manifests}}
    check_mirror(wanted, None, applied)
    check_mirror(wanted, str(tmp_path), applied)


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
    for verb in (["preview"], ["deploy", "--yes"]):  # a preview would show every KFP object deleted
        done = mlstack(*verb[:1], str(RECIPE), *verb[1:], "--json", check=False, timeout=120)
        assert done.returncode == 3, done.stdout + done.stderr
        [error] = json.loads(done.stdout)["errors"]
        assert MANIFESTS["kubeflow-pipelines"].file in error["message"]
        assert MANIFESTS["kubeflow-pipelines"].render in error["hint"]
    namespace = load_recipe(RECIPE).target.namespace
    assert control_plane.kubectl("get", "namespace", namespace, "--ignore-not-found", "-o", "name").stdout == ""
    assert not plugin_home.stack_dir(load_recipe(RECIPE).name).joinpath("run").exists()


@pytest.mark.engine
@pytest.mark.timeout(2400)
@needs_render
def test_kfp_through_the_engine_on_a_real_api_server(plugin_home, control_plane, tmp_path, monkeypatch):
    """With KFP's render in the mirror: the add-on's CRDs and KFP next to mlstack's own objects, every object admitted
    under Pod Security `restricted`, every Deployment ready on the test control plane's node, a second deploy
    changes nothing. A second stack shares the add-on; the first one's purge from a machine without the render keeps
    it as it is (the add-ons stack applies what it applied before), and the purge of the last stack removes it."""
    from tests.local.conftest import mlstack, mlstack_json

    monkeypatch.setenv(MIRROR_ENV, str(_mirror()))
    cp = control_plane
    recipes = {}
    for name in ("kubeflow-engine", "kubeflow-second"):
        text = RECIPE.read_text().replace("name: mlops-kubeflow", f"name: {name}")
        recipes[name] = tmp_path / f"{name}.yaml"
        recipes[name].write_text(
            text.replace("  namespace: mlops-kubeflow\n", f"  namespace: {name}\n  context: {cp.context}\n"))
    name, recipe = "kubeflow-engine", recipes["kubeflow-engine"]
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
        runner = json.loads(cp.kubectl("-n", name, "get", "serviceaccount", "pipeline-runner", "-o", "json").stdout)
        assert runner["imagePullSecrets"] == [{"name": "registry-pull"}]
        again = mlstack_json("deploy", str(recipe), "--yes", timeout=600)["result"]
        assert again["changed"] is False, again["changes"]
        mlstack_json("deploy", str(recipes["kubeflow-second"]), "--yes", timeout=1200)
        monkeypatch.delenv(MIRROR_ENV)  # the first stack's purge from a machine without the render
        mlstack_json("destroy", str(recipe), "--yes", "--purge", timeout=900)
        assert "workflows.argoproj.io" in cp.kubectl("get", "crd", "-o", "name").stdout  # the second uses it
    finally:
        monkeypatch.setenv(MIRROR_ENV, str(_mirror()))
        for each in recipes.values():  # exit 5: purged above
            assert mlstack("destroy", str(each), "--yes", "--purge", timeout=900, check=False).returncode in (0, 5)
    for each in recipes:
        assert cp.kubectl("get", "namespace", each, "--ignore-not-found", "-o", "name").stdout.strip() == ""
    assert "workflows.argoproj.io" not in cp.kubectl("get", "crd", "-o", "name").stdout


@pytest.mark.engine
@pytest.mark.timeout(1200)
@needs_render
def test_the_add_on_is_kept_as_applied_when_another_add_on_changes_from_a_machine_without_the_render(
        plugin_home, control_plane, chart_mirror, monkeypatch):
    """Stack A's deploy installs the KFP add-on from the render; stack B (which needs cert-manager) deploys from a
    mirror that holds the charts but not KFP's render: the add-ons stack re-applies what it applied before (its
    export) beside cert-manager, and changes nothing of it. Then both leave, and the add-ons stack with them."""
    from mlstack import registry
    from mlstack.components.kubernetes import access
    from mlstack.components.kubernetes.addons import stack_name
    from mlstack.components.kubernetes.settings import KubernetesTarget
    from mlstack.engine import operations

    cp, said = control_plane, []
    hooks = registry.target("kubernetes").lifecycle()
    backend = operations.backend_url(plugin_home)

    def share(stack: str, needs: tuple[str, ...], leaving: bool) -> str | None:
        placement = KubernetesTarget(type="kubernetes", context=cp.context, namespace=f"share-{stack}")
        shared = hooks.shared(placement, stack, needs, leaving)
        assert shared is not None
        return operations.run_shared(plugin_home, shared, backend, None, said.append, leaving)

    def label(stack: str, uses: str) -> None:
        path = cp.workdir / f"ns-{stack}.json"
        path.write_text(json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": f"share-{stack}", "labels": {"mlstack.dev/stack": stack, f"addons.mlstack.dev/{uses}": "true"}}}))
        cp.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))

    monkeypatch.setenv(MIRROR_ENV, str(_mirror()))
    assert share("a", ("kubeflow-pipelines",), False) is None
    label("a", "kubeflow-pipelines")
    uid = json.loads(cp.kubectl("get", "crd", "workflows.argoproj.io", "-o", "json").stdout)["metadata"]["uid"]
    monkeypatch.setenv(MIRROR_ENV, str(chart_mirror))  # charts, and no KFP render
    try:
        assert share("b", ("cert-manager",), False) is None
        label("b", "cert-manager")
        crd = json.loads(cp.kubectl("get", "crd", "workflows.argoproj.io", "-o", "json").stdout)
        assert crd["metadata"]["uid"] == uid  # the same object, kept
        assert cp.kubectl("get", "crd", "certificates.cert-manager.io", "-o", "name").stdout.strip()
        placement = KubernetesTarget(type="kubernetes", context=cp.context, namespace="share-b")
        again = operations.shared_plan(plugin_home, hooks.shared(placement, "b", ("cert-manager",), False), backend,
                                       None, said.append, "engine", "kubernetes")
        assert again and again["plan"]["changed"] is False, again
    finally:
        cp.kubectl("delete", "namespace", "share-a", "share-b", "--wait=false", "--ignore-not-found")
        share("b", ("cert-manager",), True)
        share("a", ("kubeflow-pipelines",), True)
    assert "workflows.argoproj.io" not in cp.kubectl("get", "crd", "-o", "name").stdout
    name = stack_name(access.connect(cp.context).server)
    assert not list((plugin_home.root / "state").rglob(f"{name}.json"))


def test_render_writes_the_fitted_objects_or_says_what_it_lacks(home, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from mlstack.cli import app

    out = tmp_path / "out"
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    assert CliRunner().invoke(app, ["render", str(RECIPE), "--out", str(out)]).exit_code == 0
    missing = (out / "MANIFESTS.md").read_text()
    assert MANIFESTS["kubeflow-pipelines"].render in missing and "exit 3" in missing
    assert not list(out.glob("*-deployment-ml-pipeline.yaml"))
    mirror = tmp_path / "mirror"  # objects shaped as KFP's render shapes them (no render reaches these machines)
    mirror.mkdir()
    (mirror / MANIFESTS["kubeflow-pipelines"].file).write_text(yaml.safe_dump_all(_shaped_like_kfp()))
    monkeypatch.setenv(MIRROR_ENV, str(mirror))
    assert CliRunner().invoke(app, ["render", str(RECIPE), "--out", str(out)]).exit_code == 0
    assert not (out / "MANIFESTS.md").exists()
    [api] = out.glob("*-deployment-ml-pipeline.yaml")
    text = api.read_text()
    assert "namespace: mlops-kubeflow" in text and "seaweedfs.mlops-kubeflow.svc.cluster.local" in text
