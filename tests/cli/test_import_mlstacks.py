"""`mlstack import mlstacks`: every example spec (mlstacks' own quickstarts and a k3d stack with every component type
mlstacks allowed there) becomes a recipe that validates; what has no counterpart is listed with its reason; a
malformed spec is one line with file and line, exit 2, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlstack.cli import app
from mlstack.recipe.loader import load_recipe
from tests.conftest import REPO

runner = CliRunner()
EXAMPLES = REPO.parent / "shared" / "mlstacks-examples"
STACKS = sorted(EXAMPLES.glob("*/stack.yaml")) if EXAMPLES.is_dir() else []
pytestmark = pytest.mark.skipif(not STACKS, reason=f"the mlstacks example specs are not beside the repo ({EXAMPLES})")


@pytest.mark.parametrize("stack", STACKS, ids=lambda p: p.parent.name)
def test_each_example_spec_becomes_a_recipe_that_validates(stack: Path, tmp_path: Path, home):
    out = tmp_path / "recipe.yaml"
    result = runner.invoke(app, ["import", "mlstacks", str(stack), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["result"]
    recipe = load_recipe(out)
    specs = [s for s in stack.parent.glob("*.yaml") if s.name != "stack.yaml"]
    # every component spec is either a component of the recipe or listed with its reason
    assert len(recipe.component_specs()) + len(report["not_imported"]) == len(specs)
    assert all(": " in line for line in report["not_imported"])
    assert recipe.target.type == {"aws": "aws", "gcp": "gcp"}.get(stack.parent.name.split("-")[0], "kubernetes")


def test_the_full_k3d_stack_maps_each_kind_and_names_what_it_leaves_out(tmp_path: Path, home):
    out = tmp_path / "recipe.yaml"
    result = runner.invoke(app, ["import", "mlstacks", str(EXAMPLES / "k3d-full" / "stack.yaml"), "--out", str(out),
                                 "--json"])
    report = json.loads(result.stdout)["result"]
    recipe = load_recipe(out)
    assert {k: s.flavor for k, s in recipe.component_specs().items()} == {
        "object_store": "minio", "registry": "distribution", "tracking": "mlflow", "orchestrator": "kubernetes",
        "serving": "kserve"}
    assert any("BSL 1.1" in note and "KServe" in note for note in report["notes"])
    assert recipe.target.cluster.type == "kind" and recipe.tags == {"team": "ml-platform"}
    assert recipe.components.object_store.buckets == ["zenml-artifacts"]
    [left_out] = report["not_imported"]
    assert left_out.startswith("zenml.yaml (mlops_platform/zenml): ")
    assert "not imported: zenml.yaml" in out.read_text()  # the recipe file says it too


@pytest.mark.parametrize(("stack_text", "line", "field"), [
    ("spec_version: 2\nspec_type: stack\n", 1, "spec_version"),
    ("spec_version: 1\nspec_type: stack\nname: s\nprovider: azure\ncomponents: []\n", 4, "provider"),
    ("spec_version: 1\nspec_type: stack\nname: s\nprovider: k3d\ncomponents:\n  - missing.yaml\n", 6, "components[0]"),
    ("spec_version: 1\nspec_type: stack\nname: s\nprovider: k3d\ncomponents: [a, a\n", None, ""),
])
def test_a_malformed_spec_is_one_line_with_file_and_line_and_writes_nothing(stack_text, line, field, tmp_path, home):
    stack = tmp_path / "stack.yaml"
    stack.write_text(stack_text)
    out = tmp_path / "recipe.yaml"
    result = runner.invoke(app, ["import", "mlstacks", str(stack), "--out", str(out)])
    assert result.exit_code == 2, result.output
    [message] = result.stderr.strip().splitlines()
    assert message.startswith(f"{stack}:") and "Traceback" not in result.output
    if line is not None:
        assert message.startswith(f"{stack}:{line}: {field}: ")
    assert not out.exists()


def test_a_component_of_another_provider_names_its_own_spec_file_and_both_providers(tmp_path, home):
    (tmp_path / "stack.yaml").write_text("spec_version: 1\nspec_type: stack\nname: team-a\nprovider: aws\n"
                                         "default_region: eu-west-1\ncomponents: [vertex.yaml, s3.yaml]\n")
    (tmp_path / "vertex.yaml").write_text("spec_version: 1\nspec_type: component\ncomponent_type: orchestrator\n"
                                          "component_flavor: vertex\nname: v\nprovider: gcp\n")
    (tmp_path / "s3.yaml").write_text("spec_version: 1\nspec_type: component\ncomponent_type: artifact_store\n"
                                      "component_flavor: s3\nname: b\nprovider: aws\n")
    out = tmp_path / "recipe.yaml"
    result = runner.invoke(app, ["import", "mlstacks", str(tmp_path / "stack.yaml"), "--out", str(out)])
    assert result.exit_code == 2, result.output
    [message] = result.stderr.strip().splitlines()
    assert message.startswith(f"{tmp_path / 'vertex.yaml'}:6: provider: component provider 'gcp' differs from the "
                              "stack's 'aws' (stack.yaml)")
    assert not out.exists()
    (tmp_path / "stack.yaml").write_text((tmp_path / "stack.yaml").read_text().replace("vertex.yaml, ", ""))
    assert runner.invoke(app, ["import", "mlstacks", str(tmp_path / "stack.yaml"), "--out", str(out)]).exit_code == 0


def test_a_spec_whose_recipe_would_be_refused_names_the_spec_not_the_unwritten_recipe(tmp_path, home):
    stack = tmp_path / "stack.yaml"
    stack.write_text("spec_version: 1\nspec_type: stack\nname: s\nprovider: k3d\ndefault_tags: {mlstack-x: y}\n"
                     "components: []\n")
    out = tmp_path / "recipe.yaml"
    result = runner.invoke(app, ["import", "mlstacks", str(stack), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert all(line.startswith(f"{stack}: ") for line in result.stderr.strip().splitlines()), result.stderr
    assert "the recipe it makes would be refused" in result.stderr and not out.exists()


def test_out_is_not_overwritten_without_force_and_its_schema_reference_resolves_from_where_it_is(tmp_path, home):
    import re

    stack = STACKS[0]
    out = tmp_path / "deep" / "er" / "recipe.yaml"
    out.parent.mkdir(parents=True)
    assert runner.invoke(app, ["import", "mlstacks", str(stack), "--out", str(out)]).exit_code == 0
    ref = re.search(r"\$schema=(\S+)", out.read_text()).group(1)
    assert (out.parent / ref).resolve() == (REPO / "schema" / "recipe.schema.json").resolve()
    out.write_text("mine\n")
    again = runner.invoke(app, ["import", "mlstacks", str(stack), "--out", str(out), "--json"])
    assert again.exit_code == 2 and "--force" in json.loads(again.stdout)["errors"][0]["hint"]
    assert out.read_text() == "mine\n"
    assert runner.invoke(app, ["import", "mlstacks", str(stack), "--out", str(out), "--force"]).exit_code == 0
    assert out.read_text() != "mine\n"


KUBEFLOW = """spec_version: 1
spec_type: component
component_type: "orchestrator"
component_flavor: "kubeflow"
name: "kubeflow"
provider: {provider}
metadata:
  region: "{region}"
