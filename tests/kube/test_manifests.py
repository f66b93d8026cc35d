"""The kubernetes recipes' manifests on a real API server: `mlstack render` of every kubernetes recipe in recipes/
is applied server-side into a namespace enforcing Pod Security `restricted`; every object is admitted, every
workload becomes Ready, claims bind, Services get endpoints; a second apply changes nothing; deleting leaves
nothing. The client config names exactly the Services, ports and Secrets that exist on the server."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlstack.cli import app
from mlstack.components.kubernetes import addons, clusters
from mlstack.engine.offline import Plan, plan
from mlstack.recipe.loader import load_recipe
from tests.conftest import RECIPES
from tests.kube import charts
from tests.kube.controlplane import ControlPlane

runner = CliRunner()
KUBERNETES_RECIPES = [p for p in sorted(RECIPES.glob("*.yaml")) if load_recipe(p).target.type == "kubernetes"]
each_recipe = pytest.mark.parametrize("path", KUBERNETES_RECIPES, ids=[p.stem for p in KUBERNETES_RECIPES])
# Applied to the test control plane as they are: the recipes on a cluster of yours. A recipe whose stack creates its
# cluster (eks, gke, aks) puts its volumes on that cloud's StorageClass and its pods on that cloud's node pools:
# test_real_managed_clusters.py deploys those through the engine, with a stand-in for the pools.
APPLIED_RECIPES = [p for p in KUBERNETES_RECIPES if not clusters.of(load_recipe(p).target).creates_cluster]
each_applied_recipe = pytest.mark.parametrize("path", APPLIED_RECIPES, ids=[p.stem for p in APPLIED_RECIPES])
WORKLOADS = {"Deployment", "StatefulSet"}


@cache
def planned(path: Path) -> Plan:
    return plan(load_recipe(path))


def generated_secrets(p: Plan) -> list[dict]:
    """The Secrets render leaves for the user to create, with the values the offline plan generated for them."""
    return [{"apiVersion": "v1", "kind": "Secret", "type": r.inputs.get("type", "Opaque"),
             "metadata": {"name": r.inputs["metadata"]["name"], "namespace": r.inputs["metadata"]["namespace"]},
             "stringData": r.raw["stringData"]}
            for r in p.of_type("kubernetes:core/v1:Secret") if r.inputs.get("stringData") == "[secret]"]


def objects(out: Path) -> list[dict]:
    from ruamel.yaml import YAML

    return [YAML(typ="safe").load(f.read_text()) for f in sorted(out.glob("[0-9]*.yaml"))]


@pytest.fixture()
def cluster_runs_addons(control_plane: ControlPlane, path: Path, tmp_path: Path) -> None:
    """A cluster that runs the add-ons the recipe's flavors need (KServe): their CRDs, from the real charts, where
    the rendered manifests' custom resources find their types (render writes the stack's own objects only)."""
    recipe = load_recipe(path)
    crds = [crd for a in addons.ordered(recipe.shared_needs()) if a.name == "kserve" for crd in a.crds]
    if crds:
        charts.install_crds(control_plane, crds, tmp_path)


@pytest.fixture()
def rendered(path: Path, tmp_path: Path, home) -> Path:
    out = tmp_path / "manifests"
    result = runner.invoke(app, ["render", str(path), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert (out / "Kustomization").exists() and (out / "SECRETS.md").exists()
    assert not list(out.glob("kustomization.*")), "kubectl apply -f DIR would read it and refuse kind Kustomization"
    return out


@each_recipe
def test_every_yaml_reader_reads_the_same_objects(path: Path, rendered: Path):
    """kubectl -f and PyYAML read YAML 1.1 (`off` is false there), kustomize and ruamel YAML 1.2: one text for all."""
    import yaml as yaml_11
    from ruamel.yaml import YAML

    files = [*sorted(rendered.glob("*.yaml")), rendered / "Kustomization"]
    for f in files:
        text = f.read_text()
        assert yaml_11.safe_load(text) == YAML(typ="safe").load(text), f.name
    env = [e for o in objects(rendered) if o["kind"] in WORKLOADS | {"Job"}
           for c in o["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])]
    assert all(isinstance(e["value"], str) for e in env if "value" in e)
    assert any(e["value"] in ("off", "on", "true", "false") for e in env if "value" in e), "nothing ambiguous tested"


def volumes_of(cp: ControlPlane, namespace: str, wait: float = 0) -> list[str]:
    """PersistentVolumes still bound to the namespace's claims; the provisioner deletes them a moment after their
    claims go (reclaim policy Delete), so wait up to `wait` seconds for none to be left."""
    import time

    deadline = time.monotonic() + wait
    while True:
        volumes = json.loads(cp.kubectl("get", "pv", "-o", "json").stdout)["items"]
        left = [v["metadata"]["name"] for v in volumes if (v["spec"].get("claimRef") or {}).get("namespace") == namespace]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


def apply(cp: ControlPlane, out: Path, how: str = "-k") -> str:
    """`-k`: kustomize reads the directory (YAML 1.2 strings); `-f`: kubectl reads each file (YAML 1.1)."""
    done = cp.kubectl("apply", "--server-side", "--field-manager=mlstack-test", how, str(out))
    assert "would violate PodSecurity" not in done.stderr, done.stderr
    return done.stdout


@each_applied_recipe
@pytest.mark.timeout(300)
def test_rendered_manifests_are_admitted_and_become_ready(control_plane: ControlPlane, path: Path, rendered: Path,
                                                          cluster_runs_addons):
    cp, p, objs = control_plane, planned(path), objects(rendered)
    namespace = next(o["metadata"]["name"] for o in objs if o["kind"] == "Namespace")
    ns_labels = next(o for o in objs if o["kind"] == "Namespace")["metadata"]["labels"]
    assert ns_labels["pod-security.kubernetes.io/enforce"] == "restricted"
    try:
        cp.kubectl("apply", "--server-side", "-f", str(next(rendered.glob("*-namespace-*.yaml"))))
        # Admission refuses pods until the namespace's `default` ServiceAccount exists, and a refused ReplicaSet
        # backs off for seconds to minutes: wait for it, as a cluster's own controllers make it within a second.
        cp.kubectl("wait", "--for=create", "serviceaccount/default", "-n", namespace, "--timeout=60s")
        cp.kubectl("apply", "--server-side", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                                          "items": generated_secrets(p)}))
        apply(cp, rendered, "-f")
        for o in objs:
            if o["kind"] in WORKLOADS:
                cp.kubectl("-n", namespace, "rollout", "status", f"{o['kind'].lower()}/{o['metadata']['name']}",
                           "--timeout=90s")
            if o["kind"] == "Job":
                cp.kubectl("-n", namespace, "wait", "--for=condition=complete", f"job/{o['metadata']['name']}",
                           "--timeout=90s")
        cp.kubectl("-n", namespace, "wait", "--for=jsonpath={.status.phase}=Bound", "pvc", "--all", "--timeout=60s")
        pods = json.loads(cp.kubectl("-n", namespace, "get", "pods", "-o", "json").stdout)["items"]
        assert pods and all(pod["status"]["phase"] in ("Running", "Succeeded") for pod in pods)
        for o in objs:
            if o["kind"] == "Service":
                selector = f"kubernetes.io/service-name={o['metadata']['name']}"
                cp.kubectl("-n", namespace, "wait", "--for=jsonpath={.endpoints[0].addresses[0]}", "endpointslice",
                           "-l", selector, "--timeout=60s")
        for kind in ("NetworkPolicy", "Role", "RoleBinding", "ServiceAccount"):
            wanted = {o["metadata"]["name"] for o in objs if o["kind"] == kind}
            found = {i["metadata"]["name"] for i in json.loads(
                cp.kubectl("-n", namespace, "get", kind.lower(), "-o", "json").stdout)["items"]}
            assert wanted <= found, kind
        # A second apply, through kustomize this time, changes nothing: the server's objects already are what the
        # manifests say, and both readers read the same objects from them.
        diff = cp.kubectl("diff", "--server-side", "--field-manager=mlstack-test", "-k", str(rendered), check=False)
        assert diff.returncode == 0, diff.stdout + diff.stderr
    finally:
        cp.kubectl("delete", "-k", str(rendered), "--wait=true", "--timeout=90s", "--ignore-not-found", check=False)
    left = cp.kubectl("get", "namespace", namespace, "--ignore-not-found", "-o", "name").stdout.strip()
    assert left == "", f"namespace {namespace} still there after delete"
    assert volumes_of(cp, namespace, wait=60) == [], "volumes left after their claims were deleted"


@each_applied_recipe
@pytest.mark.timeout(300)
def test_client_config_names_what_exists_on_the_server(control_plane: ControlPlane, path: Path, rendered: Path,
                                                        cluster_runs_addons):
    cp, p = control_plane, planned(path)
    clients = p.outputs["mlstack"]["components"]
    namespace = load_recipe(path).target.namespace or load_recipe(path).name
    kind_cluster = load_recipe(path).target.cluster.type == "kind"
    try:
        apply(cp, rendered)
        services = {s["metadata"]["name"]: s for s in json.loads(
            cp.kubectl("-n", namespace, "get", "services", "-o", "json").stdout)["items"]}

        def service_of(url: str) -> tuple[dict, int]:
            host, _, port = url.split("://")[-1].split("/")[0].rpartition(":")
            name, ns = host.split(".")[0], host.split(".")[1]
            assert ns == namespace and name in services, url
            return services[name], int(port)

        serving = clients["serving"]
        in_cluster = [clients["object_store"]["cluster_endpoint_url"], clients["tracking"]["cluster_tracking_uri"]]
        if serving["flavor"] == "kserve":  # one Service per model, made by KServe: the runtime and account exist
            cp.kubectl("-n", namespace, "get", "servingruntime", serving["runtime"])
            account = json.loads(cp.kubectl("-n", namespace, "get", "sa", serving["service_account"], "-o",
                                            "json").stdout)
            assert [s["name"] for s in account["secrets"]] == ["kserve-s3"]
            assert serving["namespace"] == namespace and "{model}-predictor." + namespace in serving["base_url"]
        else:
            in_cluster.append(serving["cluster_base_url"])
        for url in in_cluster:
            svc, port = service_of(url)
            assert port in [x["port"] for x in svc["spec"]["ports"]], url
        if kind_cluster:  # what the user's machine uses: 127.0.0.1:<host port>, kind maps it to the node port
            node_ports = {x["nodePort"] for s in services.values() for x in s["spec"]["ports"] if x.get("nodePort")}
            host = [clients["object_store"]["endpoint_url"], clients["tracking"]["tracking_uri"],
                    clients["serving"]["base_url"], "http://" + clients["registry"]["uri"]]
            assert {int(u.rsplit(":", 1)[1].split("/")[0]) for u in host} <= node_ports
        secrets = {s["metadata"]["name"] for s in generated_secrets(p)}
        assert clients["registry"]["pull_secret"] in secrets
        referenced = {ref["name"] for o in objects(rendered) if o["kind"] in WORKLOADS | {"Job"}
                      for c in o["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])
                      if (ref := (e.get("valueFrom") or {}).get("secretKeyRef"))}
        assert referenced <= secrets
    finally:
        cp.kubectl("delete", "-k", str(rendered), "--wait=false", "--ignore-not-found", check=False)


@pytest.mark.timeout(120)
def test_the_namespace_refuses_an_insecure_pod_spec(control_plane: ControlPlane, tmp_path: Path, home):
    """The proof that admission above means something: the same Deployment with one weakened setting is refused."""
    from ruamel.yaml import YAML

    path = next(p for p in KUBERNETES_RECIPES if p.stem == "kubernetes")
    out = tmp_path / "manifests"
    assert runner.invoke(app, ["render", str(path), "--out", str(out)]).exit_code == 0
    namespace = YAML(typ="safe").load(next(out.glob("*-namespace-*.yaml")).read_text())
    namespace["metadata"]["name"] = "weakened"
    deployment = YAML(typ="safe").load(next(out.glob("*-deployment-mlserver.yaml")).read_text())
    deployment["metadata"]["namespace"] = "weakened"
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    try:
        cp = control_plane
        cp.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(namespace))
        done = cp.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(deployment))
        assert "would violate PodSecurity" in done.stderr and "allowPrivilegeEscalation" in done.stderr
        cp.kubectl("-n", "weakened", "wait", "--for=jsonpath={.status.conditions[?(@.type=='ReplicaFailure')].status}=True",
                   "replicaset", "-l", "app.kubernetes.io/name=mlserver", "--timeout=60s")
        assert json.loads(cp.kubectl("-n", "weakened", "get", "pods", "-o", "json").stdout)["items"] == []
    finally:
        control_plane.kubectl("delete", "namespace", "weakened", "--wait=false", "--ignore-not-found", check=False)


def test_render_owns_its_folder_removes_what_no_longer_belongs_and_refuses_a_foreign_one(tmp_path: Path, home):
    path, out = RECIPES / "kubernetes.yaml", tmp_path / "manifests"
    assert runner.invoke(app, ["render", str(path), "--out", str(out)]).exit_code == 0
    before = {f.name for f in out.iterdir()}
    assert any("mlserver" in name for name in before) and ".mlstack-render" in before
    smaller = tmp_path / "smaller.yaml"
    smaller.write_text(path.read_text().replace("  serving:\n    flavor: mlserver\n", ""))
    again = runner.invoke(app, ["render", str(smaller), "--out", str(out), "--json"])
    assert again.exit_code == 0, again.output
    result = json.loads(again.stdout)["result"]
    after = {f.name for f in out.iterdir()}
    assert not any("mlserver" in name for name in after), after  # `kubectl apply -f DIR` would bring it back
    assert set(result["removed"]) == before - after and after == {*result["files"], ".mlstack-render"}

    foreign = tmp_path / "theirs"
    foreign.mkdir()
    (foreign / "keep.yaml").write_text("kept: true\n")
    refused = runner.invoke(app, ["render", str(path), "--out", str(foreign), "--json"])
    assert refused.exit_code == 2 and "--force" in json.loads(refused.stdout)["errors"][0]["hint"]
    assert [f.name for f in foreign.iterdir()] == ["keep.yaml"]
    forced = runner.invoke(app, ["render", str(path), "--out", str(foreign), "--force"])
    assert forced.exit_code == 0 and (foreign / "keep.yaml").read_text() == "kept: true\n"
