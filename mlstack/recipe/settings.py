"""Typed settings of each flavor, one model per (kind, flavor).

Which targets offer a flavor is not said here: the registry (mlstack.registry) lists each implemented
(target, kind, flavor) once, and validation, the JSON Schema, `doctor` and the docs all derive from it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mlstack.recipe.base import UserModel

Port = int


class PortSetting(UserModel):
    port: int | None = Field(
        default=None,
        ge=1024,
        le=65535,
        description="TCP port on 127.0.0.1; omitted: a free port is chosen on first deploy and then kept.",
    )


class LocalOrchestrator(UserModel):
    """Pipelines run in the calling process (ZenML's `local` orchestrator); nothing is deployed."""

    flavor: Literal["local"] = Field(description="Flavor of this component.")


class DistributionRegistry(PortSetting):
    """CNCF distribution (Docker registry v2 / OCI) with filesystem storage."""

    flavor: Literal["distribution"] = Field(description="Flavor of this component.")
    auth: bool = Field(
        default=True,
        description="Require HTTP basic auth with a generated user and password (kept as a Pulumi secret).",
    )
