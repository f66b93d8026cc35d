"""The usage a monthly estimate assumes: what decides a bill beyond the resources' sizes. Each key has a default
and a low–high range; a value the recipe (`cost:`) or `--assume KEY=VALUE` sets is exact (no range)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from mlstack.recipe.base import UserModel

Source = Literal["default", "recipe", "--assume"]


@dataclass(frozen=True)
class Usage:
    description: str
    unit: str
    expected: float
    low: float
    high: float


USAGE: dict[str, Usage] = {
    "storage_gb": Usage("data kept in the object store", "GB", 100, 10, 1000),
    "write_requests_k": Usage("object store writes (PUT, COPY, POST, LIST) a month", "thousand requests", 50, 5, 500),
    "read_requests_k": Usage("object store reads (GET) a month", "thousand requests", 500, 50, 5000),
    "registry_gb": Usage("images kept in the registry", "GB", 20, 5, 200),
    "image_cache_gb": Usage("images a pull-through repository caches (GCP: the MLflow image)", "GB", 2, 1, 5),
    "logs_gb": Usage("service logs ingested a month", "GB", 5, 1, 50),
    "data_out_gb": Usage("data sent to the internet a month (artifacts, images pulled from outside)", "GB", 10, 0, 100),
    "hours_up": Usage("hours a month the always-on services run", "hours", 730, 730, 730),
    "lb_capacity_units": Usage("average load-balancer capacity units (AWS LCUs)", "LCU", 1, 1, 5),
}


class CostAssumptions(UserModel):
    """Usage the cost estimate assumes (`mlstack cost`): each key overrides its default, and is then exact."""

    storage_gb: float | None = Field(default=None, ge=0, le=1e7, description="Data kept in the object store, GB.")
    write_requests_k: float | None = Field(
        default=None, ge=0, le=1e9, description="Object store writes (PUT, COPY, POST, LIST) a month, thousands."
    )
    read_requests_k: float | None = Field(
        default=None, ge=0, le=1e9, description="Object store reads (GET) a month, thousands."
    )
    registry_gb: float | None = Field(default=None, ge=0, le=1e7, description="Images kept in the registry, GB.")
    image_cache_gb: float | None = Field(
        default=None, ge=0, le=1e6, description="Images pull-through repositories cache, GB."
    )
    logs_gb: float | None = Field(default=None, ge=0, le=1e7, description="Service logs ingested a month, GB.")
    data_out_gb: float | None = Field(default=None, ge=0, le=1e7, description="Data sent to the internet a month, GB.")
    hours_up: float | None = Field(
        default=None, ge=0, le=744, description="Hours a month the always-on services run (a month has at most 744)."
    )
    lb_capacity_units: float | None = Field(
        default=None, ge=0, le=1e5, description="Average load-balancer capacity units (AWS LCUs)."
    )


@dataclass(frozen=True)
class Assumed:
    key: str
    expected: float
    low: float
    high: float
    unit: str
    description: str
    source: Source


def resolve(recipe: CostAssumptions | None, assumed: dict[str, float]) -> dict[str, Assumed]:
    """Every key's value: `--assume` over the recipe over the default (only a default keeps its range)."""
    out = {}
    for key, usage in USAGE.items():
        if key in assumed:
            value, source = assumed[key], "--assume"
        elif recipe is not None and (set_in_recipe := getattr(recipe, key)) is not None:
            value, source = float(set_in_recipe), "recipe"
        else:
            out[key] = Assumed(key, usage.expected, usage.low, usage.high, usage.unit, usage.description, "default")
            continue
        out[key] = Assumed(key, value, value, value, usage.unit, usage.description, source)  # type: ignore[arg-type]
    return out
