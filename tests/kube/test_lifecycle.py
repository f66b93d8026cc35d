"""The kubernetes target's whole lifecycle through the engine, against the test control plane.

Written to run wherever the Pulumi kubernetes provider plugin is installed (a developer machine or CI with network:
`mlstack doctor --fix`); on machines that cannot obtain it (these: the module proxy refuses the provider, no
registry ships it, get.pulumi.com is unreachable) it skips with that reason. Without the plugin, `deploy` exits 3
naming it — that part runs everywhere. kind itself needs Docker or Podman: without them `deploy` exits 3 too.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from mlstack import registry
from mlstack.engine import plugins
from mlstack.errors import ExitCode
from tests.conftest import PREPARED_HOME, RECIPES
from tests.kube.controlplane import ControlPlane
from tests.local.conftest import MLSTACK, mlstack, mlstack_json

NEEDS = registry.target("kubernetes").needs


def recipe_for(control_plane: ControlPlane, tmp_path: Path, name: str = "lifecycle") -> Path:
    text = (RECIPES / "kubernetes.yaml").read_text().replace("name: mlops-k8s", f"name: {name}")
    text = text.replace("  namespace: mlops\n", f"  namespace: {name}\n  context: {control_plane.context}\n")
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.fixture()
def kube_env(engine_home, control_plane: ControlPlane, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(control_plane.kubeconfig))
    return engine_home


@pytest.mark.engine
def test_deploy_without_the_provider_plugin_exits_3_naming_it(kube_env, control_plane, tmp_path):
    if plugins.installed(kube_env, NEEDS) is not None:
        pytest.skip("the kubernetes provider plugin is installed here: nothing is missing to report")
    result = mlstack("deploy", str(recipe_for(control_plane, tmp_path)), "--yes", "--json", check=False)
    assert result.returncode == ExitCode.NOT_AVAILABLE == 3, result.stdout + result.stderr
    error = json.loads(result.stdout)["errors"][0]
    assert "resource-kubernetes v4.34.2" in error["message"] and "plugin install resource kubernetes" in error["hint"]
    assert not (kube_env.root / "state").exists() or not list((kube_env.root / "state").rglob("*.json"))


def test_kind_without_a_container_engine_exits_3_naming_what_is_missing(home, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker, podman or kind on PATH
    result = subprocess.run([MLSTACK, "deploy", str(RECIPES / "kind.yaml"), "--yes", "--json"], capture_output=True,
                            text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 3, result.stdout + result.stderr
    message = json.loads(result.stdout)["errors"][0]["message"]
    assert "kind CLI" in message and "container engine" in message


def _plugin_home(home) -> None:
    """The plugin the prepared home (doctor --fix) installed, made visible to the test's fresh home."""
    source = PREPARED_HOME.pulumi_home / "plugins"
    if source.is_dir():
        shutil.copytree(source, home.pulumi_home / "plugins", dirs_exist_ok=True, symlinks=True)


@pytest.mark.engine
@pytest.mark.timeout(900)
def test_the_whole_lifecycle_on_a_real_api_server(kube_env, control_plane: ControlPlane, tmp_path):
    _plugin_home(kube_env)
    if plugins.installed(kube_env, NEEDS) is None:
        pytest.skip(f"the Pulumi kubernetes provider plugin v{plugins.sdk_version(NEEDS)} is not installed and cannot be "
                    "obtained on this machine (Go module proxy refuses pulumi-kubernetes, no package registry ships "
                    "it, get.pulumi.com unreachable); `mlstack doctor --fix` installs it where it can be fetched")
    cp, recipe = control_plane, recipe_for(control_plane, tmp_path)
    ns = "lifecycle"
    first = mlstack_json("deploy", str(recipe), "--yes", timeout=600)["result"]
    assert first["changes"].get("create", 0) > 20
    assert json.loads(cp.kubectl("-n", ns, "get", "deploy", "mlflow", "-o", "json").stdout)["status"]["readyReplicas"] == 1

    again = mlstack_json("deploy", str(recipe), "--yes", timeout=300)["result"]
    assert again["changed"] is False, again["changes"]

    in_sync = subprocess.run([MLSTACK, "drift", str(recipe), "--json"], capture_output=True, text=True, timeout=300)
    assert in_sync.returncode == 0, in_sync.stderr
    cp.kubectl("-n", ns, "delete", "deployment", "mlserver", "--wait=true")
    cp.kubectl("-n", ns, "label", "service", "mlflow", "drifted=by-hand", "--overwrite")
    drifted = subprocess.run([MLSTACK, "drift", str(recipe), "--json"], capture_output=True, text=True, timeout=300)
    assert drifted.returncode == 7, drifted.stderr
    steps = {s["name"]: s for s in json.loads(drifted.stdout)["result"]["plan"]["steps"]}
    assert steps["serving-deployment"]["op"] == "gone"
    assert steps["tracking-service"]["op"] == "changed"
    restored = mlstack_json("deploy", str(recipe), "--yes", timeout=300)["result"]
    assert restored["changed"] is True
    cp.kubectl("-n", ns, "rollout", "status", "deployment/mlserver", "--timeout=60s")

    # kill -9 mid-deploy (mlstack and the engine it started), then the next deploy completes it
    cp.kubectl("-n", ns, "delete", "deployment", "registry", "--wait=true")
    proc = subprocess.Popen([MLSTACK, "deploy", str(recipe), "--yes"], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        time.sleep(4)
        # a concurrent deploy while the first holds the lock exits 6
        assert mlstack("deploy", str(recipe), "--yes", check=False, timeout=120).returncode == ExitCode.STACK_LOCKED == 6
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    mlstack("deploy", str(recipe), "--yes", timeout=600)
    cp.kubectl("-n", ns, "rollout", "status", "deployment/registry", "--timeout=60s")

    destroyed = mlstack_json("destroy", "--stack", "lifecycle", "--yes", timeout=600)["result"]
    assert "kubernetes" in destroyed["kept"]
    left = json.loads(cp.kubectl("-n", ns, "get", "all,secrets,networkpolicies,roles", "-o", "json").stdout)["items"]
    assert [o["metadata"]["name"] for o in left if o["kind"] != "Secret" or not o["metadata"]["name"].startswith(
        "default-token")] == []
    claims = json.loads(cp.kubectl("-n", ns, "get", "pvc", "-o", "json").stdout)["items"]
    assert {c["metadata"]["name"] for c in claims} == {"minio-data", "registry-data", "mlflow-postgres-data",
                                                        "mlserver-models"}

    mlstack("deploy", str(recipe), "--yes", timeout=600)  # the kept volumes are adopted again
    mlstack("destroy", "--stack", "lifecycle", "--yes", "--purge", timeout=600)
    cp.kubectl("wait", "--for=delete", f"namespace/{ns}", "--timeout=120s", check=False)
    assert cp.kubectl("get", "namespace", ns, "--ignore-not-found", "-o", "name").stdout.strip() == ""
