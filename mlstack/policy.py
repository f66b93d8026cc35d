"""The policy suite's vocabulary: rules are functions of a recipe's offline plan that raise `PolicyViolation`.

Each target package lists its rules in `components/<target>/policy.py: RULES`; the test suite runs every rule of
a recipe's target on the offline plan of every recipe in `recipes/` (tests/test_policy.py), so a new recipe is
enrolled by existing. Rules read the plan's resources and their inputs only (no Pulumi, no cloud).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, Protocol

REDACTED = "[secret]"  # how the offline plan shows a secret input


class PolicyViolation(AssertionError):
    """A resource of the plan breaks a rule (an AssertionError, so test runners show the rule's message)."""


def require(condition: Any, message: str) -> None:
    if not condition:
        raise PolicyViolation(message)


class PlannedResource(Protocol):
    type: str
    name: str
    inputs: dict[str, Any]
    raw: dict[str, Any]


class Plan(Protocol):
    stack: str
    resources: list[Any]

    def of_type(self, typ: str) -> list[Any]: ...


Rule = Callable[[Any, Any], None]  # (plan, recipe) -> None, raising PolicyViolation


def open_to_the_internet(plan: Plan, except_types: tuple[str, ...] = ()) -> list[str]:
    """Resources whose inputs name the whole internet (0.0.0.0/0 or ::/0) anywhere."""
    return [
        r.name
        for r in plan.resources
        if r.type not in except_types and ("0.0.0.0/0" in json.dumps(r.inputs) or "::/0" in json.dumps(r.inputs))
    ]


def json_policies(plan: Plan) -> Iterator[tuple[str, dict]]:
    """IAM-style JSON documents held in string inputs (AWS policies)."""
    for r in plan.resources:
        for value in r.inputs.values():
            if isinstance(value, str) and value.lstrip().startswith("{") and '"Statement"' in value:
                yield r.name, json.loads(value)
