"""The `aws` target: one explicit provider for the recipe's region (no ambient default), tags on every resource."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from mlstack.components.context import ComponentArgs, StackContext
from mlstack.recipe.model import Recipe

ORDER = ("object_store", "registry", "tracking", "orchestrator", "serving")


def assemble(recipe: Recipe, ctx: StackContext) -> dict[str, Any]:
    target = recipe.target
    provider = aws.Provider("aws", region=target.region, profile=target.profile,  # type: ignore[union-attr]
                            default_tags={"tags": ctx.tags})
    opts = pulumi.ResourceOptions(providers={"aws": provider})
    specs, flavors = recipe.component_specs(), recipe.flavors()
    built: dict[str, Any] = {}
    for kind in sorted(flavors, key=ORDER.index):
        built[kind] = flavors[kind].load()(kind, ComponentArgs(specs[kind], ctx, dict(built)), opts)
    return built
