"""The gcp target's hooks: what `drift` leaves to the cloud (no other step of a stack's life needs one here)."""

from __future__ import annotations

from typing import Any

from mlstack.registry import TargetHooks

# Cloud SQL grows its disk itself (disk_autoresize): the size the recipe gave is the first one, not drift
DISK_SIZE = "settings.diskSize"
SQL = "gcp:sql/databaseInstance:DatabaseInstance"


class GcpHooks(TargetHooks):
    def drift_ignores(self, placement: Any) -> dict[str, tuple[str, ...]]:
        return {SQL: (DISK_SIZE,)}


HOOKS = GcpHooks()
