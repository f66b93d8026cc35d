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
