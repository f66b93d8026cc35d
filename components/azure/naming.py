"""Azure names derived from the recipe name, and the rules Azure holds them to (validation reports a breach)."""

from __future__ import annotations

import hashlib
import re

from mlstack.recipe.naming import bounded_name

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


def azure_app_name(stack: str, suffix: str) -> str:
    return bounded_name(stack, suffix, 32)
