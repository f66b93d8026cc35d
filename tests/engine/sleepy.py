"""A dynamic resource for engine tests: its create takes as long as asked (to hold the stack's lock)."""

from __future__ import annotations

import time

import pulumi
from pulumi.dynamic import CreateResult, Resource, ResourceProvider


class SleepyProvider(ResourceProvider):
    def create(self, props):
        time.sleep(float(props["seconds"]))
        return CreateResult(id_="sleepy", outs={**props, "done": True})


class Sleepy(Resource):
    done: pulumi.Output[bool]

    def __init__(self, name: str, seconds: float, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(SleepyProvider(), name, {"seconds": seconds, "done": None}, opts)
