"""SageMaker as orchestrator (SageMaker Pipelines) and as serving (SageMaker endpoints): what must exist before
ZenML or a user can run a pipeline or deploy a model there — an execution role scoped to this stack."""

from __future__ import annotations

import pulumi

from mlstack.clients.models import OrchestratorClient, ServingClient
from mlstack.components.aws.iam import execution_role
from mlstack.components.context import ComponentArgs
from mlstack.components.outputs import OrchestratorOutputs, ServingOutputs


def _scope(args: ComponentArgs) -> tuple[list, list]:
    store, registry = args.uses.object_store, args.uses.registry
    return (
        [b.arn for b in store.buckets if b.arn is not None] if store else [],
        [r.arn for r in registry.repositories if r.arn is not None] if registry else [],
    )


class SagemakerOrchestrator(pulumi.ComponentResource):
    def __init__(self, name: str, args: ComponentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlstack:aws:SagemakerOrchestrator", name, None, opts)
        ctx, region = args.context, args.context.placement["region"]
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
        self.client = self.role.arn.apply(
            lambda arn: OrchestratorClient(flavor="sagemaker", execution_role=arn, region=region).model_dump(
                exclude_none=True
            )
        )
        self.outputs = OrchestratorOutputs()
        self.secrets: dict[str, pulumi.Output[str]] = {}
        self.register_outputs({"client": self.client})


class SagemakerServing(pulumi.ComponentResource):
    def __init__(self, name: str, args: ComponentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlstack:aws:SagemakerServing", name, None, opts)
        ctx, region = args.context, args.context.placement["region"]
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
        self.client = self.role.arn.apply(
            lambda arn: ServingClient(
                flavor="sagemaker",
                base_url=f"https://runtime.sagemaker.{region}.amazonaws.com",
                protocol="sagemaker",
                execution_role=arn,
            ).model_dump(exclude_none=True)
        )
        self.outputs = ServingOutputs(pulumi.Output.from_input(f"https://runtime.sagemaker.{region}.amazonaws.com"))
        self.secrets: dict[str, pulumi.Output[str]] = {}
        self.register_outputs({"client": self.client})
