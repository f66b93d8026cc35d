"""SageMaker as orchestrator (SageMaker Pipelines) and as serving (SageMaker endpoints): what must exist before
ZenML or a user can run a pipeline or deploy a model there — an execution role scoped to this stack."""

from __future__ import annotations

import pulumi

from mlstack.clients.models import OrchestratorClient, ServingClient
from mlstack.components.aws import settings as s
from mlstack.components.aws.iam import execution_role
from mlstack.components.base import Component
from mlstack.components.context import ComponentArgs
from mlstack.components.outputs import OrchestratorOutputs, ServingOutputs


def _scope(args: ComponentArgs) -> tuple[list, list]:
    store, registry = args.uses.object_store, args.uses.registry
    return (
        [b.arn for b in store.buckets if b.arn is not None] if store else [],
        [r.arn for r in registry.repositories if r.arn is not None] if registry else [],
    )


class SagemakerOrchestrator(Component[s.SagemakerOrchestrator, None, OrchestratorOutputs, OrchestratorClient]):
    TYPE = "mlstack:aws:SagemakerOrchestrator"

    def __init__(
        self, name: str, args: ComponentArgs[s.SagemakerOrchestrator, None], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, args, opts)
        ctx, region = args.context, args.context.placement.region
        buckets, repositories = _scope(args)
        self.role = execution_role(
            f"{name}-execution-role",
            "sagemaker.amazonaws.com",
            buckets,
            repositories,
            region,
            "/aws/sagemaker/",
            ctx.tags,
            self,
        )
        client = self.role.arn.apply(
            lambda arn: OrchestratorClient(flavor="sagemaker", execution_role=arn, region=region)
        )
        outputs = OrchestratorOutputs()
        self.publish(outputs, client)


class SagemakerServing(Component[s.SagemakerServing, None, ServingOutputs, ServingClient]):
    TYPE = "mlstack:aws:SagemakerServing"

    def __init__(
        self, name: str, args: ComponentArgs[s.SagemakerServing, None], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, args, opts)
        ctx, region = args.context, args.context.placement.region
        buckets, repositories = _scope(args)
        self.role = execution_role(
            f"{name}-execution-role",
            "sagemaker.amazonaws.com",
            buckets,
            repositories,
            region,
            "/aws/sagemaker/Endpoints/",
            ctx.tags,
            self,
        )
        client = self.role.arn.apply(
            lambda arn: ServingClient(
                flavor="sagemaker",
                base_url=f"https://runtime.sagemaker.{region}.amazonaws.com",
                protocol="sagemaker",
                execution_role=arn,
            )
        )
        outputs = ServingOutputs(pulumi.Output.from_input(f"https://runtime.sagemaker.{region}.amazonaws.com"))
        self.publish(outputs, client)
