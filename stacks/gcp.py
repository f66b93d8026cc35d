"""The `gcp` target: one explicit provider for the recipe's project and region, labels on every resource."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp

from mlstack.components.context import ComponentArgs, StackContext
from mlstack.recipe.model import Recipe

ORDER = ("object_store", "registry", "tracking", "orchestrator", "serving")


def assemble(recipe: Recipe, ctx: StackContext) -> dict[str, Any]:
    target = recipe.target
    provider = gcp.Provider("gcp", project=target.project, region=target.region,  # type: ignore[union-attr]
                            default_labels=ctx.tags, add_pulumi_attribution_label=False)
    opts = pulumi.ResourceOptions(providers={"gcp": provider})
    specs, flavors = recipe.component_specs(), recipe.flavors()
    return {kind: flavors[kind].load()(kind, ComponentArgs(specs[kind], ctx), opts)
            for kind in sorted(flavors, key=ORDER.index)}
