"""AWS names derived from the recipe name, and the rules AWS holds them to (validation reports a breach)."""

from __future__ import annotations

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
        return (
            f"ECR repository name {name!r} must be 2-256 lowercase characters, "
            "segments separated by '/', '.', '_' or '-'"
        )
    return None
