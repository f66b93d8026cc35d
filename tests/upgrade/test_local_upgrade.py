"""The upgrade test: a local stack deployed by the previous release, with data in it (objects, an MLflow run with
an artifact, an image, a model), upgraded in place by the current code: `preview` shows what changes, `deploy`
applies it, no data-holding resource is replaced, every piece of data is still there and `verify` passes.

The previous release runs from its own tree (`git archive` of its commit) in its own virtualenv. 0.1.0 is the first
release: until there is a second one, the previous release is the commit that had landed before 0.1.0's work
began (CHANGELOG.md says so). Where the previous release pins the same dependencies, its virtualenv reads them from
this one's site-packages (a .pth file) instead of installing them again; otherwise they are installed.
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
from tests.local.test_registry import oras_client, pull_artifact, push_artifact
from tests.runtime_clients import log_mlflow_run, read_mlflow_metric, run_in_runtime

PREVIOUS = "e14c8bbb22bd03b8e3cb50b095df37f88442c046"  # see the module docstring
pytestmark = pytest.mark.engine


def _previous_tree(root: Path) -> Path:
    tree = root / "tree"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", PREVIOUS], capture_output=True,
                             timeout=120)
    if archive.returncode != 0:
        pytest.fail(f"the previous release {PREVIOUS[:7]} is not in this clone's history: {archive.stderr[-300:]!r}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    return tree


def _previous_venv(root: Path, tree: Path) -> Path:
    """A virtualenv whose `mlstack` is the previous release's (and its dynamic-provider shim too)."""
    venv = root / "venv"
    same_pins = (tomllib.loads((tree / "pyproject.toml").read_text())["project"]["dependencies"]
                 == tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"])
    if not same_pins:  # the previous release pins other packages: install it for real
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", f"{tree}[test,cloud]"], check=True,
                       timeout=1200)
        return venv
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()"
                                "['purelib'])"], capture_output=True, text=True, check=True).stdout.strip())
    # its own sources first, laid out as setup.py installs them (mlstack.components, mlstack.stacks); then the
    # dependencies from this virtualenv (not its editable mlstack: .pth files of a path added so are not read)
    overlay = root / "overlay" / "mlstack"
    overlay.mkdir(parents=True)
    for name in os.listdir(tree / "mlstack"):
        os.symlink(tree / "mlstack" / name, overlay / name)
    os.symlink(tree / "components", overlay / "components")
    os.symlink(tree / "stacks", overlay / "stacks")
    (site / "previous-release.pth").write_text(f"{overlay.parent}\n{sysconfig.get_paths()['purelib']}\n")
    python = venv / "bin" / "python"
    for script, call in (("mlstack", "mlstack.cli:main"), ("pulumi-resource-pulumi-python", "mlstack.engine.shim:main")):
        module, _, function = call.partition(":")
        path = venv / "bin" / script
        path.write_text(f"#!{python}\nimport sys\nfrom {module} import {function}\nsys.exit({function}())\n")
        path.chmod(0o755)
    return venv


@pytest.fixture(scope="module")
def previous(tmp_path_factory) -> tuple[Path, Path]:
    """(the previous release's `mlstack` command, its tree)."""
    root = tmp_path_factory.mktemp("previous-release")
    tree = _previous_tree(root)
    venv = _previous_venv(root, tree)
    shown = subprocess.run([str(venv / "bin" / "mlstack"), "--version"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    return venv / "bin" / "mlstack", tree


def _run(command: Path | str, env: dict, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    # run outside any checkout: the previous release's shim (it predates `-P`) puts the working directory first
    done = subprocess.run([str(command), *args], capture_output=True, text=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL, cwd=env["MLSTACK_HOME"].rsplit("/", 1)[0])
    if done.returncode != 0:
        raise AssertionError(f"{command} {' '.join(args)} exited {done.returncode}:\n{done.stderr}\n{done.stdout}")
    return done


def _connection(command: Path, env: dict) -> dict:
    data = json.loads(_run(command, env, "output", "--stack", "local", "--show-secrets").stdout)
    comps, secrets = data["components"], data["secrets"]
    store = comps["object_store"]
    return {
        "s3": {"endpoint_url": store["endpoint_url"], "aws_access_key_id": store["access_key_id"],
               "aws_secret_access_key": secrets[store["secret_access_key"]["output"]], "region_name": store["region"]},
        "bucket": store["buckets"][0].removeprefix("s3://"),
        "mlflow_env": {"MLFLOW_TRACKING_URI": comps["tracking"]["tracking_uri"],
                       "MLFLOW_TRACKING_USERNAME": comps["tracking"]["username"],
                       "MLFLOW_TRACKING_PASSWORD": secrets[comps["tracking"]["password"]["output"]]},
        "registry": (comps["registry"]["uri"], comps["registry"]["username"],
                     secrets[comps["registry"]["password"]["output"]]),
        "serving": comps["serving"]["base_url"],
        "repository": Path(comps["serving"]["model_repository"]),
    }


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

        plan = json.loads(_run(MLSTACK, env, "preview", str(REPO / "recipes" / "local.yaml"), "--json").stdout)
        steps = plan["result"]["plan"]["steps"]
        replaced = [s["name"] for s in steps if s["op"] in ("replace", "delete")]
        assert not [name for name in replaced if "bucket" in name], steps  # the store's buckets keep their objects
        _run(MLSTACK, env, "deploy", str(REPO / "recipes" / "local.yaml"), "--yes")

        c = _connection(Path(MLSTACK), env)
        s3 = boto3.client("s3", **c["s3"])
        assert s3.get_object(Bucket=c["bucket"], Key="datasets/kept.csv")["Body"].read() == b"a,b\n1,2\n"
        assert read_mlflow_metric(c["mlflow_env"], run_id) == pytest.approx(0.81)
        uri, user, password = c["registry"]
        assert pull_artifact(oras_client(uri, user, password), uri, tmp_path / "pull") == "image-v1"
        assert (c["repository"] / "tiny" / "model.joblib").is_file() and _load_model(c["serving"]) == 200
        verified = json.loads(_run(MLSTACK, env, "verify", "--stack", "local", "--json").stdout)["result"]
        assert verified["ok"], verified
        again = json.loads(_run(MLSTACK, env, "deploy", str(REPO / "recipes" / "local.yaml"), "--yes",
                                "--json").stdout)["result"]
        assert again["changed"] is False  # the upgrade is complete: nothing left to change
    finally:
        subprocess.run([MLSTACK, "destroy", "--stack", "local", "--yes", "--purge"], capture_output=True,
                       timeout=300, env=env, stdin=subprocess.DEVNULL)
        stop_all(home)
