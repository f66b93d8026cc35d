"""Base models: strict for what users write, lenient for what mlstack stored itself."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class UserModel(BaseModel):
    """Input written by a person: unknown keys are errors, and types are strict: `port: "8080"`, `port: 8.08e3`
    and `auth: 'off'` are refused, not coerced (YAML gives each value its type; a string is quoted on purpose)."""

    # str_max_length: no setting needs more, and a 100 kB `location` must not travel into messages and plans.
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=False, str_max_length=4096)


class StoredModel(BaseModel):
    """Data mlstack wrote earlier (stack outputs, saved recipes): newer keys are tolerated."""

    model_config = ConfigDict(extra="ignore")
