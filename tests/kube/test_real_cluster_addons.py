"""The whole add-ons lifecycle with the real charts, on a cluster whose nodes run containers (a kind cluster, a
cloud's): two stacks with `serving: kserve` share cert-manager and KServe; the first purge keeps them, the last
removes them. It needs MLSTACK_TEST_KUBE_CONTEXT, the kubeconfig context of such a cluster (KUBECONFIG honoured),
and the charts: from their publishers, or the mirror MLSTACK_CHART_MIRROR names. It skips without that context: the
test control plane of these machines runs no pod (kwok), so cert-manager's webhook cannot admit KServe's
Certificate there (tests/kube/test_addons.py proves the rest on it)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from mlstack.components.kubernetes import access, addons
from tests.conftest import PREPARED_HOME, RECIPES
from tests.kube.plugin_home import link_plugin
from tests.local.conftest import mlstack, mlstack_json

CONTEXT = os.environ.get("MLSTACK_TEST_KUBE_CONTEXT")
pytestmark = [
    pytest.mark.engine,
    pytest.mark.skipif(not CONTEXT, reason="needs MLSTACK_TEST_KUBE_CONTEXT: a cluster whose nodes run containers "
                                           "(the test control plane here runs none, so KServe's chart cannot finish)"),
]


def _kubectl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kubectl", f"--context={CONTEXT}", *args], capture_output=True, text=True, timeout=300)


def _recipe(tmp_path: Path, name: str) -> Path:
    text = (RECIPES / "kubernetes-kserve.yaml").read_text().replace("name: mlops-kserve", f"name: {name}")
    text = text.replace("  namespace: mlops-kserve\n", f"  namespace: {name}\n  context: {CONTEXT}\n")
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.mark.timeout(3600)
def test_two_kserve_stacks_share_the_add_ons_and_the_last_purge_removes_them(engine_home, tmp_path):
    assert link_plugin(PREPARED_HOME.pulumi_home, engine_home.pulumi_home), "`mlstack doctor --fix` installs the plugin"
    first, second = _recipe(tmp_path, "kserve-one"), _recipe(tmp_path, "kserve-two")
    try:
        mlstack_json("deploy", str(first), "--yes", timeout=1800)
        for namespace, deployment in (("cert-manager", "cert-manager-webhook"), ("kserve", "kserve-controller-manager")):
            done = _kubectl("-n", namespace, "rollout", "status", f"deploy/{deployment}", "--timeout=300s")
            assert done.returncode == 0, done.stderr
        runtime = json.loads(_kubectl("-n", "kserve-one", "get", "servingruntime", "mlstack-mlserver", "-o",
                                      "json").stdout)
        assert runtime["spec"]["protocolVersions"] == ["v2"]  # admitted by KServe's own webhook this time
        # the whole check: a model deployed through KServe, pulled by its storage initializer, asked once, removed
        checks = mlstack_json("verify", str(first), timeout=1200)["result"]["checks"]
        serving = next(c for c in checks if c["kind"] == "serving")
        assert serving["ok"] and "[0.25, 0.75]" in serving["detail"], serving
        assert _kubectl("-n", "kserve-one", "get", "inferenceservices", "-o", "name").stdout.strip() == ""
        mlstack_json("deploy", str(second), "--yes", timeout=1800)
        mlstack_json("destroy", str(first), "--yes", "--purge", timeout=1800)
        assert _kubectl("-n", "kserve", "get", "deploy", "kserve-controller-manager").returncode == 0  # still used
        last = mlstack_json("destroy", str(second), "--yes", "--purge", timeout=1800)["result"]
        assert any("cert-manager" in d and "kserve" in d for d in last["deleted_data"])
        assert _kubectl("get", "crd", "inferenceservices.serving.kserve.io").returncode != 0
        server = access.connect(CONTEXT).server
        assert not list((engine_home.root / "state").rglob(f"{addons.stack_name(server)}.json"))
    finally:
        for recipe in (first, second):
            mlstack("destroy", str(recipe), "--yes", "--purge", check=False, timeout=1800)
