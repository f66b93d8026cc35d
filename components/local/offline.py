"""How the offline plan fakes the local target: it has no cloud provider; its resources are dynamic ones (service
processes, buckets, generated credentials), planned with their inputs, so nothing is computed here."""

from __future__ import annotations

from typing import Any

from mlstack.components.local import settings as s


def attributes(typ: str, name: str, inputs: dict[str, Any], placement: s.LocalTarget) -> dict[str, Any]:
    return {}


def call(placement: s.LocalTarget, token: str, args: dict[str, Any]) -> dict[str, Any]:
    return {}
