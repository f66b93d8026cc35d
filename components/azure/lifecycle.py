"""The azure target's hooks: what `drift` leaves to the cloud (no other step of a stack's life needs one here)."""

from __future__ import annotations

from typing import Any

from mlstack.components.azure.settings import POSTGRES_SERVER, STORAGE_SIZE
from mlstack.registry import TargetHooks


class AzureHooks(TargetHooks):
    def drift_ignores(self, placement: Any) -> dict[str, tuple[str, ...]]:
        return {POSTGRES_SERVER: (STORAGE_SIZE,)}  # the flexible server grows its storage itself (auto_grow)


HOOKS = AzureHooks()
