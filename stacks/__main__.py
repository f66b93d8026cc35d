"""Entry point for a plain `pulumi up` (see Pulumi.yaml): the recipe path comes from stack config `mlstack:recipe`."""

import pulumi

from mlstack.recipe.loader import load_recipe
from mlstack.home import Home
from mlstack.stacks.program import make_program

_recipe = load_recipe(pulumi.Config("mlstack").require("recipe"))
make_program(_recipe, Home.from_env().stack_dir(_recipe.name))()
