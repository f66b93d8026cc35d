"""The offline plan of cloud recipes through the CLI, cloud naming rules, and missing credentials (exit 4)."""

from __future__ import annotations

import json
import os
import re

import pytest
from typer.testing import CliRunner

from mlstack.cli import app
from mlstack.errors import ExitCode
from tests.conftest import RECIPES, state_files

runner = CliRunner()


@pytest.fixture()
def no_cloud_credentials(home, monkeypatch, tmp_path):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "empty-home"))  # no ~/.aws


def test_offline_plan_lists_resources_and_client_outputs(home, no_cloud_credentials):
    result = runner.invoke(app, ["preview", str(RECIPES / "aws.yaml"), "--offline", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)["result"]
    types = [r["type"] for r in plan["resources"]]
    assert types.count("aws:s3/bucket:Bucket") == 1 and types.count("aws:ecr/repository:Repository") == 1
    bucket = next(r for r in plan["resources"] if r["type"] == "aws:s3/bucket:Bucket")
    assert bucket["inputs"]["bucket"] == "mlops-aws-artifacts"
    clients = plan["outputs"]["mlstack"]["components"]
    assert clients["object_store"]["buckets"] == ["s3://mlops-aws-artifacts"]
    assert clients["registry"]["uri"].endswith(".dkr.ecr.eu-west-1.amazonaws.com")
    assert state_files(home) == [], "an offline plan writes no state"


def test_offline_plan_prints_a_tree(home, no_cloud_credentials):
    result = runner.invoke(app, ["preview", str(RECIPES / "aws.yaml"), "--offline"])
    assert result.exit_code == 0
    assert "+ mlstack:aws:ObjectStore" in result.stdout and "    + aws:s3/bucket:Bucket" in result.stdout


def test_deploy_without_credentials_exits_4_before_touching_state(home, no_cloud_credentials):
    result = runner.invoke(app, ["deploy", str(RECIPES / "aws.yaml"), "--json"])
    assert result.exit_code == ExitCode.NO_CREDENTIALS == 4, result.output
    assert "credentials" in json.loads(result.stdout)["errors"][0]["message"]
    assert state_files(home) == []


def test_a_name_that_breaks_the_s3_rule_is_refused_at_validation(home, tmp_path):
    recipe = tmp_path / "r.yaml"
    long_bucket = "b" * 40
    recipe.write_text("apiVersion: mlstack/v1\nname: a-rather-long-stack-name-for-s3\n"
                      "target: {type: aws, region: eu-west-1}\ncomponents:\n"
                      f"  object_store:\n    flavor: s3\n    buckets: [ok, {long_bucket}]\n")
    result = runner.invoke(app, ["validate", str(recipe)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"{recipe}:7: components.object_store.buckets[1]: S3 bucket name "
                                     f"'a-rather-long-stack-name-for-s3-{long_bucket}' is 72 characters; the rule is 3-63")


@pytest.mark.parametrize("recipe,store,registry,path_prefix,tracking", [
    ("aws.yaml", "s3", "aws", "s3://", r"https://mlflow\.ml\.example\.com"),
    ("gcp.yaml", "gcp", "gcp", "gs://", r"https://mlops-gcp-tracking-[a-z0-9]+-ew\.a\.run\.app"),
    ("azure.yaml", "azure", "azure", "az://", r"https://mlops-azure-tracking\.[a-z0-9-]+\.westeurope\.azurecontainerapps\.io")])
def test_client_outputs_of_each_cloud_are_well_formed(recipe, store, registry, path_prefix, tracking):
    from ruamel.yaml import YAML

    from mlstack.clients.models import StackClients
    from mlstack.clients.render import render
    from mlstack.engine.offline import plan
    from mlstack.recipe.loader import load_recipe

    clients = StackClients.model_validate(plan(load_recipe(RECIPES / recipe)).outputs["mlstack"])
    as_json = json.loads(render(clients, {}, "json"))
    assert as_json["schemaVersion"] == "mlstack.clients/v1"
    assert {"object_store", "registry"} <= set(as_json["components"])
    zenml = YAML(typ="safe").load(render(clients, {}, "zenml"))
    assert zenml["components"]["artifact_store"][0]["flavor"] == store
    assert zenml["components"]["artifact_store"][0]["configuration"]["path"].startswith(path_prefix)
    assert zenml["components"]["container_registry"][0]["flavor"] == registry
    env = render(clients, {}, "env")
    assert "export MLSTACK_REGISTRY=" in env and f"export MLSTACK_BUCKET={path_prefix}" in env
    tracker = zenml["components"]["experiment_tracker"][0]
    assert tracker["flavor"] == "mlflow" and re.fullmatch(tracking, tracker["configuration"]["tracking_uri"])
    assert tracker["configuration"]["tracking_username"] == "admin"
    assert tracker["configuration"]["tracking_password"] == "{{mlstack-%s.tracking_password}}" % clients.stack
    assert f"export MLFLOW_TRACKING_URI={tracker['configuration']['tracking_uri']}" in env
    assert "MLFLOW_TRACKING_PASSWORD" in env and clients.components["tracking"]["artifact_root"].endswith("/mlflow")
    if recipe == "aws.yaml":  # no dns_zone_id: the user points the hostname at the load balancer
        assert clients.components["tracking"]["dns_target"].endswith(".elb.amazonaws.com")


def test_sagemaker_components_hand_out_their_execution_roles():
    from mlstack.clients.models import StackClients
    from mlstack.clients.render import zenml_stack
    from mlstack.engine.offline import plan
    from mlstack.recipe.loader import load_recipe

    clients = StackClients.model_validate(plan(load_recipe(RECIPES / "aws.yaml")).outputs["mlstack"])
    orchestrator = zenml_stack(clients, {}, False)["components"]["orchestrator"][0]
    assert orchestrator["flavor"] == "sagemaker"
    assert orchestrator["configuration"]["execution_role"].startswith("arn:aws:iam::")
    assert clients.components["serving"]["execution_role"] != orchestrator["configuration"]["execution_role"]


def test_destroy_asks_for_purge_where_the_cloud_would_delete_data(home, no_cloud_credentials):
    result = runner.invoke(app, ["destroy", str(RECIPES / "azure.yaml"), "--yes", "--json"])
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    message = json.loads(result.stdout)["errors"][0]["message"]
    assert message.startswith("destroying stack 'mlops-azure' on azure deletes data: components.object_store "
                              "(azure_blob): the storage account with its blobs; components.registry (acr): ")
    assert "components.tracking (mlflow): the database server" in message
    assert state_files(home) == []


def test_destroy_of_a_cloud_that_keeps_data_goes_to_the_engine(engine_home, no_cloud_credentials):
    """AWS keeps what holds data (non-empty buckets and repositories refuse, RDS leaves a snapshot): no --purge
    needed; with no deployed stack the engine answers exit 5."""
    result = runner.invoke(app, ["destroy", str(RECIPES / "aws.yaml"), "--yes", "--json"])
    assert result.exit_code == ExitCode.STACK_NOT_FOUND, result.output
    assert "deletes data" not in result.output


def test_names_cut_to_a_limit_stay_distinct_and_valid():
    from mlstack.recipe.naming import bounded_name

    a = bounded_name("a-very-long-stack-name-for-the-aws-cloud", "tracking", 32)
    b = bounded_name("a-very-long-stack-name-for-the-aws-cloud2", "tracking", 32)
    assert len(a) == len(b) == 32 and a != b and a.endswith("-tracking") and "--" not in a
    assert bounded_name("mlops-aws", "tracking", 32) == "mlops-aws-tracking"


@pytest.mark.parametrize("recipe", sorted(RECIPES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_recipe_plans_offline(home, no_cloud_credentials, recipe):
    """Every target plans without its runtime, engine or credentials (the local target's services included)."""
    result = runner.invoke(app, ["preview", str(recipe), "--offline", "--json"])
    assert result.exit_code == 0, result.output
    planned = json.loads(result.stdout)["result"]
    assert planned["resources"] and planned["outputs"]["mlstack"]["components"]
    assert state_files(home) == []


SHIPPED = sorted(RECIPES.glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_an_offline_plan_is_the_same_bytes_on_every_run(path, home):
    """A plan posted on a pull request changes only when the recipe does: no row order from concurrent
    registration, no fresh random values, no key order from the order outputs resolve."""
    import subprocess
    import sys

    def once(*flags: str) -> str:
        done = subprocess.run([sys.executable, "-m", "mlstack", "preview", str(path), "--offline", *flags],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert once("--json") == once("--json")
    if path.stem in ("local", "kubernetes"):
        assert once("--markdown") == once("--markdown")


@pytest.mark.parametrize("name", ["aws", "kubernetes"])
def test_the_offline_plan_fits_80_columns_and_json_keeps_it_whole(name, home):
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "80"}
    text = subprocess.run([sys.executable, "-m", "mlstack", "preview", str(RECIPES / f"{name}.yaml"), "--offline"],
                          capture_output=True, text=True, timeout=120, env=env).stdout
    assert text and max(len(line) for line in text.splitlines()) <= 80
    whole = json.loads(subprocess.run([sys.executable, "-m", "mlstack", "preview", str(RECIPES / f"{name}.yaml"),
                                       "--offline", "--json"], capture_output=True, text=True, timeout=120,
                                      env=env).stdout)
    assert any(len(json.dumps(r["inputs"])) > 200 for r in whole["result"]["resources"])


def test_the_pinned_aws_regions_are_the_providers():
    import pulumi_aws

    from mlstack.components.aws.settings import REGIONS

    assert sorted(REGIONS) == sorted(r.value for r in pulumi_aws.Region)
