"""What every recipe in recipes/ builds, normalised for comparison and kept in tests/plans/kept/: its offline plan
and, where the target renders its own manifests (kubernetes), those manifests byte for byte. A change that moves
code without meaning to change infrastructure (a refactor) is proven to leave every one identical.

    python -m tests.plans.snapshot            # rewrite the kept files after an intended change
    python -m tests.plans.snapshot kind       # one recipe's
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from mlstack import registry
from mlstack.engine.offline import plan
from mlstack.recipe.loader import load_recipe

HERE = Path(__file__).resolve().parent / "kept"
RECIPES = Path(__file__).resolve().parent.parent.parent / "recipes"
NAMES = tuple(sorted(p.stem for p in RECIPES.glob("*.yaml")))
GENERATED = re.compile(r"secret-[0-9a-f]{8}")  # the offline plan's stand-in for a generated secret


def snapshots(name: str) -> dict[str, str]:
    """{kept file name: text}: the plan (resources sorted by URN: the program registers them concurrently) and,
    where the target renders manifests, all of them in one file, each under its file name."""
    recipe = load_recipe(RECIPES / f"{name}.yaml")
    planned = plan(recipe)
    data = planned.to_dict()
    data["resources"] = sorted(data["resources"], key=lambda r: r["urn"])
    kept = {f"{name}.json": GENERATED.sub("secret-ID", json.dumps(data, sort_keys=True, indent=1)) + "\n"}
    files = registry.target(recipe.target.type).lifecycle().render(planned)
    if files is not None:
        kept[f"{name}.render.txt"] = GENERATED.sub(
            "secret-ID", "".join(f"=== {file}\n{files[file]}" for file in sorted(files))
        )
    return kept


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for name in sys.argv[1:] or NAMES:
        for file, text in snapshots(name).items():
            (HERE / file).write_text(text)
            print(HERE / file)


if __name__ == "__main__":
    main()