"""


@pytest.mark.parametrize(("provider", "region"), [("k3d", "local"), ("aws", "eu-west-1"), ("gcp", "europe-west1")])
def test_kubeflow_becomes_the_kubeflow_flavor_on_a_cluster_and_is_named_elsewhere(provider, region, tmp_path, home):
    """mlstacks' Kubeflow maps to `orchestrator: kubeflow` (the kubernetes target: k3d became kind); on aws and gcp,
    where mlstacks made EKS/GKE for it, it is listed as not imported, with the reason."""
    store = {"k3d": "minio", "aws": "s3", "gcp": "gcp"}[provider]
    (tmp_path / "store.yaml").write_text(f"spec_version: 1\nspec_type: component\ncomponent_type: artifact_store\n"
                                         f"component_flavor: {store}\nname: store\nprovider: {provider}\n"
                                         f"metadata:\n  region: {region}\n  config:\n    bucket_name: artifacts\n")
    (tmp_path / "kubeflow.yaml").write_text(KUBEFLOW.format(provider=provider, region=region))
    registry = {"k3d": "default", "aws": "aws", "gcp": "gcp"}[provider]
    (tmp_path / "registry.yaml").write_text(f"spec_version: 1\nspec_type: component\n"
                                            f"component_type: container_registry\ncomponent_flavor: {registry}\n"
                                            f"name: registry\nprovider: {provider}\nmetadata:\n  region: {region}\n")
    (tmp_path / "stack.yaml").write_text(f"spec_version: 1\nspec_type: stack\nname: kf\nprovider: {provider}\n"
                                         f"default_region: {region}\n"
                                         "components: [store.yaml, registry.yaml, kubeflow.yaml]\n")
    out = tmp_path / "recipe.yaml"
    result = runner.invoke(app, ["import", "mlstacks", str(tmp_path / "stack.yaml"), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["result"]
    flavors = {k: s.flavor for k, s in load_recipe(out).component_specs().items()}
    if provider == "k3d":
        assert flavors == {"object_store": "minio", "registry": "distribution", "orchestrator": "kubeflow"}
        # not kind: ZenML's kubeflow orchestrator refuses kind's localhost registry
        assert load_recipe(out).target.cluster.type == "existing"
        assert any(n.startswith("target: the kubeconfig's current cluster") for n in report["notes"])
        assert any(n.startswith("kubeflow.yaml (orchestrator/kubeflow): Kubeflow Pipelines standalone")
                   and "MLSTACK_CHART_MIRROR" in n for n in report["notes"])
        assert report["not_imported"] == []
    else:
        assert "orchestrator" not in flavors
        [left_out] = report["not_imported"]
        assert left_out.startswith("kubeflow.yaml (orchestrator/kubeflow): mlstack runs Kubeflow Pipelines on the "
                                   "kubernetes target")
