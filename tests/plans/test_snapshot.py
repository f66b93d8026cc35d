"""Moving code must not move infrastructure: each recipe's offline plan, and the manifests its target renders,
equal their kept copies."""

from __future__ import annotations

import pytest

from tests.plans.snapshot import HERE, NAMES, snapshots


@pytest.mark.parametrize("name", NAMES)
def test_plan_and_rendered_manifests_equal_their_kept_copies(name):
    made = snapshots(name)
    assert made, f"recipes/{name}.yaml produced nothing to compare"
    for file, text in made.items():
        kept = HERE / file
        assert kept.exists(), f"no kept copy {kept}: `python -m tests.plans.snapshot {name}`"
        assert text == kept.read_text(), f"{file} changed: if intended, `python -m tests.plans.snapshot {name}`"


def test_every_kept_copy_belongs_to_a_recipe():
    made = {file for name in NAMES for file in snapshots(name)}
    assert sorted(p.name for p in HERE.iterdir()) == sorted(made)


def test_a_plan_does_not_depend_on_what_ran_before_in_the_same_process():
    """An inline engine run (or any program) leaves its stack and project in Pulumi's settings; the plan's URNs are
    the recipe's own all the same (they once read the previous run's stack)."""
    from pulumi.runtime import settings

    before = settings.get_stack(), settings.get_project()
    settings._set_stack("some-other-stack")
    settings._set_project("some-other-project")
    try:
        made = snapshots("local")
    finally:
        settings._set_stack(before[0])
        settings._set_project(before[1])
    assert made["local.json"] == (HERE / "local.json").read_text()
