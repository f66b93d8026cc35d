"""The in-cluster part of each managed-cluster recipe (eks, gke, aks), deployed through the engine to the real test
control plane.

No cloud runs here, so the cluster's cloud resources are replaced, and nothing else: the test control plane is the
cluster (tests/kube/managed_fakes.py). The stack's provider is made from the kubeconfig the cluster type's own
module writes — the control plane's server and CA where the cloud's would be, the cloud CLI's exec credential
plugin as its user — and that plugin is a stand-in on PATH under the cloud CLI's name, which records how the
provider called it and answers with the control plane's client certificate. KUBECONFIG points nowhere: the stack
reaches the cluster by its own kubeconfig or not at all.

A second kwok node plays the recipe's GPU pool, labelled and tainted as mlstack labels and taints it, with one GPU:
the MLServer pod (`node_pool: gpu`) must be scheduled there, every other pod on the untainted node."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlstack.cli import app
from mlstack.components.kubernetes import clusters
from mlstack.components.kubernetes.clusters import _managed as m
from mlstack.components.kubernetes.clusters import aks, eks, gke
from mlstack.engine import operations
from mlstack.home import Home
from mlstack.recipe.loader import load_recipe
from tests.conftest import RECIPES
from tests.kube import managed_fakes
from tests.kube.controlplane import NODE_ANNOTATION, NODE_NAME, STORAGE_CLASS, ControlPlane

GPU_NODE = "kwok-gpu-0"
# the clouds whose recipe keeps its objects and images in the cloud: the annotation a bound service account carries,
# and the identity the stand-in binds each one to
KEYLESS = {
    "eks": (eks.IRSA_ANNOTATION, managed_fakes.role_arn),
    "gke": (gke.WI_ANNOTATION, lambda ns, a: managed_fakes.google_account("my-ml-project", ns, a)),
    "aks": (aks.WI_ANNOTATION, managed_fakes.client_id),
}
EXEC = {"eks": "aws", "gke": "gke-gcloud-auth-plugin", "aks": "kubelogin"}


@pytest.fixture()
def gpu_node(control_plane: ControlPlane) -> Iterator[str]:
    """A node of the recipe's GPU pool, as the cloud would make it: the pool label, the GPU taint, one GPU."""
    resources = {"cpu": "8", "memory": "32Gi", "pods": "110", m.GPU_RESOURCE: "1"}
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": GPU_NODE,
            "annotations": {NODE_ANNOTATION[0]: NODE_ANNOTATION[1]},
            "labels": {"kubernetes.io/hostname": GPU_NODE, "kubernetes.io/os": "linux", m.POOL_LABEL: "gpu"},
        },
        "spec": {"taints": [m.GPU_TAINT]},
        "status": {"capacity": resources, "allocatable": resources},
    }
    control_plane.kubectl("create", "-f", "-", input=json.dumps(node))
    try:
        deadline = time.monotonic() + 60
        while not _ready(control_plane, GPU_NODE):
            assert time.monotonic() < deadline, "the GPU node never became Ready"
            time.sleep(1)
        yield GPU_NODE
    finally:
        control_plane.kubectl("delete", "node", GPU_NODE, "--wait=false", check=False)


def _ready(cp: ControlPlane, name: str) -> bool:
    node = json.loads(cp.kubectl("get", "node", name, "-o", "json").stdout)
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"].get("conditions", []))
    taints = {t["key"] for t in node["spec"].get("taints") or []}
    return ready and taints == {m.GPU_TAINT["key"]}  # the node controller's not-ready taint is gone


