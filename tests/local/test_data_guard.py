"""What holds a stack's data is never replaced or deleted by accident, and a new MLflow migrates its database: on a
real local stack (MinIO and MLflow processes, the real engine).

- `preview` marks a step that would replace or delete a data-holding resource (JSON, terminal, Markdown);
- `deploy` refuses it with exit 8 before any change, and does it when told `--replace-data`;
- a tracking database an earlier MLflow wrote is migrated (`mlflow db upgrade`) before the new server starts, and
  the deploy says so, once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from mlstack.home import Home
from tests.local.conftest import deployed_stack, mlstack, mlstack_json
from mlstack.versions import RUNTIMES
from tests.local.test_stack import service_pids
from tests.runtime_clients import log_mlflow_run, read_mlflow_metric, runtime_python

pytestmark = pytest.mark.engine
STACK = "guard"
RECIPE = f"""apiVersion: mlstack/v1
name: {STACK}
target: local
components:
  object_store: {{flavor: minio, buckets: [BUCKET]}}
  tracking: {{flavor: mlflow}}
"""


def write(path: Path, bucket: str) -> str:
    path.write_text(RECIPE.replace("BUCKET", bucket))
    return str(path)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, pulumi_cli_dir):
    root = tmp_path_factory.mktemp("guard")
    recipe = write(root / "guard.yaml", "models")
    with deployed_stack(root / "home", pulumi_cli_dir, recipe, STACK):
        yield Home(root / "home"), recipe, write(root / "renamed.yaml", "weights")


def conn(home: Home) -> dict:
    """The S3 client arguments and MLflow environment of the stack, from `mlstack output --show-secrets`."""
    data = json.loads(mlstack("output", "--stack", STACK, "--show-secrets").stdout)
    comps, secrets = data["components"], data["secrets"]
    store, tracking = comps["object_store"], comps["tracking"]
    return {
        "s3": {"endpoint_url": store["endpoint_url"], "aws_access_key_id": store["access_key_id"],
               "aws_secret_access_key": secrets[store["secret_access_key"]["output"]], "region_name": store["region"]},
        "mlflow_env": {"MLFLOW_TRACKING_URI": tracking["tracking_uri"], "MLFLOW_TRACKING_USERNAME": tracking["username"],
                       "MLFLOW_TRACKING_PASSWORD": secrets[tracking["password"]["output"]]},
    }


def state(home: Home) -> dict[str, dict]:
    path = next(home.root.glob(f"**/.pulumi/stacks/mlstack/{STACK}.json"))
    resources = json.loads(path.read_text())["checkpoint"]["latest"]["resources"]
    return {r["urn"].rsplit("::", 1)[-1]: r for r in resources}


def test_a_data_holding_resource_is_protected_and_typed(stack):
    home, _, _ = stack
    resources = state(home)
    bucket = resources["object_store-bucket-models"]
    assert bucket["type"] == "pulumi-python:dynamic/local:Bucket" and bucket["protect"] is True
    assert resources["tracking-server"]["type"] == "pulumi-python:dynamic/local:Process"
    assert not resources["tracking-server"].get("protect"), "a process holds no data: it is not protected"


def test_preview_marks_the_step_that_loses_data_and_changes_nothing(stack):
    home, _, renamed = stack
    before = state(home)
    plan = mlstack_json("preview", renamed)["result"]["plan"]
    assert plan["replacesData"] == ["object_store-bucket-models"]
    gone = next(s for s in plan["steps"] if s["name"] == "object_store-bucket-models")
    assert gone["op"] == "delete" and gone["replacesData"] is True
    assert all(not s["replacesData"] for s in plan["steps"] if s["name"] != "object_store-bucket-models")
    words = " ".join(mlstack("preview", renamed).stdout.split())
    assert "DATA AT RISK: 1 resource(s) holding the stack's data would be replaced or deleted" in words
    assert "(object_store-bucket-models); deploy refuses this without --replace-data" in words
    markdown = mlstack("preview", renamed, "--markdown").stdout
    assert "> **DATA AT RISK: 1 resource(s)" in markdown
    assert "HOLDS DATA: the stack loses what it holds" in markdown
    assert state(home) == before


def test_deploy_refuses_before_any_change_and_replace_data_allows_it(stack):
    home, recipe, renamed = stack
    c = conn(home)
    import boto3

    boto3.client("s3", **c["s3"]).put_object(Bucket="models", Key="model.bin", Body=b"weights")
    before, pids = state(home), service_pids(home)

    refused = mlstack("deploy", renamed, "--yes", "--json", check=False)
    assert refused.returncode == 8, refused.stderr
    error = json.loads(refused.stdout)["errors"][0]
    assert error["type"] == "replaces-data" and "object_store-bucket-models" in error["message"]
    assert "--replace-data" in error["hint"]
    # Nothing changed: not the bucket, not the tracking server (whose store the new recipe also changes).
    assert state(home) == before and service_pids(home) == pids

    done = mlstack_json("deploy", renamed, "--yes", "--replace-data")
    assert done["ok"] is True
    after = state(home)
    assert "object_store-bucket-weights" in after and "object_store-bucket-models" not in after
    # The bucket left the stack; destroy-like, what it held stays on disk (retain_on_delete) until --purge.
    assert list((home.stack_dir(STACK) / "data").rglob("model.bin")), "the old bucket's objects are kept on disk"

    # Back to the first recipe: that is again a deletion of a data-holding bucket, refused without the flag.
    assert mlstack("deploy", recipe, "--yes", check=False).returncode == 8
    mlstack("deploy", recipe, "--yes", "--replace-data")


def test_a_database_an_earlier_mlflow_wrote_is_migrated_before_the_new_one_starts(stack):
    """The MLflow database is taken one schema revision back (what the previous pin wrote) and its stamp names an
    earlier version: the next deploy, which starts the server anew, migrates it first and says so, once."""
    home, recipe, _ = stack
    env = conn(home)["mlflow_env"]
    run_id, _ = log_mlflow_run(env, "migration", 0.77)
    data = home.stack_dir(STACK) / "data" / "tracking"
    database, stamp = data / "mlflow.db", data / "mlflow.db.version"
    pinned = RUNTIMES["mlflow"].version
    assert stamp.read_text().strip() == pinned, "the version that last served the database is recorded"

    for pid in service_pids(home)["mlflow"]:
        os.killpg(pid, signal.SIGKILL)
    uri = f"sqlite:///{database}"
    downgrade = (
        "import sys\nfrom alembic import command\nfrom mlflow.store.db.utils import _get_alembic_config\n"
        "command.downgrade(_get_alembic_config(sys.argv[1]), '-1')\n"
    )
    subprocess.run([runtime_python("mlflow"), "-c", downgrade, uri], check=True, capture_output=True, timeout=120)
    older = revision(database)
    stamp.write_text("3.16.0\n")

    result = mlstack_json("deploy", recipe, "--yes")["result"]
    assert f"mlflow: migrated {database} from 3.16.0 to {pinned}" in result["notes"]
    assert revision(database) != older, "the schema is the new version's again"
    assert stamp.read_text().strip() == pinned
    assert read_mlflow_metric(env, run_id) == pytest.approx(0.77), "the run written before is still there"

    again = mlstack_json("deploy", recipe, "--yes")["result"]
    assert not any("migrated" in note for note in again["notes"]), "a migration is said once"


def revision(database: Path) -> str:
    import sqlite3

    with sqlite3.connect(database) as db:
        return db.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_switching_the_object_store_flavor_is_refused_and_replace_data_starts_seaweedfs(stack):
    """MinIO to SeaweedFS is another store: its buckets start empty and MinIO's objects stay on disk, so a recipe
    that switches is refused (exit 8, nothing changed) and done only with --replace-data."""
    home, recipe, _ = stack
    c = conn(home)
    import boto3

    boto3.client("s3", **c["s3"]).put_object(Bucket="models", Key="kept.bin", Body=b"minio's")
    switched = Path(recipe).with_name("seaweedfs.yaml")
    switched.write_text(Path(recipe).read_text().replace("flavor: minio", "flavor: seaweedfs"))
    before, pids = state(home), service_pids(home)

    plan = mlstack_json("preview", str(switched))["result"]["plan"]
    assert plan["replacesData"] == ["object_store-bucket-models"]
    refused = mlstack("deploy", str(switched), "--yes", "--json", check=False)
    assert refused.returncode == 8, refused.stderr
    assert "object_store-bucket-models" in json.loads(refused.stdout)["errors"][0]["message"]
    assert state(home) == before and service_pids(home) == pids

    mlstack("deploy", str(switched), "--yes", "--replace-data")
    after = service_pids(home)
    assert "seaweedfs" in after and "minio" not in after and "minio" in pids
    client = boto3.client("s3", **conn(home)["s3"])
    assert client.list_objects_v2(Bucket="models").get("KeyCount") == 0, "the new store starts empty"
    client.put_object(Bucket="models", Key="new.bin", Body=b"seaweedfs'")
    assert client.get_object(Bucket="models", Key="new.bin")["Body"].read() == b"seaweedfs'"
    assert list((home.stack_dir(STACK) / "data").rglob("kept.bin")), "MinIO's objects are kept on disk"
    run_id, _ = log_mlflow_run(conn(home)["mlflow_env"], "after-switch", 0.5)  # artifacts go to the new store
    assert read_mlflow_metric(conn(home)["mlflow_env"], run_id) == pytest.approx(0.5)
    assert client.list_objects_v2(Bucket="models", Prefix="mlflow/").get("KeyCount", 0) >= 1
