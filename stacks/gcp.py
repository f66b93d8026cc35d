"""The `gcp` target: one explicit provider for the recipe's project and region, labels on every resource."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp

from mlstack.components.context import StackContext
from mlstack.recipe.model import Recipe
from mlstack.stacks.common import build_components


# Service accounts are granted on the stack's own buckets and repositories.
USES = {"tracking": ("object_store",), "orchestrator": ("object_store", "registry"), "serving": ("object_store", "registry")}


def assemble(recipe: Recipe, ctx: StackContext) -> dict[str, Any]:
    target = recipe.target
    provider = gcp.Provider("gcp", project=target.project, region=target.region,  # type: ignore[union-attr]
                            default_labels=ctx.tags, add_pulumi_attribution_label=False)
    return build_components(recipe, ctx, pulumi.ResourceOptions(providers={"gcp": provider}), uses=USES)
