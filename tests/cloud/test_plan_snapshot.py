"""Moving code must not move infrastructure: each cloud recipe's offline plan equals its kept snapshot."""

from __future__ import annotations

import pytest

from tests.cloud.plan_snapshot import CLOUD_RECIPES, HERE, snapshot


@pytest.mark.parametrize("name", CLOUD_RECIPES)
def test_offline_plan_equals_its_snapshot(name):
    kept = (HERE / f"{name}.json").read_text()
    assert snapshot(name) == kept, f"plan of recipes/{name}.yaml changed: if intended, `python -m tests.cloud.plan_snapshot {name}`"
