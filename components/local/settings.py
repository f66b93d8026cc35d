"""Settings of the local target: its placement (the recipe's `target:` block) and its own flavors."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mlstack.recipe.base import UserModel


class LocalTarget(UserModel):
    """Plain processes on 127.0.0.1 of this machine; no Docker, no cloud."""

    type: Literal["local"] = Field(description="Target platform.")


class LocalOrchestrator(UserModel):
    """Pipelines run in the calling process (ZenML's `local` orchestrator); nothing is deployed."""

    flavor: Literal["local"] = Field(description="Flavor of this component.")
