"""The `local` target: each component is a service process on 127.0.0.1, its files under the stack's home.

Assembly order matters only where one component uses another: MLflow keeps its artifacts in the object store.
"""

from __future__ import annotations

from typing import Any

import pulumi

from mlstack.components.context import ComponentArgs, StackContext
from mlstack.recipe.model import Recipe

USES = {"tracking": ("object_store",)}  # kind -> kinds it is wired to when the recipe has them
ORDER = ("object_store", "registry", "tracking", "orchestrator", "serving")


def assemble(recipe: Recipe, ctx: StackContext) -> dict[str, Any]:
    specs, flavors = recipe.component_specs(), recipe.flavors()
    built: dict[str, Any] = {}
    for kind in sorted(flavors, key=ORDER.index):
        depends = {k: built[k] for k in USES.get(kind, ()) if k in built}
        opts = pulumi.ResourceOptions(depends_on=list(depends.values())) if depends else None
        built[kind] = flavors[kind].load()(kind, ComponentArgs(specs[kind], ctx, depends), opts)
    return built
