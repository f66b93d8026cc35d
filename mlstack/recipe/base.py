"""Base models: strict for what users write, lenient for what mlstack stored itself."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class UserModel(BaseModel):
    """Input written by a person: unknown keys are errors, types are not coerced across kinds."""

    model_config = ConfigDict(extra="forbid", strict=False, populate_by_name=False)


class StoredModel(BaseModel):
    """Data mlstack wrote earlier (stack outputs, saved recipes): newer keys are tolerated."""

    model_config = ConfigDict(extra="ignore")
