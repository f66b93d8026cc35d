"""The `local` target: each component is a service process on 127.0.0.1, its files under the stack's home.

Assembly order matters only where one component uses another: MLflow keeps its artifacts in the object store.
"""

from __future__ import annotations

from typing import Any

from mlstack.components.context import StackContext
from mlstack.recipe.model import Recipe
from mlstack.stacks.common import build_components

USES = {"tracking": ("object_store",)}  # kind -> kinds it is wired to when the recipe has them


def assemble(recipe: Recipe, ctx: StackContext) -> dict[str, Any]:
    return build_components(recipe, ctx, uses=USES)
