"""The `azure` target, declared: placement, machine needs, flavors and their rules (no Pulumi imported here)."""

from __future__ import annotations

from typing import Any

from mlstack.components.azure import naming
from mlstack.components.azure import settings as s
from mlstack.registry import Flavor, PluginNeed, Problems, SdkNeeds, Target, TargetNeeds, Unsupported

SDK = SdkNeeds(requires=("pulumi", "pulumi_azure_native"), install_hint="`pip install 'mlstack[azure]'`")
NO_PROBE = (
    "Azure ML has no endpoint to probe before something runs on it; the identity's role assignments are "
    "checked by the policy suite"
)


def _container_names(st: s.AzureBlobObjectStore, stack: str, placement: s.AzureTarget) -> Problems:
    return [(f"containers[{i}]", p) for i, c in enumerate(st.containers) if (p := naming.azure_container_problem(c))]


def _tracking_placement(st: s.AzureMlflowTracking, stack: str, placement: s.AzureTarget) -> Problems:
    if st.subnet_id and st.database_subnet_id and st.subnet_id.lower() == st.database_subnet_id.lower():
        return [
            (
                "database_subnet_id",
                "must be a subnet of its own: the server's is delegated to Container Apps, "
                "the database's to PostgreSQL",
            )
        ]
    if (
        st.subnet_id
        and st.database_subnet_id
        and s.virtual_network(st.subnet_id).lower() != s.virtual_network(st.database_subnet_id).lower()
    ):
        return [
            (
                "database_subnet_id",
                "must be in the same virtual network as subnet_id (the server reaches the database through it)",
            )
        ]
    problem = s.storage_problem(st.database_storage_gb)
    return [("database_storage_gb", problem)] if problem else []


def _tags(tags: dict[str, str]) -> Problems:
    """Azure tag rules: names up to 512 characters without < > % & \\ ? /, values up to 256."""
    return [
        (k, "Azure tag names are up to 512 characters without < > % & \\ ? /, values up to 256")
        for k, v in tags.items()
        if len(k) > 512 or len(v) > 256 or any(c in k for c in "<>%&\\?/")
    ]


def _workspace(client: Any) -> dict[str, Any]:
    return {"resource_group": client.resource_group, "workspace": client.workspace}


TARGET = Target(
    name="azure",
    placement=s.AzureTarget,
    summary="Microsoft Azure, one resource group per stack",
    needs=TargetNeeds(
        ("ARM_CLIENT_ID", "AZURE_CLIENT_ID", "ARM_USE_MSI"),
        ("~/.azure/azureProfile.json",),
        (PluginNeed("azure-native", "pulumi_azure_native", "azure"),),
    ),
    assembly="mlstack.components.azure.assembly:setup",
    offline="mlstack.components.azure.offline",
    cost="mlstack.components.azure.cost",
    policy="mlstack.components.azure.policy",
    tag_problems=_tags,
    flavors=(
        Flavor(
            "azure",
            "object_store",
            "azure_blob",
            s.AzureBlobObjectStore,
            "mlstack.components.azure.object_store:AzureObjectStore",
            "Blob Storage: HTTPS only, TLS 1.2, no public or shared-key access, versioned",
            deletes_data="the storage account with its blobs",
            problems=_container_names,
            zenml="azure",
            verify=Unsupported(
                "Blob Storage is checked through its own API with Entra ID credentials; verify speaks S3 only"
            ),
            **SDK,
        ),
        Flavor(
            "azure",
            "tracking",
            "mlflow",
            s.AzureMlflowTracking,
            "mlstack.components.azure.tracking:AzureTracking",
            "MLflow on Container Apps (HTTPS, IP-restricted ingress); PostgreSQL flexible server with private "
            "access only; artifacts in Blob Storage through a managed identity",
            needs=("object_store",),
            deletes_data="the database server with its runs (Azure can restore it for 5 days)",
            problems=_tracking_placement,
            zenml="mlflow",
            verify="mlflow",
            **SDK,
        ),
        Flavor(
            "azure",
            "orchestrator",
            "azureml",
            s.AzureMlOrchestrator,
            "mlstack.components.azure.ml:AzureMlOrchestrator",
            "Azure ML workspace on the stack's storage and registry; steps run as an identity scoped to them",
            needs=("object_store",),
            uses=("registry",),
            deletes_data="the workspace with its job history (soft-deleted for 14 days)",
            zenml="azureml",
            zenml_config=_workspace,
            verify=Unsupported(NO_PROBE),
            **SDK,
        ),
        Flavor(
            "azure",
            "serving",
            "azureml",
            s.AzureMlServing,
            "mlstack.components.azure.ml:AzureMlServing",
            "Azure ML managed online endpoint (Entra ID auth); models run as an identity scoped to the stack",
            needs=("object_store",),
            uses=("registry", "orchestrator"),
            verify=Unsupported(NO_PROBE),
            **SDK,
        ),
        Flavor(
            "azure",
            "registry",
            "acr",
            s.AcrRegistry,
            "mlstack.components.azure.registry:AzureRegistry",
            "Azure Container Registry: admin user and anonymous pull off",
            deletes_data="the registry with its images",
            zenml="azure",
            verify=Unsupported("a push to ACR needs an Entra ID token, which verify does not fetch"),
            **SDK,
        ),
    ),
)
