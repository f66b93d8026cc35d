"""What every target's assembly shares: the loop that builds a recipe's components in dependency order."""

from __future__ import annotations

from typing import Any

import pulumi

from mlstack.components.base import Component
from mlstack.components.context import ComponentArgs, StackContext
from mlstack.components.outputs import Uses
from mlstack.recipe.model import Recipe
from mlstack.registry import build_order


def build_components(
    recipe: Recipe, ctx: StackContext, opts: pulumi.ResourceOptions | None = None, platform: Any = None
) -> dict[str, Component[Any, Any, Any, Any]]:
    """Each component of the recipe after those it is wired to (the flavors declare it), given their typed outputs.

    No explicit `depends_on`: the outputs a component takes from another already order what must be ordered,
    and an explicit edge to a whole component would also serialise deletes (destroy waits for MLflow to stop
    before it stops MinIO)."""
    specs, flavors = recipe.component_specs(), recipe.flavors()
    built: dict[str, Component[Any, Any, Any, Any]] = {}
    for kind in build_order(flavors):
        uses = Uses(**{k: built[k].outputs for k in flavors[kind].wired_to() if k in built})
        component = flavors[kind].load()(kind, ComponentArgs(specs[kind], ctx, uses, platform), opts)
        if not isinstance(component, Component):
            raise TypeError(f"{flavors[kind].component} is not a mlstack Component")
        built[kind] = component
    return built
