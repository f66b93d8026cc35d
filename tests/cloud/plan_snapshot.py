"""The offline plans of the cloud recipes, normalised for comparison: kept in tests/cloud/plans/ so that a change
which moves code without meaning to change infrastructure (a refactor) is proven to leave every plan identical.

    python -m tests.cloud.plan_snapshot            # rewrite the snapshots after an intended change
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from mlstack.engine.offline import plan
from mlstack.recipe.loader import load_recipe

HERE = Path(__file__).resolve().parent / "plans"
RECIPES = Path(__file__).resolve().parent.parent.parent / "recipes"
CLOUD_RECIPES = ("aws", "gcp", "azure")


def snapshot(name: str) -> str:
    """Resources sorted by URN (the program registers them concurrently) and random ids replaced."""
    data = plan(load_recipe(RECIPES / f"{name}.yaml")).to_dict()
    data["resources"] = sorted(data["resources"], key=lambda r: r["urn"])
    return re.sub(r"secret-[0-9a-f]{8}", "secret-ID", json.dumps(data, sort_keys=True, indent=1)) + "\n"


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for name in sys.argv[1:] or CLOUD_RECIPES:
        (HERE / f"{name}.json").write_text(snapshot(name))
        print(HERE / f"{name}.json")


if __name__ == "__main__":
    main()
