"""A service account per workload, granted only on this stack's buckets and repositories.

Grants are *members* (additive): an authoritative binding or policy would replace whatever else holds the
role — the project-wide mistake peers made. The one project-level grant is the Vertex AI role a job or
endpoint needs to run at all."""

from __future__ import annotations

import hashlib

import pulumi
import pulumi_gcp as gcp

PROJECT_ROLES = ("roles/aiplatform.user", "roles/logging.logWriter")


def account_id(stack: str, workload: str) -> str:
    """6-30 characters, lowercase, starting with a letter; a hash keeps long stack names distinct."""
    base = f"{stack}-{workload}"
    return base if len(base) <= 30 else f"{base[:23]}-{hashlib.sha256(base.encode()).hexdigest()[:6]}"


def workload_identity(
    name: str, workload: str, ctx: object, buckets: dict, repositories: dict, parent: pulumi.Resource
) -> gcp.serviceaccount.Account:
    """`buckets` and `repositories`: {recipe name: its name in GCP} of this stack."""
    project, region, stack = ctx.placement.project, ctx.placement.region, ctx.stack  # type: ignore[attr-defined]
    child = pulumi.ResourceOptions(parent=parent)
    account = gcp.serviceaccount.Account(
        f"{name}-identity",
        account_id=account_id(stack, workload),
        project=project,
        display_name=f"mlstack {stack} {workload}",
        opts=child,
    )
    member = account.email.apply(lambda email: f"serviceAccount:{email}")
    for key, bucket in buckets.items():
        gcp.storage.BucketIAMMember(
            f"{name}-{key}-objects", bucket=bucket, role="roles/storage.objectAdmin", member=member, opts=child
        )
    for key, repo in repositories.items():
        gcp.artifactregistry.RepositoryIamMember(
            f"{name}-{key}-reader",
            repository=repo,
            location=region,
            project=project,
            role="roles/artifactregistry.reader",
            member=member,
            opts=child,
        )
    for role in PROJECT_ROLES:
        gcp.projects.IAMMember(
            f"{name}-{role.rsplit('/', 1)[-1]}", project=project, role=role, member=member, opts=child
        )
    return account
