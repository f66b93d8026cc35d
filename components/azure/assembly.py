"""How the `azure` target sets up a stack: one explicit provider and one resource group that every component of
the stack goes into (handed to them as the platform)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure

from mlstack.components.context import StackContext


@dataclass(frozen=True)
class AzurePlatform:
    resource_group: azure.resources.ResourceGroup


def setup(ctx: StackContext) -> tuple[pulumi.ResourceOptions, AzurePlatform]:
    location = ctx.placement.location
    provider = azure.Provider("azure-native", location=location, subscription_id=ctx.placement.subscription_id)
    opts = pulumi.ResourceOptions(providers={"azure-native": provider})
    group = azure.resources.ResourceGroup(
        "resource-group", resource_group_name=f"{ctx.stack}-rg", location=location, tags=ctx.tags, opts=opts
    )
    return opts, AzurePlatform(group)
