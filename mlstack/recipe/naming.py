"""Deterministic cloud resource names derived from the recipe name, within each cloud's naming rules.

Pure functions, used both by validation (a recipe whose names would break a rule is refused with the rule)
and by the components that create the resources.
"""

from __future__ import annotations

import hashlib
import re

S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
ECR_REPOSITORY = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")


def s3_bucket_name(stack: str, bucket: str) -> str:
    """`<stack>-<bucket>`: S3 names are global, so the stack name is part of them."""
    return f"{stack}-{bucket}"


def s3_bucket_problem(name: str) -> str | None:
    """The S3 naming rule `name` breaks, if any (no dots: they break virtual-hosted TLS)."""
    if not 3 <= len(name) <= 63:
        return f"S3 bucket name {name!r} is {len(name)} characters; the rule is 3-63"
    if not S3_BUCKET.match(name):
        return f"S3 bucket name {name!r} must be lowercase letters, digits and '-', starting and ending alphanumeric"
    if name.startswith(("xn--", "sthree-")) or name.endswith(("-s3alias", "--ol-s3", "--x-s3")):
        return f"S3 bucket name {name!r} uses a prefix or suffix AWS reserves"
    return None


def ecr_repository_name(stack: str, repository: str) -> str:
    return f"{stack}/{repository}"


def ecr_repository_problem(name: str) -> str | None:
    if not 2 <= len(name) <= 256 or not ECR_REPOSITORY.match(name):
        return f"ECR repository name {name!r} must be 2-256 lowercase characters, segments separated by '/', '.', '_' or '-'"
    return None


GCS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$")
AR_REPOSITORY = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")


def gcs_bucket_name(stack: str, bucket: str) -> str:
    return f"{stack}-{bucket}"


def gcs_bucket_problem(name: str) -> str | None:
    if not GCS_BUCKET.match(name):
        return (f"GCS bucket name {name!r} must be 3-63 lowercase letters, digits, '-' or '_', "
                "starting and ending alphanumeric")
    if name.startswith("goog") or "google" in name:
        return f"GCS bucket name {name!r} may not start with 'goog' or contain 'google'"
    return None


def artifact_registry_id(stack: str, repository: str) -> str:
    return f"{stack}-{repository}"


def artifact_registry_problem(name: str) -> str | None:
    if not AR_REPOSITORY.match(name):
        return f"Artifact Registry repository id {name!r} must be 1-63 lowercase letters, digits or '-', starting with a letter"
    return None


AZURE_CONTAINER = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def azure_storage_account_name(stack: str) -> str:
    """3-24 lowercase alphanumerics, globally unique: the stack's letters and digits plus a short hash of
    the full name, so names that differ only in '-' do not collide."""
    return f"{_alnum(stack)[:16]}{hashlib.sha256(stack.encode()).hexdigest()[:6]}"


def azure_registry_name(stack: str) -> str:
    """ACR: 5-50 alphanumerics, globally unique (`<name>.azurecr.io`)."""
    return f"{_alnum(stack)[:41]}{hashlib.sha256(stack.encode()).hexdigest()[:6]}"


def azure_container_problem(name: str) -> str | None:
    if not AZURE_CONTAINER.match(name):
        return f"Azure blob container name {name!r} must be 3-63 lowercase letters, digits or single '-'"
    return None


def bounded_name(stack: str, suffix: str, limit: int) -> str:
    """`<stack>-<suffix>` within `limit` characters (Container Apps and ALBs: 32); a short hash of the stack name
    keeps long names distinct when they must be cut."""
    name = f"{stack}-{suffix}"
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(stack.encode()).hexdigest()[:6]
    return f"{stack[:limit - len(suffix) - 8].rstrip('-')}-{digest}-{suffix}"


def azure_app_name(stack: str, suffix: str) -> str:
    return bounded_name(stack, suffix, 32)
