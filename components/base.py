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
from pydantic import BaseModel

from mlstack.components.context import ComponentArgs

SettingsT = TypeVar("SettingsT", bound=BaseModel)
PlatformT = TypeVar("PlatformT")
OutputsT = TypeVar("OutputsT")
ClientT = TypeVar("ClientT", bound=BaseModel)


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
