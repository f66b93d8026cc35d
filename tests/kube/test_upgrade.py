"""The upgrade test on the kubernetes target (here, beside the test control plane's fixture; the previous release
comes from tests/upgrade/conftest.py): a stack the previous release deployed on the test control plane is
upgraded in place by the current code. Every data volume keeps its claim (the same uid: nothing of it was
replaced), `preview` shows no claim replaced or deleted, the workloads roll out, and drift is in sync after."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from mlstack.home import Home
from tests.conftest import PREPARED_HOME, REPO, engine_env
from tests.kube.controlplane import ControlPlane
from tests.kube.plugin_home import link_plugin
from tests.local.conftest import MLSTACK
from tests.upgrade.conftest import previous, run  # noqa: F401 - `previous` is a fixture this module uses

pytestmark = pytest.mark.engine
CLAIMS = {"minio-data", "registry-data", "mlflow-postgres-data", "mlserver-models"}


def _recipe(tree: Path, cp: ControlPlane, tmp_path: Path, name: str) -> Path:
    text = (tree / "recipes" / "kubernetes.yaml").read_text().replace("name: mlops-k8s", "name: upgrade")
    text = text.replace("  namespace: mlops\n", f"  namespace: upgrade\n  context: {cp.context}\n")
    path = tmp_path / name
    path.write_text(text)
    return path


def _claims(cp: ControlPlane) -> dict[str, str]:
    items = json.loads(cp.kubectl("-n", "upgrade", "get", "pvc", "-o", "json").stdout)["items"]
    return {c["metadata"]["name"]: c["metadata"]["uid"] for c in items}


@pytest.mark.timeout(900)
def test_a_kubernetes_stack_of_the_previous_release_upgrades_in_place_keeping_every_volume(
        previous, control_plane: ControlPlane, pulumi_cli_dir, tmp_path):
    old, tree = previous
    home = Home(tmp_path / "home")
    link_plugin(PREPARED_HOME.pulumi_home, home.pulumi_home)
    env = {**os.environ, **engine_env(pulumi_cli_dir), "MLSTACK_HOME": str(home.root),
           "KUBECONFIG": str(control_plane.kubeconfig)}
    env.pop("PULUMI_BACKEND_URL", None)
    try:
        run(old, env, "deploy", str(_recipe(tree, control_plane, tmp_path, "old.yaml")), "--yes", timeout=600)
        before = _claims(control_plane)
        assert set(before) == CLAIMS

        current = _recipe(tree, control_plane, tmp_path, "new.yaml")  # the user's recipe, the same after the upgrade
        plan = json.loads(run(MLSTACK, env, "preview", str(current), "--json").stdout)["result"]["plan"]
        gone = [s["name"] for s in plan["steps"] if s["op"] in ("replace", "delete") and "volume" in s["name"]]
        assert gone == [], plan["steps"]
        run(MLSTACK, env, "deploy", str(current), "--yes", timeout=600)
        assert _claims(control_plane) == before  # the same claims, the same uids: every volume kept its data
        for workload in ("deployment/mlflow", "deployment/registry", "deployment/mlserver", "statefulset/minio"):
            control_plane.kubectl("-n", "upgrade", "rollout", "status", workload, "--timeout=60s")
        drift = subprocess.run([MLSTACK, "drift", str(current)], capture_output=True, text=True, timeout=300,
                               env=env, stdin=subprocess.DEVNULL, cwd=tmp_path)
        assert drift.returncode == 0, drift.stderr
        # Today's default recipe runs SeaweedFS: a new, empty store. The upgraded deploy refuses the switch.
        switch = subprocess.run([MLSTACK, "deploy", str(_recipe(REPO, control_plane, tmp_path, "default.yaml")),
                                 "--yes"], capture_output=True, text=True, timeout=300, env=env,
                                stdin=subprocess.DEVNULL, cwd=tmp_path)
        assert switch.returncode == 8, switch.stderr
        assert _claims(control_plane) == before
    finally:
        subprocess.run([MLSTACK, "destroy", "--stack", "upgrade", "--yes", "--purge"], capture_output=True,
                       timeout=600, env=env, stdin=subprocess.DEVNULL, cwd=tmp_path)
