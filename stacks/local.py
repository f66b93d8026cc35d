"""The `local` target: each component is a service process on 127.0.0.1, files under the stack's home."""

from __future__ import annotations

from typing import Any

from mlstack.components.context import ComponentArgs, StackContext
from mlstack.recipe.model import Recipe


def assemble(recipe: Recipe, ctx: StackContext) -> dict[str, Any]:
    specs = recipe.component_specs()
    return {kind: flavor.load()(kind, ComponentArgs(settings=specs[kind], context=ctx))
            for kind, flavor in recipe.flavors().items()}
