"""Settings of the aws target: its placement (the recipe's `target:` block) and its own flavors."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from mlstack.recipe import rules
from mlstack.recipe import settings as s
from mlstack.recipe.base import UserModel

# The regions the pinned provider knows (pulumi_aws.Region; tests/cloud checks this list against it).
REGIONS: tuple[str, ...] = (
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "cn-north-1",
    "cn-northwest-1",
    "eusc-de-east-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-iso-east-1",
    "us-iso-west-1",
    "us-isob-east-1",
    "us-isob-west-1",
    "eu-isoe-west-1",
    "us-isof-east-1",
    "us-isof-south-1",
)


def _known_region(region: str) -> str:
    return rules.known_region(region, REGIONS, "AWS region")


# A AWS region the pinned provider knows (also the region of a managed cluster on this cloud).
Region = Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$"), AfterValidator(_known_region)]


class AwsTarget(UserModel):
    """Amazon Web Services."""

    type: Literal["aws"] = Field(description="Target platform.")
    region: Region = Field(description="AWS region, e.g. eu-west-1.")

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


class AwsMlflowTracking(s.CloudMlflowTracking):
    """MLflow on ECS Fargate behind an internal HTTPS load balancer, with a private, encrypted RDS PostgreSQL."""

    vpc_id: str = Field(
        pattern=r"^vpc-[0-9a-f]{8,17}$",
        description="VPC the server, its load balancer and its database run in.",
    )
    subnet_ids: Annotated[list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]], rules.Unique] = Field(
        min_length=1,
        description="Private subnets in at least two zones, with a NAT route (the image is pulled from "
        "ghcr.io); the internal load balancer, the tasks and the database go there.",
    )
    certificate_arn: str = Field(
        pattern=r"^arn:aws[a-z-]*:acm:",
        description="ACM certificate of the load balancer's HTTPS listener (the only listener).",
    )
    hostname: str = Field(
        pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
        description="DNS name clients use: covered by the certificate, pointed at the load balancer.",
    )
    dns_zone_id: str | None = Field(
        default=None,
        pattern=r"^Z[A-Z0-9]{1,31}$",
        description="Route 53 hosted zone to create `hostname`'s alias record in; omitted: you point it.",
    )
    allowed_cidrs: s.AllowedNetworks = Field(min_length=1, description=s.ALLOWED_NETWORKS)


# MLflow's RDS for PostgreSQL (the aws target's, and an eks cluster's `database: managed`), its subnet group, and how
# its classes are spelled
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
RDS_CLASS = r"^db\.[a-z0-9]+\.[a-z0-9]+$"
