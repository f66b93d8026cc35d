"""The published JSON Schema (schema/recipe.schema.json, what editors use) accepts every recipe mlstack ships and
every recipe the README shows, and refuses bad recipes it can express — checked with a JSON Schema validator, not
with mlstack's own model."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
from ruamel.yaml import YAML

from tests.conftest import RECIPES, REPO

SCHEMA = json.loads((REPO / "schema" / "recipe.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
SHIPPED = sorted(RECIPES.glob("*.yaml"))
README_RECIPES = [block for block in re.findall(r"```yaml\n(.*?)```", (REPO / "README.md").read_text(), re.S)
                  if "apiVersion: mlstack/v1" in block and "{{" not in block]


def _errors(data: object) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:160]}" for e in VALIDATOR.iter_errors(data)]


def test_the_schema_is_itself_valid():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_recipe_is_valid_against_the_schema(path):
    assert _errors(YAML(typ="safe").load(path.read_text())) == []


def test_every_readme_recipe_is_valid_against_the_schema():
    assert README_RECIPES, "the README shows no recipe to check"
    for block in README_RECIPES:
        assert _errors(YAML(typ="safe").load(block)) == [], block[:200]


@pytest.mark.parametrize("shorthand", ["local", "kind", "kubernetes", {"type": "kind", "namespace": "dev"}])
def test_target_shorthands_the_model_accepts_are_accepted(shorthand):
    recipe = {"apiVersion": "mlstack/v1", "name": "demo", "target": shorthand,
              "components": {"orchestrator": {"flavor": "local" if shorthand == "local" else "kubernetes"}}}
    assert _errors(recipe) == []
    from mlstack.recipe.model import unknown_target_model

    unknown_target_model().model_validate(recipe)  # and the model of every target's placement accepts it


@pytest.mark.parametrize("target, why", [
    ("nowhere", "an unknown target"),
    ({"type": "kubernetes", "namespace": "Not_A_Label"}, "a namespace that is no DNS label"),
    ({"type": "kind", "cluster": {"type": "existing"}}, "an alias that fixes the cluster"),
    ({"type": "local", "region": "eu-west-1"}, "a setting the target does not have"),
])
def test_bad_targets_the_schema_can_express_are_refused(target, why):
    recipe = {"apiVersion": "mlstack/v1", "name": "demo", "target": target,
              "components": {"orchestrator": {"flavor": "local"}}}
    assert _errors(recipe), why


def test_every_pattern_a_recipe_field_has_is_explained_in_words():
    """An error never shows a raw regular expression: each pattern of the schema has its rule in words."""
    from mlstack.recipe.model import PATTERN_HINTS

    patterns: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            patterns.update([node["pattern"]] if isinstance(node.get("pattern"), str) else [])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(SCHEMA)
    assert patterns and sorted(p for p in patterns if p not in PATTERN_HINTS) == []


def _settings_offered(schema: dict, target: str, kind: str) -> set[str]:
    from mlstack.recipe.model import components_model, recipe_model

    defs = schema["$defs"]
    recipe = defs[recipe_model(target).__name__]
    assert recipe["properties"]["components"]["$ref"].endswith(components_model(target).__name__)
    field = defs[components_model(target).__name__]["properties"][kind]
    refs = [r["$ref"] for r in field.get("anyOf", [field]) + field.get("oneOf", []) if "$ref" in r]
    for option in field.get("anyOf", []):
        refs += [r["$ref"] for r in option.get("oneOf", []) if "$ref" in r]
    return {name for ref in refs for name in defs[ref.rsplit("/", 1)[-1]]["properties"]}


def test_the_schema_offers_each_target_its_own_settings_only():
    """Discriminated by target first: a kind (kubernetes) recipe is not offered vpc_id, aws's mlflow requires it."""
    from mlstack.cli.schema import recipe_schema

    schema = recipe_schema()
    assert "vpc_id" not in _settings_offered(schema, "kubernetes", "tracking")
    assert "vpc_id" in _settings_offered(schema, "aws", "tracking")
    assert "storage_gb" not in _settings_offered(schema, "local", "registry")
    assert "storage_gb" in _settings_offered(schema, "kubernetes", "registry")
    aws = schema["$defs"]["AwsMlflowTracking"]
    assert {"vpc_id", "subnet_ids", "certificate_arn", "hostname", "allowed_cidrs"} <= set(aws["required"])
    kind = {"apiVersion": "mlstack/v1", "name": "k", "target": "kind",
            "components": {"tracking": {"flavor": "mlflow", "vpc_id": "vpc-0123abcd"}}}
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(kind))
    assert errors, "a kind recipe with vpc_id must not validate against the schema"


AWS = {"type": "aws", "region": "eu-west-1"}
AWS_MLFLOW = {"flavor": "mlflow", "vpc_id": "vpc-0a1b2c3d", "subnet_ids": ["subnet-0a1b2c3d"],
              "certificate_arn": "arn:aws:acm:eu-west-1:111122223333:certificate/x", "hostname": "mlflow.example.com",
              "allowed_cidrs": ["10.0.0.0/8"]}


@pytest.mark.parametrize("target, components, why", [
    (AWS, {"object_store": {"flavor": "s3"}, "tracking": {"flavor": "mlflow"}}, "aws mlflow without its network"),
    (AWS, {"object_store": {"flavor": "s3"}, "tracking": {**AWS_MLFLOW, "port": 5000}}, "a setting of mlflow on local"),
    ("kind", {"tracking": {"flavor": "mlflow", "vpc_id": "vpc-0a1b2c3d"}}, "aws's vpc_id on a kind cluster"),
    ("local", {"registry": {"flavor": "distribution", "storage_gb": 10}}, "a kubernetes volume size on local"),
    ("local", {"orchestrator": {"flavor": "sagemaker"}}, "a flavor of another target"),
])
def test_bad_components_the_schema_can_express_are_refused(target, components, why):
    """Refused by the schema (what an editor shows) as by the model (what validate says)."""
    from mlstack.errors import RecipeError
    from mlstack.recipe.loader import load_recipe_text

    recipe = {"apiVersion": "mlstack/v1", "name": "demo", "target": target, "components": components}
    assert _errors(recipe), why
    with pytest.raises(RecipeError):
        load_recipe_text(json.dumps(recipe), "r.yaml")


def test_a_good_aws_tracking_block_passes_both():
    from mlstack.recipe.loader import load_recipe_text

    recipe = {"apiVersion": "mlstack/v1", "name": "demo", "target": AWS,
              "components": {"object_store": {"flavor": "s3"},
                             "tracking": {**AWS_MLFLOW, "subnet_ids": ["subnet-0a1b2c3d", "subnet-0e1f2a3b"]}}}
    assert not _errors(recipe)
    load_recipe_text(json.dumps(recipe), "r.yaml")
