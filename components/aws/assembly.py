"""How the `aws` target sets up a stack: one explicit provider for the recipe's region (no ambient default), the
stack's tags on every resource through the provider's default tags."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mlstack.components.context import StackContext


def setup(ctx: StackContext) -> tuple[pulumi.ResourceOptions, None]:
    provider = aws.Provider(
        "aws", region=ctx.placement.region, profile=ctx.placement.profile, default_tags={"tags": ctx.tags}
    )
    return pulumi.ResourceOptions(providers={"aws": provider}), None
