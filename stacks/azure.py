"""The `azure` target: one explicit provider and one resource group per stack; tags on every resource."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_azure_native as azure

from mlstack.components.context import StackContext
from mlstack.recipe.model import Recipe
from mlstack.stacks.common import build_components


# Azure ML builds on the stack's storage and registry; serving shares the orchestrator's workspace.
USES = {"tracking": ("object_store",), "orchestrator": ("object_store", "registry"), "serving": ("object_store", "registry", "orchestrator")}


def assemble(recipe: Recipe, ctx: StackContext) -> dict[str, Any]:
    target = recipe.target
    provider = azure.Provider("azure-native", location=target.location,  # type: ignore[union-attr]
                              subscription_id=target.subscription_id)  # type: ignore[union-attr]
    opts = pulumi.ResourceOptions(providers={"azure-native": provider})
    group = azure.resources.ResourceGroup("resource-group", resource_group_name=f"{recipe.name}-rg",
                                          location=target.location, tags=ctx.tags, opts=opts)  # type: ignore[union-attr]
    return build_components(recipe, ctx, opts, uses=USES, shared={"resource_group": group})
