"""What only a deploy decides (an id, an account, a free port, a random suffix) reads `<known after deploy>` in the
offline plan; no stand-in that looks real (`http://127.0.0.1:None`, `123456789012`, `object_store-artifacts-id`)
reaches what a user or a pull request sees, and the recipe's own values are shown as written."""

from __future__ import annotations

import json

import pytest

from mlstack import registry
from mlstack.engine.offline import OFFLINE_DIR, UNKNOWN, plan
from mlstack.recipe.loader import load_recipe
from tests.conftest import RECIPES

NAMES = sorted(p.stem for p in RECIPES.glob("*.yaml"))


@pytest.mark.parametrize("name", NAMES)
def test_no_stand_in_is_shown(name):
    recipe = load_recipe(RECIPES / f"{name}.yaml")
    planned = plan(recipe)
    text = json.dumps(planned.to_dict())
    fake = registry.target(recipe.target.type).offline_module()
    stand_ins = [*getattr(fake, "PLACEHOLDERS", ()), OFFLINE_DIR, ":None", '"None"', "=None", "-None.",
                 *(f'"{r.name}-id"' for r in planned.resources)]
    assert [s for s in stand_ins if s in text] == []


def test_local_addresses_say_their_port_is_known_after_deploy():
    shown = plan(load_recipe(RECIPES / "local.yaml")).to_dict()["outputs"]["mlstack"]["components"]
    assert shown["tracking"]["tracking_uri"] == f"http://127.0.0.1:{UNKNOWN}"
    assert shown["registry"]["uri"] == f"127.0.0.1:{UNKNOWN}"
    assert shown["serving"]["model_repository"] == "$MLSTACK_HOME/stacks/local/data/serving/models"
    argv = {r["name"]: r["inputs"].get("argv") for r in plan(load_recipe(RECIPES / "local.yaml")).to_dict()["resources"]}
    assert argv["tracking-server"][0].startswith("$MLSTACK_HOME/runtimes/mlflow-")
    assert f"-s3.port={UNKNOWN}" in argv["object_store-server"]  # SeaweedFS: every port in a flag of its own
    assert f"-master.port.grpc={UNKNOWN}" in argv["object_store-server"]


def test_cloud_values_the_platform_assigns_are_known_after_deploy_and_the_recipes_are_kept():
    recipe = load_recipe(RECIPES / "aws.yaml")
    shown = plan(recipe).to_dict()
    clients = shown["outputs"]["mlstack"]["components"]
    assert clients["orchestrator"]["execution_role"] == f"arn:aws:iam::{UNKNOWN}:role/orchestrator-execution-role"
    assert clients["registry"]["uri"].startswith(f"{UNKNOWN}.dkr.ecr.eu-west-1.amazonaws.com")
    certificate = recipe.components.tracking.certificate_arn
    assert certificate in json.dumps(shown)  # the user's value, untouched


def test_the_plan_itself_keeps_the_values_policies_link_by():
    """Only what is shown changes: the plan's resources keep the mocks' ids, so policy rules still link a bucket
    to its policy."""
    planned = plan(load_recipe(RECIPES / "aws.yaml"))
    assert any(r.inputs.get("bucket") == "object_store-artifacts-id" for r in planned.resources)
