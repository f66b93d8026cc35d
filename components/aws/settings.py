"""Settings of the aws target: its placement (the recipe's `target:` block) and its own flavors."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from mlstack.recipe import rules
from mlstack.recipe.base import UserModel


class AwsTarget(UserModel):
    """Amazon Web Services."""

    type: Literal["aws"] = Field(description="Target platform.")
    region: str = Field(description="AWS region, e.g. eu-west-1.", pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    profile: str | None = Field(default=None, description="Named AWS profile; default: the SDK's credential chain.")


class S3ObjectStore(UserModel):
    """Amazon S3: versioned, encrypted at rest, public access blocked, TLS-only bucket policy."""

    flavor: Literal["s3"] = Field(description="Flavor of this component.")
    buckets: Annotated[list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")]], rules.Unique] = Field(
        default_factory=lambda: ["artifacts"],
        min_length=1,
        description="Buckets to create, named `<recipe name>-<bucket>` (S3 names are global).",
    )
    versioning: bool = Field(default=True, description="Keep object versions (recover overwritten artifacts).")
    kms_key_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:kms:",
        description="Customer-managed KMS key for encryption at rest; default: SSE-S3 (AES-256).",
    )


class EcrRegistry(UserModel):
    """Amazon ECR: scan on push, immutable tags, encrypted, lifecycle-pruned."""

    flavor: Literal["ecr"] = Field(description="Flavor of this component.")
    repositories: Annotated[list[Annotated[str, Field(pattern=r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")]], rules.Unique] = (
        Field(
            default_factory=lambda: ["models"],
            min_length=1,
            description="Repositories to create, named `<recipe name>/<repository>`.",
        )
    )
    keep_images: int = Field(
        default=100, ge=1, le=10000, description="Lifecycle policy: images kept per repository (oldest expire first)."
    )


class SagemakerOrchestrator(UserModel):
    """SageMaker Pipelines: an execution role scoped to this stack's buckets and repositories."""

    flavor: Literal["sagemaker"] = Field(description="Flavor of this component.")


class SagemakerServing(UserModel):
    """SageMaker endpoints: an execution role scoped to this stack's buckets and repositories."""

    flavor: Literal["sagemaker"] = Field(description="Flavor of this component.")
