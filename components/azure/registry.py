"""Azure Container Registry: admin user off (identities only), anonymous pull off."""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure

from mlstack.clients.models import RegistryClient
from mlstack.components.azure.naming import azure_registry_name
from mlstack.components.azure.settings import AcrRegistry
from mlstack.components.context import ComponentArgs
from mlstack.components.outputs import RegistryOutputs


class AzureRegistry(pulumi.ComponentResource):
    def __init__(self, name: str, args: ComponentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlstack:azure:Registry", name, None, opts)
        self.settings: AcrRegistry = args.settings  # type: ignore[assignment]
        self.ctx = args.context
        group = args.platform.resource_group
        self.registry = azure.containerregistry.Registry(
            f"{name}-acr",
            registry_name=azure_registry_name(self.ctx.stack),
            resource_group_name=group.name,
            location=self.ctx.placement["location"],
            sku={"name": self.settings.sku},
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            tags=self.ctx.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.client = self.registry.login_server.apply(
            lambda server: RegistryClient(flavor="acr", uri=server, insecure=False).model_dump(exclude_none=True)
        )
        self.outputs = RegistryOutputs(self.registry.login_server, scope_id=self.registry.id)
        self.secrets: dict[str, pulumi.Output[str]] = {}
        self.register_outputs({"client": self.client})
