"""The one contract every component keeps: typed settings in, typed outputs and a typed client model out.

A component is a `pulumi.ComponentResource` generic over its settings model, the platform its target's assembly
set up, the outputs it hands the components wired to it (`components/outputs.py`) and the client model it
publishes (`mlstack/clients/models.py`). It declares its type token once, reads `self.settings` and
`self.platform` already typed, and ends with `publish(outputs, client, secrets)`; the stack program
(`stacks/program.py`) dumps the client models into the stack's outputs, so no component serialises anything.
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

import pulumi
import pulumi.dynamic
from pydantic import BaseModel

from mlstack.components.context import ComponentArgs

SettingsT = TypeVar("SettingsT", bound=BaseModel)
PlatformT = TypeVar("PlatformT")
OutputsT = TypeVar("OutputsT")
ClientT = TypeVar("ClientT", bound=BaseModel)


# Up to release 0.1.0 every dynamic resource had this one type token; each class now has its own.
UNTYPED_DYNAMIC = "pulumi-python:dynamic:Resource"


class DynamicResource(pulumi.dynamic.Resource):
    """A dynamic resource with a type token of its own, `pulumi-python:dynamic/<module>:<Name>` (given in the class
    statement: `class Bucket(DynamicResource, module="local", name="Bucket")`), so that a plan says what it is.
    The alias keeps the identity of each one in a stack an earlier release deployed under the old token: the
    engine sees the same resource, not a new one and a deleted one."""

    def __init__(
        self,
        provider: pulumi.dynamic.ResourceProvider,
        name: str,
        props: dict[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        renamed = pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=UNTYPED_DYNAMIC)])
        super().__init__(provider, name, props, pulumi.ResourceOptions.merge(opts, renamed))


def holds_data(opts: pulumi.ResourceOptions | None = None) -> pulumi.ResourceOptions:
    """The options of a resource that holds the stack's data: a bucket, a volume, a database, an image repository.

    It is protected: the engine itself refuses to replace or delete it (`preview` marks such a step as replacing
    data) unless the deploy says `--replace-data`; `destroy` still removes it (and what it keeps, it keeps)."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=True))


class Component(pulumi.ComponentResource, Generic[SettingsT, PlatformT, OutputsT, ClientT]):
    """One flavor of one kind on one target. Subclasses set `TYPE` ("mlstack:<target>:<Class>"), build their
    children with `parent=self` (named `f"{name}-…"`) and call `publish` last."""

    TYPE: ClassVar[str]
    settings: SettingsT
    platform: PlatformT
    context: Any  # StackContext: the stack's name, tags, directories, runtimes and placement
    outputs: OutputsT
    client: pulumi.Output[ClientT]
    secrets: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: ComponentArgs[SettingsT, PlatformT], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        self.settings = args.settings
        self.platform = args.platform
        self.context = args.context
        self.uses = args.uses
        self.secrets = {}

    def publish(
        self,
        outputs: OutputsT,
        client: pulumi.Input[ClientT],
        secrets: dict[str, pulumi.Output[str]] | None = None,
    ) -> None:
        """What the component hands on: typed outputs to the components wired to it, the client model to the
        stack's outputs, and the secrets (output key -> secret value) clients log in with."""
        self.outputs = outputs
        self.client = pulumi.Output.from_input(client)
        self.secrets = dict(secrets or {})
        self.register_outputs({"client": self.client_config()})

    def client_config(self) -> pulumi.Output[dict[str, Any]]:
        """The client model as the stack output carries it (fields left unset are left out)."""
        return self.client.apply(lambda model: model.model_dump(exclude_none=True))
