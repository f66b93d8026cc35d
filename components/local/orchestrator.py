"""`local` orchestrator: pipelines run in the caller's process, so nothing is deployed; it still has a client config."""

from __future__ import annotations

import pulumi

from mlstack.clients.models import OrchestratorClient
from mlstack.components.base import Component
from mlstack.components.context import ComponentArgs
from mlstack.components.local.settings import LocalOrchestrator as LocalOrchestratorSettings
from mlstack.components.outputs import OrchestratorOutputs


class LocalOrchestrator(Component[LocalOrchestratorSettings, None, OrchestratorOutputs, OrchestratorClient]):
    TYPE = "mlstack:local:Orchestrator"

    def __init__(
        self,
        name: str,
        args: ComponentArgs[LocalOrchestratorSettings, None],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, args, opts)
        self.publish(OrchestratorOutputs(), OrchestratorClient(flavor="local"))
