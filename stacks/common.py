"""What every target's assembly shares: the order components are built in and the loop that builds them."""

from __future__ import annotations

from typing import Any

import pulumi

from mlstack.components.context import ComponentArgs, StackContext
from mlstack.recipe.model import Recipe

ORDER = ("object_store", "registry", "tracking", "orchestrator", "serving")


def build_components(recipe: Recipe, ctx: StackContext, opts: pulumi.ResourceOptions | None = None,
                     uses: dict[str, tuple[str, ...]] | None = None,
                     shared: dict[str, Any] | None = None) -> dict[str, Any]:
    """Each component of the recipe, in ORDER; `uses` wires a kind to the kinds it needs, `shared` is handed to
    every component (e.g. a resource group).

    No explicit `depends_on`: the outputs a component takes from another already order what must be ordered,
    and an explicit edge to a whole component would also serialise deletes (destroy waits for MLflow to stop
    before it stops MinIO)."""
    specs, flavors = recipe.component_specs(), recipe.flavors()
    built: dict[str, Any] = {}
    for kind in sorted(flavors, key=ORDER.index):
        depends = {k: built[k] for k in (uses or {}).get(kind, ()) if k in built}
        built[kind] = flavors[kind].load()(kind, ComponentArgs(specs[kind], ctx, {**(shared or {}), **depends}), opts)
    return built
