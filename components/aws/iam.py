"""Least-privilege execution roles: a service principal may assume them, and their only permissions are on
this stack's buckets and repositories (plus the few actions AWS defines only on `*`, none of them wildcards)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws


def assume_role_policy(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def scoped_policy(bucket_arns: Sequence[str], repository_arns: Sequence[str], region: str, log_group: str) -> str:
    statements = [
        {
            "Sid": "LogsOfThisService",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"arn:aws:logs:{region}:*:log-group:{log_group}*",
        }
    ]
    if bucket_arns:
        statements += [
            {
                "Sid": "ListStackBuckets",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": list(bucket_arns),
            },
            {
                "Sid": "ObjectsInStackBuckets",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": [f"{arn}/*" for arn in bucket_arns],
            },
        ]
    if repository_arns:
        statements += [
            {
                "Sid": "PullStackImages",
                "Effect": "Allow",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                "Resource": list(repository_arns),
            },
            # GetAuthorizationToken exists only on "*" in IAM; it grants nothing without the pull actions above.
            {"Sid": "RegistryLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def execution_role(
    name: str,
    service: str,
    bucket_arns: list[pulumi.Output[str]],
    repository_arns: list[pulumi.Output[str]],
    region: str,
    log_group: str,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> aws.iam.Role:
    role = aws.iam.Role(
        name,
        assume_role_policy=assume_role_policy(service),
        tags=tags,
        description="mlstack execution role, scoped to this stack's buckets and repositories",
        opts=pulumi.ResourceOptions(parent=parent),
    )
    policy = pulumi.Output.all(pulumi.Output.all(*bucket_arns), pulumi.Output.all(*repository_arns)).apply(
        lambda a: scoped_policy(a[0], a[1], region, log_group)
    )
    aws.iam.RolePolicy(
        f"{name}-scoped", role=role.id, policy=policy, opts=pulumi.ResourceOptions(parent=parent, depends_on=[role])
    )
    return role
