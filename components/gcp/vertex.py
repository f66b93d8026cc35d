"""Vertex AI as orchestrator (Vertex AI Pipelines) and as serving (a Vertex AI endpoint), each with a service
account that may use only this stack's buckets and repositories."""

from __future__ import annotations

import hashlib

import pulumi
import pulumi_gcp as gcp

from mlstack.clients.models import OrchestratorClient, ServingClient
from mlstack.components.base import Component
from mlstack.components.context import ComponentArgs
from mlstack.components.gcp import settings as s
from mlstack.components.gcp.identity import workload_identity
from mlstack.components.outputs import OrchestratorOutputs, ServingOutputs


def _scope(args: ComponentArgs) -> tuple[dict, dict]:
    store, registry = args.uses.object_store, args.uses.registry
    return (
        {b.key: b.name for b in store.buckets} if store else {},
        {r.key: r.name for r in registry.repositories} if registry else {},
    )


def endpoint_id(stack: str) -> str:
    """Vertex endpoint ids are numeric (<= 10 digits, no leading zero): derived from the stack name."""
    return str(int(hashlib.sha256(stack.encode()).hexdigest(), 16) % 9_000_000_000 + 1_000_000_000)


class VertexOrchestrator(Component[s.VertexOrchestrator, None, OrchestratorOutputs, OrchestratorClient]):
    TYPE = "mlstack:gcp:VertexOrchestrator"

    def __init__(
        self, name: str, args: ComponentArgs[s.VertexOrchestrator, None], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, args, opts)
        ctx = args.context
        self.account = workload_identity(name, "pipelines", ctx, *_scope(args), parent=self)
        client = self.account.email.apply(
            lambda email: OrchestratorClient(flavor="vertex", execution_role=email, region=ctx.placement.region)
        )
        outputs = OrchestratorOutputs()
        self.publish(outputs, client)


class VertexServing(Component[s.VertexServing, None, ServingOutputs, ServingClient]):
    TYPE = "mlstack:gcp:VertexServing"

    def __init__(
        self, name: str, args: ComponentArgs[s.VertexServing, None], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, args, opts)
        ctx = args.context
        project, region = ctx.placement.project, ctx.placement.region
        self.account = workload_identity(name, "serving", ctx, *_scope(args), parent=self)
        self.endpoint = gcp.vertex.AiEndpoint(
            f"{name}-endpoint",
            name=endpoint_id(ctx.stack),
            display_name=f"{ctx.stack}-serving",
            project=project,
            location=region,
            region=region,
            labels=ctx.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        client = pulumi.Output.all(self.endpoint.name, self.account.email).apply(
            lambda a: ServingClient(
                flavor="vertex",
                protocol="vertex",
                base_url=f"https://{region}-aiplatform.googleapis.com/v1/projects/{project}/locations/{region}/endpoints/{a[0]}",
                execution_role=a[1],
            )
        )
        outputs = ServingOutputs(client.apply(lambda c: c.base_url))
        self.publish(outputs, client)
