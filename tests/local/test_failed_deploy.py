"""A failed deploy must not break a running stack, and nothing may call a broken stack healthy (issue: a tool that
tells the truth). On a real local stack: a replacement that can run beside the old process starts first, so when it
fails the old one keeps serving and every verb says so; one that cannot (MinIO holds its drive) is announced as an
outage in the plan before it happens."""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlstack.home import Home
from tests.local.conftest import deployed_stack, mlstack, mlstack_json
from tests.local.test_stack import service_pids

pytestmark = pytest.mark.engine
RECIPE = """apiVersion: mlstack/v1
name: failing
target: local
components:
  object_store: {flavor: minio, buckets: [data]}
  serving:
    flavor: mlserver
"""


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("failing") / "failing.yaml"
    path.write_text(RECIPE)
    return path


@pytest.fixture(scope="module")
def stack(recipe: Path, tmp_path_factory, pulumi_cli_dir) -> Iterator[Home]:
    root = tmp_path_factory.mktemp("home") / "home"
    with deployed_stack(root, pulumi_cli_dir, str(recipe), "failing"):
        yield Home(root)


@pytest.fixture()
def held_port() -> Iterator[int]:
    """A port another program holds (listening on 127.0.0.1), released afterwards."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


def _env(stack_name: str) -> dict[str, str]:
    text = mlstack("output", "--stack", stack_name, "--format", "env").stdout
    return dict(line.removeprefix("export ").split("=", 1) for line in text.splitlines() if "=" in line)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback
            return resp.status == 200
    except OSError:
        return False


def test_a_replacement_that_fails_leaves_the_old_server_serving_and_every_verb_says_so(stack, recipe, held_port,
                                                                                       tmp_path):
    before_pid = service_pids(stack)["mlserver"]
    before_url = _env("failing")["MLSTACK_SERVING_URL"].strip("'\"")
    moved = tmp_path / "failing.yaml"
    moved.write_text(RECIPE.replace("    flavor: mlserver\n", f"    flavor: mlserver\n    port: {held_port}\n"))

    plan = mlstack_json("preview", str(moved))["result"]["plan"]
    server = next(s for s in plan["steps"] if s["name"] == "serving-server")
    assert server["op"] == "replace" and server["down"] is False

    failed = mlstack("deploy", str(moved), "--yes", "--json", check=False)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert f"port {held_port} on 127.0.0.1 is already in use" in json.loads(failed.stdout)["errors"][0]["message"]
    # progress in the plan's words, and nothing reported replaced that was not
    assert "create   serving-server [pulumi-python:dynamic/local:Process] (replacement)" in failed.stderr
    assert not any(w in failed.stderr for w in ("create-replacement", "delete-replaced", "replaced ", "deleted "))

    # the old server still runs, and is what every verb reports
    assert service_pids(stack)["mlserver"] == before_pid
    assert _answers(f"{before_url}/v2/health/ready")
    env = _env("failing")
    assert env["MLSTACK_SERVING_URL"].strip("'\"") == before_url and str(held_port) not in env["MLSTACK_SERVING_URL"]
    in_sync = mlstack("drift", "--stack", "failing", "--json", check=False)
    assert in_sync.returncode == 0, in_sync.stdout + in_sync.stderr
    checks = mlstack_json("verify", "--stack", "failing")["result"]
    assert checks["ok"] is True, checks
    row = next(r for r in mlstack_json("list")["result"] if r["stack"] == "failing")
    assert row["state"] == "failed" and row["resources"] > 0 and row["lastChange"]


def test_a_replacement_that_cannot_coexist_is_announced_as_an_outage(stack, tmp_path):
    moved = tmp_path / "failing.yaml"
    moved.write_text(RECIPE.replace("{flavor: minio, buckets: [data]}", "{flavor: minio, buckets: [data], port: 19123}"))
    plan = mlstack_json("preview", str(moved))["result"]["plan"]
    server = next(s for s in plan["steps"] if s["name"] == "object_store-server")
    assert server["op"] == "replace" and server["down"] is True
    text = mlstack("preview", str(moved)).stdout
    assert "GOES DOWN" in text and "object_store-server" in text.splitlines()[-1]
    markdown = mlstack("preview", str(moved), "--markdown").stdout
    assert "GOES DOWN" in markdown


def test_a_bucket_deleted_from_minio_is_drift_and_the_next_deploy_makes_it_again(stack, recipe):
    """The bucket's read and diff ask MinIO too (a HEAD signed with botocore's signer alone): a deleted bucket is
    `gone` to `drift`, and the next deploy (which runs no refresh on this target) makes it again."""
    import boto3

    data = json.loads(mlstack("output", "--stack", "failing", "--show-secrets").stdout)
    store = data["components"]["object_store"]
    client = boto3.client("s3", endpoint_url=store["endpoint_url"], aws_access_key_id=store["access_key_id"],
                          aws_secret_access_key=data["secrets"][store["secret_access_key"]["output"]],
                          region_name=store["region"])
    mlstack_json("deploy", str(recipe))  # back to the recipe (the tests before leave a failed replacement)
    assert mlstack("drift", "--stack", "failing", check=False).returncode == 0  # found: not drift
    client.delete_bucket(Bucket="data")
    drifted = mlstack("drift", "--stack", "failing", "--json", check=False)
    assert drifted.returncode == 7, drifted.stdout + drifted.stderr
    steps = {s["name"]: s["op"] for s in json.loads(drifted.stdout)["result"]["plan"]["steps"]}
    assert steps == {"object_store-bucket-data": "gone"}, steps
    healed = mlstack_json("deploy", str(recipe))["result"]
    assert healed["changes"].get("update") == 1 and set(healed["changes"]) <= {"update", "same"}, healed
    assert "data" in {b["Name"] for b in client.list_buckets()["Buckets"]}
    assert mlstack("drift", "--stack", "failing", check=False).returncode == 0
