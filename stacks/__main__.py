"""Entry point for a plain `pulumi up` (see Pulumi.yaml): the recipe path comes from stack config `mlstack:recipe`."""

from pathlib import Path

import pulumi

from mlstack.home import Home
from mlstack.recipe.loader import load_recipe
from mlstack.stacks.program import make_program

_path = Path(pulumi.Config("mlstack").require("recipe"))
if not _path.is_absolute() and not _path.exists():
    _path = Path(__file__).resolve().parent.parent / _path  # relative to the project root
_recipe = load_recipe(_path)
make_program(_recipe, Home.from_env().stack_dir(_recipe.name))()
