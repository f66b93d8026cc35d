"""Azure Machine Learning as orchestrator (pipelines in a workspace) and as serving (a managed online
endpoint). The workspace uses the stack's storage account and registry; pipeline steps and deployed models
run as user-assigned identities scoped to those two resources."""

from __future__ import annotations

import hashlib

import pulumi
import pulumi_azure_native as azure

from mlstack.clients.models import OrchestratorClient, ServingClient
from mlstack.components.azure import settings as s
from mlstack.components.azure.assembly import AzurePlatform
from mlstack.components.azure.identity import workload_identity
from mlstack.components.base import Component
from mlstack.components.context import ComponentArgs
from mlstack.components.outputs import OrchestratorOutputs, ServingOutputs


def vault_name(stack: str) -> str:
    """Key Vault: 3-24 alphanumerics and '-', globally unique."""
    return f"{stack[:17].rstrip('-')}-{hashlib.sha256(stack.encode()).hexdigest()[:6]}"


def ml_workspace(name: str, args: ComponentArgs, parent: pulumi.Resource) -> azure.machinelearningservices.Workspace:
    ctx, group = args.context, args.platform.resource_group
    store, registry = args.uses.store(), args.uses.registry
    location = ctx.placement.location
    child = pulumi.ResourceOptions(parent=parent)
    tenant = azure.authorization.get_client_config_output().tenant_id
    # The Dict form: VaultPropertiesArgs would add its own defaults to the plan (public network access on, ...).
    vault_properties: azure.keyvault.VaultPropertiesArgsDict = {
        "tenant_id": tenant,
        "sku": {"family": "A", "name": azure.keyvault.SkuName.STANDARD},
        "enable_rbac_authorization": True,
        "enable_soft_delete": True,
        "enable_purge_protection": True,
    }
    vault = azure.keyvault.Vault(
        f"{name}-vault",
        vault_name=vault_name(ctx.stack),
        resource_group_name=group.name,
        location=location,
        properties=vault_properties,
        tags=ctx.tags,
        opts=child,
    )
    insights = azure.applicationinsights.Component(
        f"{name}-insights",
        resource_name_=f"{ctx.stack}-{name}",
        resource_group_name=group.name,
        location=location,
        kind="web",
        application_type="web",
        disable_local_auth=True,
        tags=ctx.tags,
        opts=child,
    )
    return azure.machinelearningservices.Workspace(
        f"{name}-workspace",
        workspace_name=f"{ctx.stack}-{name}",
        resource_group_name=group.name,
        location=location,
        identity=azure.machinelearningservices.ManagedServiceIdentityArgs(
            type=azure.machinelearningservices.ManagedServiceIdentityType.SYSTEM_ASSIGNED
        ),
        sku=azure.machinelearningservices.SkuArgs(name="Basic", tier=azure.machinelearningservices.SkuTier.BASIC),
        storage_account=store.scope_id,
        key_vault=vault.id,
        application_insights=insights.id,
        container_registry=registry.scope_id if registry else None,
        system_datastores_auth_mode="identity",
        tags=ctx.tags,
        opts=child,
    )


class AzureMlOrchestrator(Component[s.AzureMlOrchestrator, AzurePlatform, OrchestratorOutputs, OrchestratorClient]):
    TYPE = "mlstack:azure:AzureMlOrchestrator"

    def __init__(
        self,
        name: str,
        args: ComponentArgs[s.AzureMlOrchestrator, AzurePlatform],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, args, opts)
        ctx, group = args.context, args.platform.resource_group
        self.workspace = ml_workspace(name, args, self)
        self.identity = workload_identity(name, ctx, group, args.uses.object_store, args.uses.registry, self)
        outputs = OrchestratorOutputs(self.workspace.name)
        client = pulumi.Output.all(self.workspace.name, group.name, self.identity.id).apply(
            lambda a: OrchestratorClient(
                flavor="azureml",
                execution_role=a[2],
                region=ctx.placement.location,
                workspace=a[0],
                resource_group=a[1],
            )
        )
        self.publish(outputs, client)


class AzureMlServing(Component[s.AzureMlServing, AzurePlatform, ServingOutputs, ServingClient]):
    TYPE = "mlstack:azure:AzureMlServing"

    def __init__(
        self,
        name: str,
        args: ComponentArgs[s.AzureMlServing, AzurePlatform],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, args, opts)
        ctx, group = args.context, args.platform.resource_group
        orchestrator = args.uses.orchestrator
        workspace = (
            orchestrator.workspace_name
            if orchestrator and orchestrator.workspace_name is not None
            else ml_workspace(name, args, self).name
        )
        self.identity = workload_identity(name, ctx, group, args.uses.object_store, args.uses.registry, self)
        self.endpoint = azure.machinelearningservices.OnlineEndpoint(
            f"{name}-endpoint",
            endpoint_name=f"{ctx.stack[:24].rstrip('-')}-ep",
            workspace_name=workspace,
            resource_group_name=group.name,
            location=ctx.placement.location,
            identity={"type": "UserAssigned", "user_assigned_identities": [self.identity.id]},
            properties={"auth_mode": "AADToken", "public_network_access": "Enabled"},
            tags=ctx.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        client = pulumi.Output.all(self.endpoint.name, self.identity.id).apply(
            lambda a: ServingClient(
                flavor="azureml",
                protocol="azureml",
                base_url=f"https://{a[0]}.{ctx.placement.location}.inference.ml.azure.com",
                execution_role=a[1],
            )
        )
        outputs = ServingOutputs(client.apply(lambda c: c.base_url))
        self.publish(outputs, client)
