"""The gcp target's hooks: what `drift` leaves to the cloud (no other step of a stack's life needs one here)."""

from __future__ import annotations

from typing import Any

from mlstack.components.gcp.settings import DISK_SIZE, SQL_INSTANCE
from mlstack.registry import TargetHooks


class GcpHooks(TargetHooks):
    def drift_ignores(self, placement: Any) -> dict[str, tuple[str, ...]]:
        return {SQL_INSTANCE: (DISK_SIZE,)}  # Cloud SQL grows its disk itself


HOOKS = GcpHooks()
