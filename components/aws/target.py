"""The `aws` target, declared: placement, machine needs, flavors and their rules (no Pulumi imported here)."""

from __future__ import annotations

from typing import Any

from mlstack.components.aws import naming
from mlstack.components.aws import settings as s
from mlstack.registry import Flavor, PluginNeed, Problems, SdkNeeds, Target, TargetNeeds, Unsupported

SDK = SdkNeeds(requires=("pulumi", "pulumi_aws"), install_hint="`pip install 'mlstack[aws]'`")
NO_PROBE = (
    "SageMaker has no endpoint to probe before something runs on it; the execution role's scope is "
    "checked by the policy suite"
)


def _bucket_names(st: s.S3ObjectStore, stack: str, placement: s.AwsTarget) -> Problems:
    return [
        (f"buckets[{i}]", p)
        for i, b in enumerate(st.buckets)
        if (p := naming.s3_bucket_problem(naming.s3_bucket_name(stack, b)))
    ]


def _repository_names(st: s.EcrRegistry, stack: str, placement: s.AwsTarget) -> Problems:
    return [
        (f"repositories[{i}]", p)
        for i, r in enumerate(st.repositories)
        if (p := naming.ecr_repository_problem(naming.ecr_repository_name(stack, r)))
    ]


def _tracking_placement(st: s.AwsMlflowTracking, stack: str, placement: s.AwsTarget) -> Problems:
    found: Problems = []
    if len(st.subnet_ids) == 1:
        found.append(
            (
                "subnet_ids",
                "needs subnets in at least two availability zones (the load balancer and the "
                "database subnet group require two); got one",
            )
        )
    # arn:aws:acm:REGION:ACCOUNT:certificate/ID: a load balancer takes certificates of its own region only
    parts = (getattr(st, "certificate_arn", None) or "").split(":")
    if len(parts) > 3 and parts[3] != placement.region:
        found.append(
            (
                "certificate_arn",
                f"an ACM certificate of region {parts[3] or '(none)'!r}; the load balancer is in "
                f"{placement.region!r}: request or import the certificate there",
            )
        )
    return found


def _tags(tags: dict[str, str]) -> Problems:
    """AWS tag rules: keys 1-128 characters, values up to 256, the `aws:` prefix is AWS's own."""
    return [
        (
            k,
            "AWS refuses tag keys starting with 'aws:'"
            if k.lower().startswith("aws:")
            else "AWS tag keys are 1-128 characters and values up to 256",
        )
        for k, v in tags.items()
        if k.lower().startswith("aws:") or not 1 <= len(k) <= 128 or len(v) > 256
    ]


def _role(client: Any) -> dict[str, Any]:
    return {"execution_role": client.execution_role}


TARGET = Target(
    name="aws",
    placement=s.AwsTarget,
    summary="Amazon Web Services, one region per stack",
    needs=TargetNeeds(
        ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE"),
        ("~/.aws/credentials", "~/.aws/config"),
        (PluginNeed("aws", "pulumi_aws", "aws"),),
    ),
    assembly="mlstack.components.aws.assembly:setup",
    offline="mlstack.components.aws.offline",
    cost="mlstack.components.aws.cost",
    policy="mlstack.components.aws.policy",
    tag_problems=_tags,
    flavors=(
        Flavor(
            "aws",
            "object_store",
            "s3",
            s.S3ObjectStore,
            "mlstack.components.aws.object_store:AwsObjectStore",
            "S3: versioned, encrypted, public access blocked, TLS-only policy",
            problems=_bucket_names,
            zenml="s3",
            verify="s3",
            **SDK,
        ),
        Flavor(
            "aws",
            "registry",
            "ecr",
            s.EcrRegistry,
            "mlstack.components.aws.registry:AwsRegistry",
            "ECR: scan on push, immutable tags, KMS-encrypted, lifecycle policy",
            problems=_repository_names,
            zenml="aws",
            verify=Unsupported(
                "a push to ECR needs a token from `aws ecr get-login-password`, which verify does not fetch"
            ),
            **SDK,
        ),
        Flavor(
            "aws",
            "tracking",
            "mlflow",
            s.AwsMlflowTracking,
            "mlstack.components.aws.tracking:AwsTracking",
            "MLflow on ECS Fargate behind an internal HTTPS load balancer; private encrypted RDS PostgreSQL; "
            "artifacts in S3 through the task role",
            needs=("object_store",),
            problems=_tracking_placement,
            zenml="mlflow",
            verify="mlflow",
            **SDK,
        ),
        Flavor(
            "aws",
            "orchestrator",
            "sagemaker",
            s.SagemakerOrchestrator,
            "mlstack.components.aws.sagemaker:SagemakerOrchestrator",
            "SageMaker Pipelines: execution role scoped to the stack's buckets and repositories",
            uses=("object_store", "registry"),
            zenml="sagemaker",
            zenml_config=_role,
            verify=Unsupported(NO_PROBE),
            **SDK,
        ),
        Flavor(
            "aws",
            "serving",
            "sagemaker",
            s.SagemakerServing,
            "mlstack.components.aws.sagemaker:SagemakerServing",
            "SageMaker endpoints: execution role scoped to the stack's buckets and repositories",
            uses=("object_store", "registry"),
            verify=Unsupported(NO_PROBE),
            **SDK,
        ),
    ),
)
