from __future__ import annotations

from pathlib import Path

import pytest

from mlstack import registry
from mlstack.errors import RecipeError
from mlstack.recipe.loader import load_recipe, load_recipe_text
from mlstack.recipe.model import Recipe
from tests.conftest import RECIPES

TEMPLATE = """\
apiVersion: mlstack/v1
name: {{ stack }}-{{ env.TEAM }}
target: local
tags: {owner: "{{ env.TEAM }}"}
components:
  registry: {flavor: distribution, port: {{ port | default(5000) }}}
"""


@pytest.mark.parametrize("path", sorted(RECIPES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_recipe_is_valid(path: Path):
    recipe = load_recipe(path)
    assert recipe.name and recipe.component_specs(), "an example recipe deploys something"


def test_template_takes_vars_and_environment():
    recipe = load_recipe_text(TEMPLATE, "t.yaml", {"stack": "ml", "port": "5123"}, {"TEAM": "vision"})
    assert recipe.name == "ml-vision"
    assert recipe.tags == {"owner": "vision"}
    assert recipe.components.registry.port == 5123


def test_undefined_environment_variable_is_an_error():
    with pytest.raises(RecipeError) as err:
        load_recipe_text(TEMPLATE, "t.yaml", {"stack": "ml"}, {})
    [problem] = err.value.problems
    assert problem.line == 2 and "TEAM" in problem.message


def test_template_cannot_reach_python_internals():
    text = TEMPLATE.replace("{{ stack }}", "{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(RecipeError) as err:
        load_recipe_text(text, "t.yaml", {}, {"TEAM": "x"})
    assert "unsafe" in err.value.problems[0].message or "__class__" in err.value.problems[0].message


def test_target_shorthand_equals_mapping():
    a = load_recipe_text(TEMPLATE.replace("target: local", "target: {type: local}"), "t", {"stack": "ab"}, {"TEAM": "c"})
    b = load_recipe_text(TEMPLATE, "t", {"stack": "ab"}, {"TEAM": "c"})
    assert a == b


def test_defaults_of_a_flavor_apply():
    recipe = load_recipe_text(TEMPLATE, "t", {"stack": "ab"}, {"TEAM": "c"})
    assert recipe.components.registry.auth is True  # credentials by default, never an open registry


def test_flavors_resolve_through_the_registry():
    recipe = load_recipe(RECIPES / "local.yaml")
    for kind, flavor in recipe.flavors().items():
        assert flavor is registry.lookup("local", kind, flavor.name)


def test_every_field_is_described():
    """The recipe reference is generated from descriptions: a field without one is a hole in the docs."""
    from mlstack.cli.schema import recipe_schema

    schema = recipe_schema()
    missing = []
    for name, definition in [("Recipe", schema), *schema.get("$defs", {}).items()]:
        for field, spec in definition.get("properties", {}).items():
            if "description" not in spec:
                missing.append(f"{name}.{field}")
    assert missing == []


def test_a_flavor_that_needs_another_component_says_so():
    text = ("apiVersion: mlstack/v1\nname: ml-azure\ntarget: {type: azure, location: westeurope}\n"
            "components:\n  orchestrator: {flavor: azureml}\n")
    with pytest.raises(RecipeError) as err:
        load_recipe_text(text, "r.yaml")
    [problem] = err.value.problems
    assert (problem.line, problem.field) == (5, "components.orchestrator")
    assert "needs components.object_store" in problem.message


def test_every_unset_template_variable_is_reported_in_one_run():
    from mlstack.errors import RecipeError

    text = ("apiVersion: mlstack/v1\nname: {{ stack }}\ntarget: local\ntags:\n  team: {{ env.TEAM_X }}\n"
            "  owner: {{ owner }}\n  maybe: {{ opt | default('x') }}\n{% if extra is defined %}  extra: {{ extra }}\n"
            "{% endif %}components:\n  orchestrator: {flavor: local}\n")
    with pytest.raises(RecipeError) as caught:
        load_recipe_text(text, "t.yaml", {}, {})
    assert [(p.line, p.message) for p in caught.value.problems] == [
        (2, "template: stack is undefined (pass it with --var NAME=VALUE)"),
        (5, "template: environment variable TEAM_X is not set"),
        (6, "template: owner is undefined (pass it with --var NAME=VALUE)"),
    ]
    assert load_recipe_text(text, "t.yaml", {"stack": "abc", "owner": "me"}, {"TEAM_X": "t"}).name == "abc"
