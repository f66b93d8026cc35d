"""`local` orchestrator: pipelines run in the caller's process, so nothing is deployed; it still has a client config."""

from __future__ import annotations

import pulumi

from mlstack.clients.models import OrchestratorClient
from mlstack.components.context import ComponentArgs
from mlstack.components.outputs import OrchestratorOutputs


class LocalOrchestrator(pulumi.ComponentResource):
    def __init__(self, name: str, args: ComponentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlstack:local:Orchestrator", name, None, opts)
        self.client = pulumi.Output.from_input(OrchestratorClient(flavor="local").model_dump(exclude_none=True))
        self.outputs = OrchestratorOutputs()
        self.secrets: dict[str, pulumi.Output[str]] = {}
        self.register_outputs({"client": self.client})
