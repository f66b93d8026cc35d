"""Before the engine runs, the kubernetes target checks the kubeconfig, the context and the API server, in mlstack's
own words (exit 4 naming the file and the context), and claims nothing it did not do. Runs without the provider
plugin: every case here stops before the engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlstack.errors import ExitCode
from tests.conftest import RECIPES
from tests.local.conftest import mlstack

VERBS = (("preview",), ("deploy", "--yes"), ("drift",), ("destroy", "--yes", "--purge"))


def _errors(done) -> list[dict]:
    return json.loads(done.stdout)["errors"]


def _kubeconfig(path: Path, server: str, context: str = "elsewhere") -> Path:
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": "c", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "not-a-real-token"}}],
        "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}],
    }))
    return path


@pytest.mark.parametrize("state", ["missing", "empty"])
@pytest.mark.parametrize("verb", VERBS, ids=[v[0] for v in VERBS])
def test_a_missing_or_empty_kubeconfig_is_exit_4_naming_the_file(engine_home, monkeypatch, tmp_path, state, verb):
    config = tmp_path / "kubeconfig"
    if state == "empty":
        config.write_text("")
    monkeypatch.setenv("KUBECONFIG", str(config))
    done = mlstack(*verb, str(RECIPES / "kubernetes.yaml"), "--json", check=False, timeout=120)
    assert done.returncode == ExitCode.NO_CREDENTIALS == 4, done.stdout + done.stderr
    error = _errors(done)[0]
    assert str(config) in error["message"] and ("does not exist" if state == "missing" else "is empty") in error["message"]
    assert "KUBECONFIG" in error["hint"]
    assert "Traceback" not in done.stderr and "json parse error" not in done.stdout + done.stderr
    assert not (engine_home.root / "state").exists() or not list((engine_home.root / "state").rglob("*.json"))


def test_an_unknown_context_is_exit_4_listing_the_contexts(home, monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path / "kc", "https://127.0.0.1:1")))
    recipe = tmp_path / "r.yaml"
    recipe.write_text((RECIPES / "kubernetes.yaml").read_text().replace("  namespace: mlops\n",
                                                                        "  namespace: mlops\n  context: nope\n"))
    done = mlstack("preview", str(recipe), "--json", check=False)
    assert done.returncode == 4, done.stdout + done.stderr
    message = _errors(done)[0]["message"]
    assert "'nope'" in message and "elsewhere" in message


def test_an_api_server_that_does_not_answer_is_exit_4_naming_it_and_the_context(home, monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path / "kc", "https://127.0.0.1:1")))
    done = mlstack("deploy", str(RECIPES / "kubernetes.yaml"), "--yes", "--json", check=False)
    assert done.returncode == 4, done.stdout + done.stderr
    error = _errors(done)[0]
    assert "https://127.0.0.1:1" in error["message"] and "'elsewhere'" in error["message"]
    assert "not-a-real-token" not in done.stdout + done.stderr


def test_destroy_of_a_stack_never_deployed_asks_no_cluster_and_is_exit_5(engine_home, monkeypatch, tmp_path):
    """The state answers first: nothing deployed is exit 5 whatever the kubeconfig says."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    done = mlstack("destroy", str(RECIPES / "kubernetes.yaml"), "--yes", "--json", check=False)
    assert done.returncode == ExitCode.STACK_NOT_FOUND == 5, done.stdout + done.stderr
    assert "nothing deployed" in _errors(done)[0]["message"]


def test_destroy_of_a_stack_never_deployed_is_exit_5_and_claims_nothing(engine_home, monkeypatch, tmp_path,
                                                                       control_plane):
    monkeypatch.setenv("KUBECONFIG", str(control_plane.kubeconfig))
    recipe = tmp_path / "never.yaml"
    recipe.write_text((RECIPES / "kubernetes.yaml").read_text().replace("name: mlops-k8s", "name: never").replace(
        "  namespace: mlops\n", f"  namespace: never\n  context: {control_plane.context}\n"))
    for extra in ((), ("--purge",)):
        done = mlstack("destroy", str(recipe), "--yes", "--json", *extra, check=False)
        assert done.returncode == ExitCode.STACK_NOT_FOUND == 5, done.stdout + done.stderr
        assert "nothing deployed" in _errors(done)[0]["message"]
        assert "kept" not in done.stderr and "deleted" not in done.stderr
    assert control_plane.kubectl("get", "namespace", "never", "--ignore-not-found", "-o", "name").stdout == ""
