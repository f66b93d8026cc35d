"""The price snapshot: list prices per region, each with the page it was read from and the day it was read.
mlstack ships one (snapshot.json, refreshed as the README says); `--prices FILE` takes a newer one of the same
format (YAML or JSON), validated like a recipe (FILE:LINE per problem, exit 2)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field

from mlstack.recipe.base import UserModel

SHIPPED = Path(__file__).with_name("snapshot.json")
DATE = r"^\d{4}-\d{2}-\d{2}$"


class RegionPrice(UserModel):
    """A price in one region, with where and when it was read."""

    usd: float = Field(ge=0, le=1e6, description="USD per unit.")
    source: str = Field(description="Where it was read: a public page, API or file.", pattern=r"^https://\S+$")
    read: str = Field(description="The day it was read there (YYYY-MM-DD).", pattern=DATE)
    as_of: str | None = Field(
        default=None,
        description="The day or month the source says its prices are of, where it says (YYYY-MM or YYYY-MM-DD).",
        pattern=r"^\d{4}-\d{2}(-\d{2})?$",
    )


class Price(UserModel):
    """One priced item: what it is, its unit, and its price in each region the snapshot has."""

    description: str = Field(description="What is priced, as the source names it.", max_length=200)
    unit: str = Field(description="The unit one price is for (GB-month, hour, 1,000 requests, ...).", max_length=40)
    regions: dict[str, RegionPrice] = Field(description="The price by region.", min_length=1)


class Snapshot(UserModel):
    """A price snapshot: `mlstack cost --prices FILE` takes one of this format."""

    format: Literal["mlstack.prices/v1"] = Field(description="Snapshot format version.")
    read: str = Field(description="The day the snapshot was assembled (YYYY-MM-DD).", pattern=DATE)
    currency: Literal["USD"] = Field(description="Currency of every price.")
    prices: dict[str, Price] = Field(description="Priced items by key (`aws.s3.storage`).")

    def price(self, key: str, region: str) -> tuple[Price, RegionPrice] | None:
        entry = self.prices.get(key)
        if entry is None or region not in entry.regions:
            return None
        return entry, entry.regions[region]


@cache
def shipped() -> Snapshot:
    return Snapshot.model_validate(json.loads(SHIPPED.read_text()), strict=False)


def load(path: Path | None) -> Snapshot:
    """The snapshot `--prices` names, else the shipped one."""
    if path is None:
        return shipped()
    from mlstack.recipe.loader import load_document

    return load_document(path, Snapshot, "a price snapshot (`format: mlstack.prices/v1`; see `mlstack cost --help`)")
