"""GCP names derived from the recipe name, and the rules GCP holds them to (validation reports a breach)."""

from __future__ import annotations

import re

GCS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$")
AR_REPOSITORY = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")


def gcs_bucket_name(stack: str, bucket: str) -> str:
    return f"{stack}-{bucket}"


def gcs_bucket_problem(name: str) -> str | None:
    if not GCS_BUCKET.match(name):
        return (
            f"GCS bucket name {name!r} must be 3-63 lowercase letters, digits, '-' or '_', "
            "starting and ending alphanumeric"
        )
    if name.startswith("goog") or "google" in name:
        return f"GCS bucket name {name!r} may not start with 'goog' or contain 'google'"
    return None


def artifact_registry_id(stack: str, repository: str) -> str:
    return f"{stack}-{repository}"


def artifact_registry_problem(name: str) -> str | None:
    if not AR_REPOSITORY.match(name):
        return (
            f"Artifact Registry repository id {name!r} must be 1-63 lowercase letters, "
            "digits or '-', starting with a letter"
        )
    return None