@pytest.mark.engine
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("cloud", ["eks", "gke", "aks"])
def test_the_in_cluster_stack_deploys_through_the_clusters_kubeconfig_onto_its_pools(
    plugin_home: Home, control_plane: ControlPlane, gpu_node: str, monkeypatch, tmp_path: Path, cloud: str
):
    cp = control_plane
    name = f"managed-{cloud}"
    path = tmp_path / f"{cloud}.yaml"
    text = (RECIPES / f"{cloud}.yaml").read_text().replace(f"name: mlops-{cloud}", f"name: {name}")
    # the control plane's own StorageClass (EKS's encrypted gp3 class is created too, but no EBS driver runs here);
    # MLServer on the GPU pool on every cloud (the kwok node advertises the GPU a device plugin would)
    text = text.replace("namespace: mlops", f"namespace: {name}\n  storage_class: {STORAGE_CLASS}")
    if "flavor: mlserver\n    node_pool: gpu" not in text:
        text = text.replace("flavor: mlserver\n", "flavor: mlserver\n    node_pool: gpu\n")
    path.write_text(text)
    provisioner = clusters.of(load_recipe(path).target)
    creds = managed_fakes.control_plane_of(cp.kubeconfig)
    monkeypatch.setitem(managed_fakes.CONTROL_PLANE, "server", creds["server"])
    monkeypatch.setitem(managed_fakes.CONTROL_PLANE, "ca", creds["ca"])
    monkeypatch.setattr(type(provisioner), "builder", managed_fakes.BUILDER)
    monkeypatch.setattr(type(provisioner), "plugins", ("kubernetes",))  # the cloud's provider declares nothing here
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls.jsonl"
    bin_dir.mkdir()
    managed_fakes.credential_plugin(bin_dir, EXEC[cloud], creds["cert"], creds["key"], calls)
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))  # the stack's own kubeconfig, or nothing
    ref, said = operations.StackRef(recipe_path=path), []
    try:
        result = operations.deploy(plugin_home, ref, said.append)
        assert result.changes.get("create", 0) > 20, said

        # the provider authenticated through the cloud CLI's plugin, called as the kubeconfig says
        config = _state_provider_kubeconfig(plugin_home, name)
        [user] = config["users"]
        assert set(user["user"]) == {"exec"}  # no token, no key: nothing secret in the state
        exec_ = user["user"]["exec"]
        assert exec_["command"] == EXEC[cloud] and config["clusters"][0]["cluster"]["server"] == creds["server"]
        logged = [json.loads(line) for line in calls.read_text().splitlines()]
        assert logged and all(c["args"] == exec_["args"] for c in logged)
        assert all(c["cluster"] for c in logged) == (cloud == "gke")  # GKE's plugin is given the cluster's info

        pods = json.loads(cp.kubectl("-n", name, "get", "pods", "-o", "json").stdout)["items"]
        where = {p["metadata"]["labels"].get("app.kubernetes.io/name"): p["spec"].get("nodeName") for p in pods}
        assert where.get("mlserver") == gpu_node, where
        assert {node for app, node in where.items() if app != "mlserver"} == {NODE_NAME}, where
        [server] = [p for p in pods if p["metadata"]["labels"].get("app.kubernetes.io/name") == "mlserver"]
        assert server["spec"]["nodeSelector"] == {m.POOL_LABEL: "gpu"}
        assert server["spec"]["containers"][0]["resources"]["limits"][m.GPU_RESOURCE] == "1"
        assert server["status"]["phase"] == "Running"

        if cloud in KEYLESS:  # the cloud's store and registry: the pods reach them keylessly, each as its own
            _check_keyless(cp, name, cloud)

        # EKS: its cluster autoscaler runs in kube-system, as its own IRSA-annotated account
        if cloud == "eks":
            ca = json.loads(cp.kubectl("-n", "kube-system", "get", "deployment", "cluster-autoscaler", "-o", "json").stdout)
            assert ca["spec"]["template"]["spec"]["serviceAccountName"] == "cluster-autoscaler"
            account = json.loads(cp.kubectl("-n", "kube-system", "get", "serviceaccount", "cluster-autoscaler", "-o", "json").stdout)
            assert account["metadata"]["annotations"][eks.IRSA_ANNOTATION] == managed_fakes.role_arn(*eks.AUTOSCALER)
            role = json.loads(cp.kubectl("get", "clusterrole", "cluster-autoscaler", "-o", "json").stdout)
            assert all("*" not in json.dumps(rule) for rule in role["rules"])

        # NVIDIA's device plugin where the cloud installs only the driver: on the GPU node alone
        agents = json.loads(cp.kubectl("-n", "kube-system", "get", "pods", "-l",
                                       "mlstack.dev/node-agent=nvidia-device-plugin", "-o", "json").stdout)["items"]
        assert [a["spec"].get("nodeName") for a in agents] == ([] if cloud == "gke" else [gpu_node]), agents

        # `mlstack output --format kubeconfig` writes the same kubeconfig: kubectl reaches the stack with it alone
        written = CliRunner().invoke(app, ["output", str(path), "--format", "kubeconfig"])
        assert written.exit_code == 0, written.output
        assert json.loads(written.stdout) == config
        kubeconfig = tmp_path / "written-kubeconfig"
        kubeconfig.write_text(written.stdout)
        reached = subprocess.run([cp._bin("kubectl"), f"--kubeconfig={kubeconfig}", "-n", name, "get", "deployment",
                                  "-o", "name"], capture_output=True, text=True, timeout=60, check=False)
        assert "deployment.apps/mlserver" in reached.stdout.split(), reached.stderr

        # drift reaches the cluster by the stack's own kubeconfig (KUBECONFIG still points nowhere): nothing drifted
        drift = operations.drift(plugin_home, ref, said.append)
        assert not drift.drifted and drift.unhealthy == [], drift
    finally:
        operations.destroy(plugin_home, ref, True, said.append)
        cp.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)
    left = json.loads(cp.kubectl("-n", name, "get", "deployments,statefulsets", "-o", "json").stdout)["items"]
    assert left == []


