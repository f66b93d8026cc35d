"""How the `gcp` target sets up a stack: one explicit provider for the recipe's project and region, the stack's
tags as labels on every resource."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mlstack.components.context import StackContext


def setup(ctx: StackContext) -> tuple[pulumi.ResourceOptions, None]:
    provider = gcp.Provider(
        "gcp",
        project=ctx.placement.project,
        region=ctx.placement.region,
        default_labels=ctx.tags,
        add_pulumi_attribution_label=False,
    )
    return pulumi.ResourceOptions(providers={"gcp": provider}), None
