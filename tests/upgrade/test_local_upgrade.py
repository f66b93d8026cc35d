"""The upgrade test: a local stack deployed by the previous release, with data in it (objects, an MLflow run with
an artifact, an image, a model), upgraded in place by the current code: `preview` shows what changes, `deploy`
applies it, no data-holding resource is replaced, every piece of data is still there and `verify` passes. The user
keeps their recipe (the previous release's `recipes/local.yaml`, on MinIO); today's default recipe, on SeaweedFS,
would switch the store, and the upgraded deploy refuses that instead of doing it silently.

The previous release runs from its own tree in its own virtualenv (tests/upgrade/conftest.py).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO, engine_env
from tests.local.conftest import MLSTACK, stop_all
from tests.upgrade.conftest import run as _run
from tests.local.test_stack import connection
from tests.local.test_registry import oras_client, pull_artifact, push_artifact
from tests.runtime_clients import log_mlflow_run, read_mlflow_metric, run_in_runtime

pytestmark = pytest.mark.engine


def _connection(command: Path, env: dict) -> dict:
    return connection(json.loads(_run(command, env, "output", "--stack", "local", "--show-secrets").stdout))


def _load_model(serving: str) -> int:
    request = urllib.request.Request(serving + "/v2/repository/models/tiny/load", method="POST", data=b"{}",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status


def test_a_local_stack_of_the_previous_release_upgrades_in_place_with_its_data(previous, pulumi_cli_dir, tmp_path):
    import boto3

    old, tree = previous
    home = tmp_path / "home"
    env = {**os.environ, **engine_env(pulumi_cli_dir), "MLSTACK_HOME": str(home)}
    env.pop("PULUMI_BACKEND_URL", None)
    try:
        _run(old, env, "deploy", str(tree / "recipes" / "local.yaml"), "--yes")
        c = _connection(old, env)
        s3 = boto3.client("s3", **c["s3"])
        s3.put_object(Bucket=c["bucket"], Key="datasets/kept.csv", Body=b"a,b\n1,2\n")
        run_id, _ = log_mlflow_run(c["mlflow_env"], "upgrade", 0.81)
        uri, user, password = c["registry"]
        (tmp_path / "push").mkdir()
        push_artifact(oras_client(uri, user, password), uri, tmp_path / "push", "image-v1")
        model = c["repository"] / "tiny"
        run_in_runtime("mlserver", f"""
            import json, os, joblib
            from sklearn.linear_model import LinearRegression
            os.makedirs({str(model)!r}, exist_ok=True)
            joblib.dump(LinearRegression().fit([[0.0], [1.0]], [1.0, 3.0]), {str(model / "model.joblib")!r})
            json.dump({{"name": "tiny", "implementation": "mlserver_sklearn.SKLearnModel",
                       "parameters": {{"uri": "./model.joblib"}}}}, open({str(model / "model-settings.json")!r}, "w"))
            print("ok")
        """)
        assert _load_model(c["serving"]) == 200

        recipe = str(tree / "recipes" / "local.yaml")  # the user's recipe: the same before and after the upgrade
        untyped = {name for name, kind in _state_types(home).items() if kind == "pulumi-python:dynamic:Resource"}
        assert "object_store-bucket-mlstack" in untyped  # the previous release's one type token for all of them
        plan = json.loads(_run(MLSTACK, env, "preview", recipe, "--json").stdout)
        steps = plan["result"]["plan"]["steps"]
        replaced = [s["name"] for s in steps if s["op"] in ("replace", "delete")]
        assert not [name for name in replaced if "bucket" in name], steps  # the store's buckets keep their objects
        assert plan["result"]["plan"]["replacesData"] == []
        # Renamed (each dynamic resource has its own type token now), each keeps its identity: an alias, so no
        # resource of the previous state is deleted and created anew under its new type.
        assert not [s for s in steps if s["name"] in untyped and s["op"] in ("create", "delete")], steps
        _run(MLSTACK, env, "deploy", recipe, "--yes")
        types = _state_types(home)
        assert untyped <= set(types) and "pulumi-python:dynamic:Resource" not in types.values(), types
        assert types["object_store-bucket-mlstack"] == "pulumi-python:dynamic/local:Bucket"

        c = _connection(Path(MLSTACK), env)
        s3 = boto3.client("s3", **c["s3"])
        assert s3.get_object(Bucket=c["bucket"], Key="datasets/kept.csv")["Body"].read() == b"a,b\n1,2\n"
        assert read_mlflow_metric(c["mlflow_env"], run_id) == pytest.approx(0.81)
        uri, user, password = c["registry"]
        assert pull_artifact(oras_client(uri, user, password), uri, tmp_path / "pull") == "image-v1"
        assert (c["repository"] / "tiny" / "model.joblib").is_file() and _load_model(c["serving"]) == 200
        verified = json.loads(_run(MLSTACK, env, "verify", "--stack", "local", "--json").stdout)["result"]
        assert verified["ok"], verified
        again = json.loads(_run(MLSTACK, env, "deploy", recipe, "--yes", "--json").stdout)["result"]
        assert again["changed"] is False  # the upgrade is complete: nothing left to change
        switch = subprocess.run([MLSTACK, "deploy", str(REPO / "recipes" / "local.yaml"), "--yes", "--json"], env=env,
                                capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        assert switch.returncode == 8, switch.stderr  # the new default's SeaweedFS would be a new, empty store
        assert "object_store-bucket-mlstack" in json.loads(switch.stdout)["errors"][0]["message"]
    finally:
        subprocess.run([MLSTACK, "destroy", "--stack", "local", "--yes", "--purge"], capture_output=True,
                       timeout=300, env=env, stdin=subprocess.DEVNULL)
        stop_all(home)


def _state_types(home: Path) -> dict[str, str]:
    """{resource name: type} of the local stack's state (the file backend's checkpoint)."""
    path = next(home.glob("**/.pulumi/stacks/mlstack/local.json"))
    resources = json.loads(path.read_text())["checkpoint"]["latest"]["resources"]
    return {r["urn"].rsplit("::", 1)[-1]: r["type"] for r in resources if not r["type"].startswith("pulumi:")}
