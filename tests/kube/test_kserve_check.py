"""`verify` of `serving: kserve` (components/kubernetes/kserve_check.py), as far as these machines can run it:

- the tiny model and the inference it is asked, against a real MLServer 1.7.1 (the version of the runtime's image)
  with its real XGBoost runtime, loaded as KServe's controller configures it (model name, class, path by env);
- the InferenceService the check creates, admitted by the API server under KServe's real CRD (from the chart
  mirror), with a stand-in for KServe's controller marking it Ready; the model put into a real S3 store (SeaweedFS);
- what the check leaves: nothing (InferenceService and model deleted) whether it fails at the API (no KServe) or at
  the port-forward (kwok's node runs no pods, so the predictor Service KServe would make is not there).

A whole check, a predictor pod answering included, needs a cluster whose nodes run containers: the real-cluster
tests (test_real_cluster_addons.py) run it where one is configured."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from mlstack.clients.models import ServingClient
from mlstack.components.kubernetes import kserve_check
from mlstack.components.kubernetes.settings import KubernetesTarget
from mlstack.engine import runtimes
from mlstack.home import Home
from tests.conftest import PREPARED_HOME
from tests.kube import charts
from tests.kube.build import bin_dir
from tests.kube.controlplane import ControlPlane
from tests.runtime_clients import MLSERVER_XGBOOST, xgboost_overlay

# What KServe's controller gives an InferenceService of model format xgboost on an MLServer runtime (its
# SetMlServerDefaults): the label the runtime's MLSERVER_MODEL_IMPLEMENTATION reads, and the model's name and path.
MODEL_CLASS = "mlserver_xgboost.XGBoostModel"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module", params=sorted(MLSERVER_XGBOOST))
def mlserver(request, tmp_path_factory):
    """MLServer 1.7.1 (the local runtime) with mlserver-xgboost and an XGBoost of the given version, serving the
    tiny model as `mlstack-verify-test` from a folder like KServe's /mnt/models. Yields its base URL."""
    overlay = xgboost_overlay(request.param)
    models = tmp_path_factory.mktemp("mnt-models")
    (models / "model.json").write_bytes(kserve_check.tiny_model())
    bindir = Path(runtimes.expected_path(PREPARED_HOME, "mlserver")).parent
    http = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(overlay),
        "MLSERVER_HOST": "127.0.0.1",
        "MLSERVER_HTTP_PORT": str(http),
        "MLSERVER_GRPC_PORT": str(_free_port()),
        "MLSERVER_METRICS_PORT": str(_free_port()),
        "MLSERVER_PARALLEL_WORKERS": "0",
        "MLSERVER_MODEL_NAME": "mlstack-verify-test",
        "MLSERVER_MODEL_IMPLEMENTATION": MODEL_CLASS,
        "MLSERVER_MODEL_URI": str(models),
    }
    log = tmp_path_factory.mktemp("mlserver-log") / "mlserver.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(bindir / "mlserver"), "start", str(models)], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{http}"
        deadline = time.monotonic() + 90
        while True:
            try:
                kserve_check._http("GET", f"{base}/v2/models/mlstack-verify-test/ready", timeout=2)
                break
            except (OSError, RuntimeError):
                assert proc.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, "MLServer did not load the model in 90 s:\n" + log.read_text()[-3000:]
                time.sleep(0.5)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.mark.timeout(300)
def test_the_tiny_model_answers_its_probe_on_real_mlserver(mlserver):
    detail = kserve_check.infer(mlserver, "mlstack-verify-test")
    assert "[0.25, 0.75]" in detail and "mlstack-verify-test" in detail


@pytest.mark.timeout(300)
def test_an_answer_other_than_the_model_s_fails_the_check(mlserver, monkeypatch):
    monkeypatch.setattr(kserve_check, "PROBE", ((0.0, 1.0), (0.25, 0.5)))
    with pytest.raises(ValueError, match=r"answered \[0.25, 0.75\].*not \[0.25, 0.5\]"):
        kserve_check.infer(mlserver, "mlstack-verify-test")
    with pytest.raises(RuntimeError, match="HTTP 4"):  # a model the server does not have
        kserve_check.infer(mlserver, "mlstack-verify-other")


def _client(namespace: str, bucket: str) -> ServingClient:
    return ServingClient(flavor="kserve", base_url=f"http://{{model}}-predictor.{namespace}.svc.cluster.local",
                         protocol="v2", namespace=namespace, service_account="kserve-models",
                         runtime="mlstack-mlserver", model_repository=f"s3://{bucket}/models")


