"""Cluster add-ons (components/kubernetes/addons/): installed once per cluster as their own Pulumi stack, shared by
the stacks whose namespaces say they use them, removed with the last of them.

What runs here: the real charts (packaged from their release tags' sources, tests/kube/charts.py) as data, and
cert-manager's chart through the engine on the test control plane; KServe's own objects in a stack through the
engine, against the CRDs of KServe's real CRD chart. KServe's controller chart cannot finish here: its Certificate
and Issuer are validated by cert-manager's webhook, and no pod of this control plane runs (kwok nodes run no
containers), so the API server's call to the webhook fails. That lifecycle runs on a cluster whose nodes run
containers: set MLSTACK_TEST_KUBE_CONTEXT (test_real_cluster_addons.py)."""

from __future__ import annotations

import json
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from mlstack import registry
from mlstack.components.kubernetes import access, addons
from mlstack.components.kubernetes.settings import KubernetesTarget
from mlstack.engine import operations
from mlstack.errors import ExitCode, NotAvailableError, UsageError
from mlstack.home import Home
from mlstack.versions import CHART_SOURCES, CHARTS
from tests.conftest import RECIPES
from tests.kube import charts
from tests.kube.controlplane import ControlPlane
from tests.local.conftest import mlstack, mlstack_json


def _archive_file(mirror: Path, chart: str, member: str) -> bytes:
    spec = CHARTS[chart]
    with tarfile.open(mirror / spec.archive) as tar:
        found = tar.extractfile(f"{spec.name}/{member}")
        assert found is not None, member
        return found.read()


def _leaves(values: dict, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in values.items():
        if isinstance(value, dict) and value:
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key)


# -- as data ------------------------------------------------------------------------------------------------------

def test_every_chart_is_pinned_with_its_source():
    from mlstack.registry import flavors_for

    added = {c for a in addons.addons().values() for c in a.charts}
    assert added == set(CHART_SOURCES)  # the add-ons' charts: the tests build their mirror from the sources
    for name in added:
        assert CHARTS[name].version == CHART_SOURCES[name][1] and CHARTS[name].oci
    # every chart is installed by an add-on or a flavor, and nothing else is pinned
    assert added | {c for f in flavors_for("kubernetes") for c in f.charts} == set(CHARTS)


@pytest.mark.parametrize("chart", sorted(CHART_SOURCES))
def test_the_values_mlstack_sets_are_keys_the_chart_documents(chart_mirror, chart):
    """Each value mlstack passes is a key of the chart's own values.yaml (a misspelt key is silently ignored by
    Helm), and cert-manager's chart schema admits them."""
    addon = next(a for a in addons.addons().values() if chart in a.charts)
    documented = yaml.safe_load(_archive_file(chart_mirror, chart, "values.yaml")) or {}
    for path in _leaves(addon.values(chart)):
        node = documented
        for key in path:
            assert isinstance(node, dict) and key in node, f"{chart}: {'.'.join(path)} is not in its values.yaml"
            node = node[key]
    if chart == "cert-manager":
        import jsonschema

        schema = json.loads(_archive_file(chart_mirror, chart, "values.schema.json"))
        jsonschema.validate({**documented, **addon.values(chart)}, schema)


def test_kserve_runs_in_standard_mode_and_exposes_nothing(chart_mirror):
    values = addons.addons()["kserve"].values("kserve-resources")["kserve"]["controller"]
    assert values["deploymentMode"] == "Standard"
    assert values["gateway"]["disableIngressCreation"] is True
    assert values["gateway"]["ingressGateway"] == {"enableGatewayApi": False, "createGateway": False}
    # the chart's own default is Knative: without mlstack's value KServe would need Knative and Istio
    default = yaml.safe_load(_archive_file(chart_mirror, "kserve-resources", "values.yaml"))
    assert default["kserve"]["controller"]["deploymentMode"] == "Knative"


def test_add_ons_come_after_what_they_need_and_a_cluster_s_own_are_left_alone():
    assert [a.name for a in addons.ordered(["kserve"])] == ["cert-manager", "kserve"]
    assert [a.name for a in addons.managed(["kserve"], [])] == ["cert-manager", "kserve"]
    assert [a.name for a in addons.managed(["kserve"], ["cert-manager"])] == ["kserve"]
    # KServe already there: what it needs is its installer's business, not mlstack's
    assert addons.managed(["kserve"], ["kserve"]) == []


