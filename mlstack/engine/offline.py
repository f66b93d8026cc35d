"""The offline plan: run the recipe's whole program under Pulumi's mocks — no credentials, engine or network.

Resources are recorded as the program registers them (type, name, parent, inputs); the mocks answer with the
computed attributes a cloud would (ARNs, URLs), so client outputs can be rendered as well.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlstack import registry
from mlstack.recipe.model import Recipe


@dataclass
class PlannedResource:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]  # secrets redacted: what `preview --offline` prints
    raw: dict[str, Any] = field(default_factory=dict, repr=False)  # secrets in clear, for policy checks only
    # URNs it depends on (explicitly, through an input's value, or as its provider): deleted after it by a destroy
    dependencies: tuple[str, ...] = field(default=(), repr=False)


PROJECT = "mlstack"  # the Pulumi project of every stack (Pulumi.yaml)
UNKNOWN = "<known after deploy>"  # what the plan shows for a value only the platform assigns
OFFLINE_DIR = "/nonexistent/mlstack-offline-home"  # MLSTACK_HOME in a plan (no home is touched)


@dataclass
class Plan:
    stack: str
    target: str
    resources: list[PlannedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    generated: list[str] = field(default_factory=list)  # secrets generated for the plan (never printed)
    # stand-ins the mocks answered with (an account id, a random suffix): shown as known only after deploy
    placeholders: tuple[str, ...] = ()

    def of_type(self, typ: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == typ]

    def children(self, urn: str | None) -> list[PlannedResource]:
        return [r for r in self.resources if r.parent == urn]

    def to_dict(self) -> dict[str, Any]:
        """The plan as `preview --offline` shows it: a value the platform assigns on deploy (an id, an account, a
        free port, a random suffix) reads `<known after deploy>`, never a stand-in that looks real."""
        from mlstack.stacks.program import HIDDEN_OUTPUTS

        ids = {f"{r.name}-id" for r in self.resources}  # what the mocks answer for an id
        placeholders = sorted(self.placeholders, key=len, reverse=True)  # a longer stand-in may hold a shorter

        def show(value: Any) -> Any:
            if isinstance(value, dict):  # keys too: Azure keys identities by their ids
                return {show(k): show(v) for k, v in value.items()}
            if isinstance(value, list):
                return [show(v) for v in value]
            if not isinstance(value, str):
                return value
            if value in ids or value == "None":  # an id, or a number only the deploy picks (a free port)
                return UNKNOWN
            value = value.replace(OFFLINE_DIR, "$MLSTACK_HOME")
            value = re.sub(r"\b(127\.0\.0\.1|localhost):None\b", rf"\1:{UNKNOWN}", value)
            # a port in a flag (`-master.port=None`) or in a socket's path (`…-grpc-None.sock`)
            value = re.sub(r"(?<=port=|grpc=)None\b|(?<=-)None(?=\.sock$)", UNKNOWN, value)
            for placeholder in placeholders:
                value = value.replace(placeholder, UNKNOWN)
            return value

        return {
            "stack": self.stack,
            "target": self.target,
            "outputs": show({k: v for k, v in self.outputs.items() if k not in HIDDEN_OUTPUTS}),
            "resources": [
                {"urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent, "inputs": show(r.inputs)}
                for r in self.resources
            ],
        }


DYNAMIC = "pulumi-python:dynamic"  # the package of every dynamic resource type (`pulumi-python:dynamic/local:Process`)
REDACTED = "[secret]"


def _dynamic(name: str, inputs: dict[str, Any]) -> tuple[str, dict]:
    """A dynamic resource whose provider is pure (e.g. a generated password) runs its own `create`; others are
    planned with their inputs only (a local process is never started by a plan)."""
    import base64

    import dill
    from pulumi.runtime.rpc import is_rpc_secret

    serialized = inputs["__provider"]
    serialized = serialized["value"] if is_rpc_secret(serialized) else serialized
    provider = dill.loads(base64.b64decode(serialized))
    if not getattr(provider, "offline", False):
        return f"{name}-id", dict(inputs)
    props = {k: v for k, v in inputs.items() if k != "__provider"}
    # A provider with `plan` gives values that are the same on every run (a plan in a pull request must not change
    # on every push); otherwise its pure `create` runs.
    result = provider.plan(props, name) if hasattr(provider, "plan") else provider.create(props)
    return result.id, {**inputs, **(result.outs or {})}


def _map_secrets(value: Any, secret: Callable[[Any], Any]) -> Any:
    """`value` with each secret (an Output.secret input, e.g. a database password) replaced by `secret(it)`, and
    whole numbers as integers."""
    from pulumi.runtime.rpc import is_rpc_secret

    if is_rpc_secret(value):
        return secret(value["value"])
    if isinstance(value, dict):
        return {k: _map_secrets(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_secrets(v, secret) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire format has only doubles: 443, not 443.0
    return value


def _redact(value: Any) -> Any:
    return _map_secrets(value, lambda _: REDACTED)


def _unwrap(value: Any) -> Any:
    return _map_secrets(value, _unwrap)


def plan(recipe: Recipe) -> Plan:
    """The plan, with the cyclic garbage collector paused: the cloud SDKs build thousands of classes and the
    program thousands of short-lived futures, and a plan is short-lived (a third of its time went to collections)."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        return _plan(recipe)
    finally:
        if enabled:
            gc.enable()