def test_the_inference_service_is_the_stack_s_and_restricted():
    isvc = kserve_check.inference_service(_client("ml", "b"), "mlstack-verify-1", "s3://b/models/mlstack-verify-1")
    predictor = isvc["spec"]["predictor"]
    assert isvc["metadata"]["annotations"] == {"serving.kserve.io/deploymentMode": "Standard"}
    assert predictor["serviceAccountName"] == "kserve-models"  # the store's read-only keys
    assert predictor["model"] == {"modelFormat": {"name": "xgboost", "version": "2"}, "protocolVersion": "v2",
                                  "runtime": "mlstack-mlserver", "storageUri": "s3://b/models/mlstack-verify-1"}
    # KServe's storage initializer brings no seccomp profile: the pod's is what Pod Security `restricted` sees
    assert predictor["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert predictor["securityContext"]["runAsNonRoot"] is True


@pytest.fixture()
def store(engine_home: Home, pulumi_cli_dir, tmp_path):
    """A real S3 store: the local target's SeaweedFS, deployed alone. Yields (object store client, secrets)."""
    from tests.local.conftest import deployed_stack, mlstack

    recipe = tmp_path / "store.yaml"
    recipe.write_text("apiVersion: mlstack/v1\nname: kstore\ntarget: local\ncomponents:\n"
                      "  object_store: {flavor: seaweedfs}\n")
    with deployed_stack(engine_home.root, pulumi_cli_dir, str(recipe), "kstore"):
        out = json.loads(mlstack("output", "--stack", "kstore", "--format", "json", "--show-secrets").stdout)
        yield out


def _objects(store_out: dict, bucket: str) -> list[str]:
    from mlstack.clients.models import ObjectStoreClient
    from mlstack.clients.verify import s3_client

    client = ObjectStoreClient.model_validate(store_out["components"]["object_store"])
    return [o["Key"] for o in s3_client(client, store_out["secrets"]).list_objects_v2(Bucket=bucket).get("Contents", [])]


def _run_check(cp: ControlPlane, namespace: str, store_out: dict) -> tuple[str, str]:
    """(bucket, the check's failure)."""
    components = store_out["components"]
    bucket = components["object_store"]["buckets"][0].removeprefix("s3://").split("/")[0]
    placement = KubernetesTarget.model_validate({"type": "kubernetes", "namespace": namespace, "context": cp.context})
    run = kserve_check.check(placement, "kcheck", components)
    with pytest.raises((RuntimeError, TimeoutError)) as failed:
        run(_client(namespace, bucket), store_out["secrets"])
    return bucket, str(failed.value)


@pytest.mark.engine
@pytest.mark.timeout(300)
def test_without_kserve_the_check_fails_saying_so_and_leaves_nothing(control_plane: ControlPlane, namespace, store,
                                                                   monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(control_plane.kubeconfig))
    control_plane.kubectl("delete", "crd", "inferenceservices.serving.kserve.io", "--ignore-not-found",
                          "--wait=true", "--timeout=60s")
    bucket, failure = _run_check(control_plane, namespace, store)
    assert "KServe is not installed" in failure
    assert not [k for k in _objects(store, bucket) if "mlstack-verify-" in k]  # the model went with it


@pytest.mark.engine
@pytest.mark.timeout(420)
def test_the_check_s_inference_service_is_admitted_and_removed(control_plane: ControlPlane, namespace, store,
                                                               chart_mirror, tmp_path, monkeypatch):
    """Under KServe's real CRD: the InferenceService is admitted as written; a stand-in for KServe's controller
    marks it Ready (and records what it saw, the model's object included); the forward to the predictor Service
    then fails (kwok runs no pods, KServe is not there to make it); the check fails naming it, and deletes both."""
    monkeypatch.setenv("KUBECONFIG", str(control_plane.kubeconfig))
    monkeypatch.setenv("PATH", f"{bin_dir()}{os.pathsep}{os.environ['PATH']}")
    charts.install_crds(control_plane, ["inferenceservices.serving.kserve.io"], tmp_path)
    seen: dict = {}
    stop = threading.Event()

    def controller() -> None:  # KServe's part: the predictor is up (only the condition the check waits on)
        while not stop.is_set():
            got = control_plane.kubectl("-n", namespace, "get", "inferenceservices", "-o", "json", check=False)
            items = json.loads(got.stdout or "{}").get("items", []) if got.returncode == 0 else []
            for isvc in items:
                seen.setdefault("isvc", isvc)
                seen.setdefault("objects", _objects(store, store["components"]["object_store"]["buckets"][0]
                                                    .removeprefix("s3://").split("/")[0]))
                control_plane.kubectl("-n", namespace, "patch", "inferenceservice", isvc["metadata"]["name"],
                                      "--subresource=status", "--type=merge", "-p",
                                      json.dumps({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
                                      check=False)
            time.sleep(0.3)

    thread = threading.Thread(target=controller, daemon=True)
    thread.start()
    try:
        bucket, failure = _run_check(control_plane, namespace, store)
    finally:
        stop.set()
        thread.join(timeout=10)
    name = seen["isvc"]["metadata"]["name"]
    assert name.startswith("mlstack-verify-")
    assert f"svc/{name}-predictor in {namespace}" in failure  # the forward, after Ready
    expected = kserve_check.inference_service(_client(namespace, bucket), name, f"s3://{bucket}/models/{name}")
    assert seen["isvc"]["spec"] == expected["spec"]  # admitted as written: the real schema pruned nothing
    assert f"models/{name}/model.json" in seen["objects"]
    assert not [k for k in _objects(store, bucket) if "mlstack-verify-" in k]
    left = control_plane.kubectl("-n", namespace, "get", "inferenceservices", "-o", "name").stdout.strip()
    assert left == ""


@pytest.mark.engine
@pytest.mark.timeout(300)
def test_a_predictor_that_never_gets_ready_fails_naming_why_and_leaves_nothing(control_plane: ControlPlane, namespace,
                                                                                store, chart_mirror, tmp_path,
                                                                                monkeypatch):
    """KServe's CRD served, no controller: the InferenceService never reports a condition. Past READY_TIMEOUT the
    check fails as a check (not as an unreachable address), saying so, and deletes what it made."""
    monkeypatch.setenv("KUBECONFIG", str(control_plane.kubeconfig))
    monkeypatch.setattr(kserve_check, "READY_TIMEOUT", 3.0)
    charts.install_crds(control_plane, ["inferenceservices.serving.kserve.io"], tmp_path)
    bucket, failure = _run_check(control_plane, namespace, store)
    assert "not Ready after 3 s (no condition reported: is KServe running?)" in failure
    assert not [k for k in _objects(store, bucket) if "mlstack-verify-" in k]
    assert control_plane.kubectl("-n", namespace, "get", "inferenceservices", "-o", "name").stdout.strip() == ""
