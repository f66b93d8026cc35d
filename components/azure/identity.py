"""User-assigned managed identities with role assignments scoped to single resources of this stack
(a storage account, a registry) — never to the subscription or resource group."""

from __future__ import annotations

import uuid

import pulumi
import pulumi_azure_native as azure

from mlstack.components.context import StackContext
from mlstack.components.outputs import ObjectStoreOutputs, RegistryOutputs

# Built-in role definition ids (the same in every tenant).
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
SCOPED_ROLES = {STORAGE_BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor", ACR_PULL: "AcrPull"}


def assignment_name(stack: str, name: str) -> str:
    """Role assignment names are GUIDs: derived, so a redeploy updates rather than duplicates."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mlstack/{stack}/{name}"))


def workload_identity(
    name: str,
    ctx: StackContext,
    group: azure.resources.ResourceGroup,
    store: ObjectStoreOutputs | None,
    registry: RegistryOutputs | None,
    parent: pulumi.Resource,
) -> azure.managedidentity.UserAssignedIdentity:
    stack = ctx.stack
    child = pulumi.ResourceOptions(parent=parent)
    identity = azure.managedidentity.UserAssignedIdentity(
        f"{name}-identity",
        resource_name_=f"{stack}-{name}",
        resource_group_name=group.name,
        location=ctx.placement.location,
        tags=ctx.tags,
        opts=child,
    )
    subscription = azure.authorization.get_client_config_output().subscription_id
    grants = []
    if store is not None and store.scope_id is not None:
        grants.append(("blob-data", STORAGE_BLOB_DATA_CONTRIBUTOR, store.scope_id))
    if registry is not None and registry.scope_id is not None:
        grants.append(("acr-pull", ACR_PULL, registry.scope_id))
    for suffix, role, scope in grants:
        azure.authorization.RoleAssignment(
            f"{name}-{suffix}",
            role_assignment_name=assignment_name(stack, f"{name}-{suffix}"),
            principal_id=identity.principal_id,
            principal_type="ServicePrincipal",
            scope=scope,
            role_definition_id=_role_definition(subscription, role),
            opts=child,
        )
    return identity


def _role_definition(subscription: pulumi.Output[str], role: str) -> pulumi.Output[str]:
    return subscription.apply(
        lambda sub: f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}"
    )