def _plan(recipe: Recipe) -> Plan:
    import pulumi
    from pulumi.runtime import mocks, settings

    from mlstack.stacks.program import make_program

    placement = recipe.target
    fake = registry.target(recipe.target.type).offline_module()  # the target's provider, as the mocks answer it
    result = Plan(recipe.name, recipe.target.type, placeholders=tuple(getattr(fake, "PLACEHOLDERS", ())))

    class Monitor(mocks.MockMonitor):
        def make_urn(self, parent: str, type_: str, name: str) -> str:
            """The URN the engine would give (stack::project::type::name), whatever an earlier program in this
            process left in Pulumi's settings (the SDK's mock reads them, and they leak between runs)."""
            if parent:
                type_ = parent.split("::")[2].split("$").pop() + "$" + type_
            return "urn:pulumi:" + "::".join([recipe.name, PROJECT, type_, name])

        def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
            response = super().RegisterResource(request)
            if request.type != "pulumi:pulumi:Stack":
                state = self.resources[response.urn].state if response.urn in self.resources else {}
                hidden = set(request.additionalSecretOutputs) | {"__provider"}
                result.resources.append(
                    PlannedResource(
                        response.urn,
                        request.type,
                        request.name,
                        request.parent or None,
                        bool(request.custom),
                        {k: REDACTED if k in hidden else _redact(v) for k, v in state.items()},
                        {k: _unwrap(v) for k, v in state.items() if k != "__provider"},
                        tuple(
                            sorted(
                                {*request.dependencies}
                                | {u for deps in request.propertyDependencies.values() for u in deps.urns}
                                # its provider (a reference `<urn>::<id>`): deleted after what it manages
                                | ({request.provider.rsplit("::", 1)[0]} if request.provider else set())
                            )
                        ),
                    )
                )
                if (
                    request.type.startswith(DYNAMIC)
                    and "value" in hidden
                    and isinstance(result.resources[-1].raw.get("value"), str)
                ):
                    result.generated.append(result.resources[-1].raw["value"])  # a generated secret
            return response

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
            if args.typ.startswith(DYNAMIC):
                return _dynamic(args.name, args.inputs)
            computed = fake.attributes(args.typ, args.name, args.inputs, placement) if fake else {}
            return f"{args.name}-id", {**args.inputs, **computed}

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
            return (fake.call(placement, args.token, args.args) if fake else {}), []

    monitor = Monitor(Mocks())
    # set_mocks makes a root Stack resource only when none is set: a second plan in one process (tests, tools)
    # would otherwise parent its resources to the first recipe's stack.
    settings.ROOT.set(None)
    pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack=recipe.name, preview=False, monitor=monitor)
    from mlstack.stacks.program import runtimes_of

    # Service runtimes are not installed for a plan: processes are planned, never started, so a path will do.
    home = _no_home()
    runtimes = {rt: _runtime_path(rt) for rt in runtimes_of(recipe)}
    program = make_program(
        recipe, stack_dir=home.stack_dir(recipe.name), runtimes=runtimes, on_outputs=result.outputs.update
    )
    pulumi.runtime.test(program)()
    # The program registers resources concurrently: sorted, a plan reads the same on every run.
    result.resources.sort(key=lambda r: r.urn)
    return result


def _no_home() -> Any:
    """A home no plan touches: paths in the plan are where a deploy's home would put things."""
    from pathlib import Path

    from mlstack.home import Home

    return Home(Path(OFFLINE_DIR))


def _runtime_path(name: str) -> str:
    """Where a deploy finds a runtime's main program, said the same on every machine (a plan in a pull request
    must not depend on the machine that made it): a Debian package's on the PATH, else under the home."""
    from mlstack.versions import RUNTIMES, DebianRuntime

    rt = RUNTIMES[name]
    if isinstance(rt, DebianRuntime):
        return f"/usr/bin/{rt.binary}"
    return f"{OFFLINE_DIR}/runtimes/{rt.name}-{rt.version}/bin/{rt.binary}"