def test_charts_come_from_the_publisher_a_mirror_directory_or_an_oci_mirror(tmp_path):
    chart = CHARTS["cert-manager"]
    assert addons.chart_source(chart, None) == {
        "chart": "oci://quay.io/jetstack/charts/cert-manager", "version": "v1.21.2"}
    assert addons.chart_source(chart, "oci://mirror.internal/charts/") == {
        "chart": "oci://mirror.internal/charts/cert-manager", "version": "v1.21.2"}
    assert addons.chart_source(chart, str(tmp_path)) == {"chart": str(tmp_path / "cert-manager-v1.21.2.tgz")}
    # an HTTP chart repository (Airflow's): the chart's name, its version and the repository
    assert addons.chart_source(CHARTS["airflow"], None) == {
        "chart": "airflow", "version": "1.22.0", "repository_opts": {"repo": "https://airflow.apache.org"}}
    assert addons.chart_source(CHARTS["airflow"], "oci://mirror.internal/charts") == {
        "chart": "oci://mirror.internal/charts/airflow", "version": "1.22.0"}
    with pytest.raises(NotAvailableError) as raised:
        addons.check_charts(["airflow"], str(tmp_path))
    assert "helm pull airflow --repo https://airflow.apache.org --version 1.22.0" in raised.value.hint
    with pytest.raises(NotAvailableError) as raised:
        addons.check_mirror(addons.ordered(["kserve"]), str(tmp_path))
    assert "cert-manager-v1.21.2.tgz" in raised.value.message and "kserve-resources-v0.20.0.tgz" in raised.value.message
    assert "helm pull oci://ghcr.io/kserve/charts/kserve-crd --version v0.20.0" in raised.value.hint


def test_a_stack_s_namespace_says_which_add_ons_mlstack_installed_for_it():
    from mlstack.engine.offline import plan
    from mlstack.recipe.loader import load_recipe

    def labels(text: str) -> dict[str, str]:
        path = Path(os.environ.get("TMPDIR", "/tmp")) / f"addons-{os.getpid()}.yaml"
        path.write_text(text)
        try:
            ns = plan(load_recipe(path)).of_type("kubernetes:core/v1:Namespace")[0]
        finally:
            path.unlink()
        return {k: v for k, v in ns.inputs["metadata"]["labels"].items() if k.startswith(addons.LABEL)}

    text = (RECIPES / "kubernetes-kserve.yaml").read_text()
    assert labels(text) == {f"{addons.LABEL}cert-manager": "true", f"{addons.LABEL}kserve": "true"}
    existing = text.replace("  namespace: mlops-kserve\n",
                            "  namespace: mlops-kserve\n  existing_addons: [cert-manager]\n")
    assert labels(existing) == {f"{addons.LABEL}kserve": "true", f"{addons.LABEL}cert-manager": "existing"}
    assert labels((RECIPES / "kubernetes.yaml").read_text()) == {}


# -- through the engine, on the test control plane ------------------------------------------------------------------

def _namespace(cp: ControlPlane, name: str, stack: str, uses: list[str]) -> None:
    labels = {"mlstack.dev/stack": stack, **{f"{addons.LABEL}{u}": "true" for u in uses}}
    manifest = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
    path = cp.workdir / f"ns-{name}.json"
    path.write_text(json.dumps(manifest))
    cp.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))


def _exists(cp: ControlPlane, *what: str) -> bool:
    return cp.kubectl("get", *what, "--ignore-not-found", "-o", "name", check=False).stdout.strip() != ""


