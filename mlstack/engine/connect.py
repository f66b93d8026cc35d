"""`mlstack connect` and `verify` on a target whose services only its platform reaches: the target's `connect` hook
gives a context that forwards them to 127.0.0.1 (the kubernetes target: kubectl port-forward)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from pydantic import BaseModel

from mlstack import registry
from mlstack.errors import NotAvailableError


def forwarded(
    target: str, placement: BaseModel, stack: str, components: dict[str, dict[str, Any]]
) -> AbstractContextManager[dict[str, dict[str, Any]]]:
    """The client config at local addresses, valid inside the `with`; exit 3 where the target has nothing to
    forward (its services are reachable as they are)."""
    reached = registry.target(target).lifecycle().connect(placement, stack, components)
    if reached is None:
        raise NotAvailableError(
            f"target {target!r} has nothing to connect to: its services are reachable as they are",
            hint="`mlstack output` prints their addresses",
        )
    return reached