def _check_keyless(cp: ControlPlane, namespace: str, cloud: str) -> None:
    """On the server: each service account that reaches the buckets carries the cloud identity only it is bound to
    (IRSA's role, GKE's Google account, AKS' managed identity); MLflow runs as its own, with no key; no Secret of the stack
    holds a cloud key; MLflow's egress reaches the cloud's HTTPS endpoints (and on GKE its metadata server)."""
    annotation, expected = KEYLESS[cloud]
    accounts = json.loads(cp.kubectl("-n", namespace, "get", "serviceaccounts", "-o", "json").stdout)["items"]
    annotated = {a["metadata"]["name"]: (a["metadata"].get("annotations") or {}).get(annotation) for a in accounts}
    bound = {"mlflow", "zenml-pipelines", "zenml-steps"}
    assert {k for k, v in annotated.items() if v} == bound, annotated
    assert all(annotated[a] == expected(namespace, a) for a in bound), annotated
    deployment = json.loads(cp.kubectl("-n", namespace, "get", "deployment", "mlflow", "-o", "json").stdout)
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "mlflow" and pod.get("automountServiceAccountToken") is False
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "GOOGLE_APPLICATION_CREDENTIALS"} & set(env)
    if cloud == "eks":
        assert env["AWS_REGION"] == "eu-west-1"
    if cloud == "aks":  # AKS' webhook projects the token into pods carrying its label
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels.items() >= aks.WI_LABEL.items(), labels
    secrets = json.loads(cp.kubectl("-n", namespace, "get", "secrets", "-o", "json").stdout)["items"]
    keys = [s["metadata"]["name"] for s in secrets for k in (s.get("data") or {}) if "ACCESS_KEY" in k.upper()]
    assert keys == [], keys
    policy = json.loads(cp.kubectl("-n", namespace, "get", "networkpolicy", "allow-mlflow-egress", "-o", "json").stdout)
    rules = policy["spec"]["egress"]
    assert {"port": 443, "protocol": "TCP"} in [p for rule in rules for p in rule.get("ports", [])]
    blocks = {(peer["ipBlock"]["cidr"], rule["ports"][0]["port"]) for rule in rules for peer in rule.get("to", [])
              if "ipBlock" in peer}
    # Each recipe keeps MLflow's database in the cloud's (`database: managed`): Cloud SQL reached on its private
    # address alone, RDS by its name on its subnets' ranges alone, a flexible server by its name on its delegated
    # subnet's range alone; with TLS (the start script's `require`), and no in-cluster PostgreSQL is made
    database, host = {
        "gke": ({(f"{managed_fakes.DATABASE_ADDRESS}/32", 5432)}, managed_fakes.DATABASE_ADDRESS),
        "eks": ({(r, 5432) for r in managed_fakes.RDS_SUBNETS}, managed_fakes.RDS_ADDRESS),
        "aks": ({(managed_fakes.FLEXIBLE_SUBNET, 5432)}, managed_fakes.FLEXIBLE_ADDRESS),
    }[cloud]
    assert blocks == (set(gke.METADATA_SERVER) if cloud == "gke" else set()) | database
    assert env["DB_HOST"] == host and "DB_SSLMODE" not in env
    stateful = json.loads(cp.kubectl("-n", namespace, "get", "statefulsets", "-o", "json").stdout)["items"]
    assert [s["metadata"]["name"] for s in stateful] == [], stateful


def _state_provider_kubeconfig(home: Home, stack: str) -> dict:
    """The kubeconfig the stack's provider holds in the state."""
    [state] = list((home.root / "state").rglob(f"{stack}.json"))
    resources = json.loads(state.read_text())["checkpoint"]["latest"]["resources"]
    [provider] = [r for r in resources if r["type"] == "pulumi:providers:kubernetes"]
    return json.loads(provider["inputs"]["kubeconfig"])
