"""Azure Container Registry: admin user off (identities only), anonymous pull off."""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure

from mlstack.clients.models import RegistryClient
from mlstack.components.azure.assembly import AzurePlatform
from mlstack.components.azure.naming import azure_registry_name
from mlstack.components.azure.settings import AcrRegistry
from mlstack.components.base import Component, holds_data
from mlstack.components.context import ComponentArgs
from mlstack.components.outputs import RegistryOutputs


class AzureRegistry(Component[AcrRegistry, AzurePlatform, RegistryOutputs, RegistryClient]):
    TYPE = "mlstack:azure:Registry"

    def __init__(
        self, name: str, args: ComponentArgs[AcrRegistry, AzurePlatform], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, args, opts)
        group = args.platform.resource_group
        self.registry = azure.containerregistry.Registry(
            f"{name}-acr",
            registry_name=azure_registry_name(self.context.stack),
            resource_group_name=group.name,
            location=self.context.placement.location,
            sku={"name": self.settings.sku},
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            tags=self.context.tags,
            opts=holds_data(pulumi.ResourceOptions(parent=self)),
        )
        client = self.registry.login_server.apply(
            lambda server: RegistryClient(flavor="acr", uri=server, insecure=False)
        )
        outputs = RegistryOutputs(self.registry.login_server, scope_id=self.registry.id)
        self.publish(outputs, client)
