"""The `aws` target: one explicit provider for the recipe's region (no ambient default), tags on every resource."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from mlstack.components.context import StackContext
from mlstack.recipe.model import Recipe
from mlstack.stacks.common import build_components


# Execution roles are scoped to the stack's own buckets and repositories.
USES = {"tracking": ("object_store",), "orchestrator": ("object_store", "registry"), "serving": ("object_store", "registry")}


def assemble(recipe: Recipe, ctx: StackContext) -> dict[str, Any]:
    target = recipe.target
    provider = aws.Provider("aws", region=target.region, profile=target.profile,  # type: ignore[union-attr]
                            default_tags={"tags": ctx.tags})
    return build_components(recipe, ctx, pulumi.ResourceOptions(providers={"aws": provider}), uses=USES)