@pytest.mark.engine
@pytest.mark.timeout(900)
def test_cert_manager_is_installed_once_shared_and_removed_with_its_last_user(
    plugin_home: Home, control_plane: ControlPlane, chart_mirror: Path, monkeypatch, tmp_path
):
    """The real cert-manager chart through the engine: stack A's preview shows what its deploy would install (and
    leaves no stack behind), its deploy installs it, its drift names what was deleted by hand and a deploy puts it
    back; B's purge keeps it while A's namespace says A uses it, A's purge removes it with its Pulumi stack."""
    cp = control_plane
    monkeypatch.setenv(addons.MIRROR_ENV, str(chart_mirror))
    hooks = registry.target("kubernetes").lifecycle()
    backend, said = operations.backend_url(plugin_home), []

    def share(stack: str, leaving: bool) -> str | None:
        placement = KubernetesTarget(type="kubernetes", context=cp.context, namespace=f"share-{stack}")
        shared = hooks.shared(placement, stack, ("cert-manager",), leaving)
        assert shared is not None
        return operations.run_shared(plugin_home, shared, backend, None, said.append, leaving)

    def shared_plan(mode: str) -> dict | None:  # what `preview` and `drift` of stack A show of the add-ons stack
        placement = KubernetesTarget(type="kubernetes", context=cp.context, namespace="share-a")
        shared = hooks.shared(placement, "a", ("cert-manager",), False)
        assert shared is not None
        return operations.shared_plan(plugin_home, shared, backend, None, said.append, mode, "kubernetes")

    name = addons.stack_name(access.connect(cp.context).server)
    planned = shared_plan("engine")  # before anything is installed: the preview creates, and leaves no stack behind
    assert planned and planned["stack"] == name and planned["plan"]["summary"]["create"] > 10
    assert any(s["type"] == "kubernetes:apps/v1:Deployment" and s["name"].endswith("cert-manager-webhook")
               for s in planned["plan"]["steps"])
    assert not list((plugin_home.root / "state").rglob(f"{name}.json")) and shared_plan("drift") is None
    assert share("a", leaving=False) is None  # installed, nothing removed
    assert shared_plan("engine")["plan"]["changed"] is False  # type: ignore[index]
    assert shared_plan("drift")["plan"]["changed"] is False  # type: ignore[index]
    cp.kubectl("-n", "cert-manager", "delete", "deployment", "cert-manager-webhook", "--wait=true")
    drifted = shared_plan("drift")
    assert drifted and [(s["op"], s["type"]) for s in drifted["plan"]["steps"]] == [
        ("gone", "kubernetes:apps/v1:Deployment")]
    assert share("a", leaving=False) is None  # a deploy puts it back
    assert shared_plan("drift")["plan"]["changed"] is False  # type: ignore[index]
    _namespace(cp, "share-a", "a", ["cert-manager"])  # what A's deploy labels its namespace with
    for deployment in ("cert-manager", "cert-manager-cainjector", "cert-manager-webhook"):
        ready = json.loads(cp.kubectl("-n", "cert-manager", "get", "deploy", deployment, "-o", "json").stdout)
        assert ready["status"].get("readyReplicas") == 1, deployment  # admitted under Pod Security `restricted`
    ns = json.loads(cp.kubectl("get", "ns", "cert-manager", "-o", "json").stdout)["metadata"]["labels"]
    assert ns["pod-security.kubernetes.io/enforce"] == "restricted"
    assert _exists(cp, "crd", "certificates.cert-manager.io")
    assert _exists(cp, "-n", "cert-manager", "networkpolicy", "mlstack-addon")

    # from another state backend, cert-manager is someone else's: refused (it would be taken over), nothing changed
    placement = KubernetesTarget(type="kubernetes", context=cp.context, namespace="share-c")
    elsewhere = hooks.shared(placement, "c", ("cert-manager",), False)
    (tmp_path / "other-state").mkdir()
    with pytest.raises(UsageError, match="cert-manager already runs on the cluster"):
        operations.run_shared(plugin_home, elsewhere, f"file://{tmp_path / 'other-state'}", None, said.append)
    assert not list((tmp_path / "other-state").rglob("cluster-addons-*.json"))

    _namespace(cp, "share-b", "b", ["cert-manager"])
    assert share("b", leaving=True) is None  # B leaves; A still uses it
    assert _exists(cp, "-n", "cert-manager", "deploy", "cert-manager")

    cp.kubectl("delete", "namespace", "share-a", "share-b", "--wait=false")
    removed = share("a", leaving=True)
    assert removed and "cert-manager" in removed
    assert not _exists(cp, "crd", "certificates.cert-manager.io")
    assert not list((plugin_home.root / "state").rglob(f"{name}.json"))  # the shared stack is gone from the backend
    assert any(name in line for line in said)


def _kserve_recipe(cp: ControlPlane, tmp_path: Path, name: str) -> Path:
    """The object store and KServe serving (what KServe's objects need), on a cluster that runs KServe."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"""apiVersion: mlstack/v1
name: {name}
target:
  type: kubernetes
  namespace: {name}
  context: {cp.context}
  existing_addons: [kserve]
components:
  object_store:
    flavor: seaweedfs
  serving:
    flavor: kserve
""")
    return path


@pytest.mark.engine
@pytest.mark.timeout(900)
def test_kserve_s_objects_on_a_cluster_that_runs_kserve(plugin_home: Home, control_plane: ControlPlane,
                                                       chart_mirror: Path, tmp_path):
    """`existing_addons: [kserve]`: the deploy checks KServe's CRDs first (exit 4 naming the missing ones, nothing
    written), installs no add-on, and its ServingRuntime is admitted by the schema of KServe's real CRD."""
    cp, recipe = control_plane, _kserve_recipe(control_plane, tmp_path, "kserve-objects")
    crds = {"servingruntimes.serving.kserve.io", "inferenceservices.serving.kserve.io"}
    cp.kubectl("delete", "crd", *sorted(crds), "--ignore-not-found", "--wait=true", "--timeout=60s")
    done = mlstack("deploy", str(recipe), "--yes", "--json", check=False, timeout=300)
    assert done.returncode == ExitCode.NO_CREDENTIALS == 4, done.stdout + done.stderr
    error = json.loads(done.stdout)["errors"][0]
    assert all(crd in error["message"] for crd in crds) and "existing_addons" in error["message"]
    assert not _exists(cp, "namespace", "kserve-objects")
    assert not list((plugin_home.root / "state").rglob("kserve-objects.json"))  # nothing written
    charts.install_crds(cp, sorted(crds), tmp_path)  # from KServe's real CRD chart
    try:
        result = mlstack_json("deploy", str(recipe), "--yes", timeout=600)["result"]
        assert not any("shared" in note and "installed once" in note and "none" not in note
                       for note in result["notes"])
        runtime = json.loads(cp.kubectl("-n", "kserve-objects", "get", "servingruntime", "mlstack-mlserver",
                                        "-o", "json").stdout)
        assert runtime["spec"]["protocolVersions"] == ["v2"]
        assert runtime["spec"]["labels"]["app.kubernetes.io/name"] == "kserve-predictor"
        account = json.loads(cp.kubectl("-n", "kserve-objects", "get", "sa", "kserve-models", "-o", "json").stdout)
        assert account["secrets"] == [{"name": "kserve-s3"}] and account["automountServiceAccountToken"] is False
        secret = json.loads(cp.kubectl("-n", "kserve-objects", "get", "secret", "kserve-s3", "-o", "json").stdout)
        assert secret["metadata"]["annotations"]["serving.kserve.io/s3-endpoint"] == (
            "seaweedfs.kserve-objects.svc.cluster.local:8333")
        keys = json.loads(cp.kubectl("-n", "kserve-objects", "get", "secret", "seaweedfs-credentials",
                                     "-o", "json").stdout)["data"]
        assert secret["data"]["AWS_ACCESS_KEY_ID"] == keys["reader-user"] != keys["root-user"]
        egress = json.loads(cp.kubectl("-n", "kserve-objects", "get", "networkpolicy",
                                       "allow-kserve-predictor-egress", "-o", "json").stdout)["spec"]
        assert egress["egress"][0]["to"][0]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "seaweedfs"}
        labels = json.loads(cp.kubectl("get", "ns", "kserve-objects", "-o", "json").stdout)["metadata"]["labels"]
        # KServe is the cluster's: the namespace says so, and no stack of add-ons holds anything for it
        assert {k: v for k, v in labels.items() if k.startswith(addons.LABEL)} == {f"{addons.LABEL}kserve": "existing"}
        assert not _exists(cp, "namespace", "cert-manager")
        # the same stack without `existing_addons`: mlstack would install KServe over the one the cluster runs
        # (server-side apply adopts its objects, a purge would delete them): refused before any change
        recipe.write_text(recipe.read_text().replace("  existing_addons: [kserve]\n", ""))
        done = mlstack("deploy", str(recipe), "--yes", "--json", check=False, timeout=300)
        assert done.returncode == ExitCode.BAD_INPUT == 2, done.stdout + done.stderr
        error = json.loads(done.stdout)["errors"][0]
        assert "kserve already runs on the cluster" in error["message"] and "existing_addons" in error["hint"]
        assert not _exists(cp, "namespace", "cert-manager")
    finally:
        mlstack("destroy", str(recipe), "--yes", "--purge", check=False, timeout=300)
    assert not _exists(cp, "namespace", "kserve-objects")  # the purge waits until its namespace is gone


def test_a_purged_kind_cluster_s_add_ons_are_forgotten_without_calling_it(monkeypatch, tmp_path):
    """`destroy --purge` of a kind stack deletes the cluster: its add-ons went with it, only their state is left."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))  # no cluster to reach: the hook must not try
    placement = KubernetesTarget.model_validate({"type": "kubernetes", "cluster": {"type": "kind"}})
    shared = registry.target("kubernetes").lifecycle().shared(placement, "kindstack", ("kserve",), True)
    assert shared is not None and shared.gone and shared.name == addons.stack_name("kind:kindstack")
