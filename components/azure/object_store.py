"""A storage account with blob containers: HTTPS only, TLS >= 1.2, no public blob access, no shared-key
access (Entra ID only), blob versioning and soft delete."""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure

from mlstack.clients.models import ObjectStoreClient
from mlstack.components.azure.assembly import AzurePlatform
from mlstack.components.azure.naming import azure_storage_account_name
from mlstack.components.azure.settings import AzureBlobObjectStore
from mlstack.components.base import Component, holds_data
from mlstack.components.context import ComponentArgs
from mlstack.components.outputs import Bucket, ObjectStoreOutputs


class AzureObjectStore(Component[AzureBlobObjectStore, AzurePlatform, ObjectStoreOutputs, ObjectStoreClient]):
    TYPE = "mlstack:azure:ObjectStore"

    def __init__(
        self,
        name: str,
        args: ComponentArgs[AzureBlobObjectStore, AzurePlatform],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, args, opts)
        group = args.platform.resource_group
        child = pulumi.ResourceOptions(parent=self)
        self.account = azure.storage.StorageAccount(
            f"{name}-account",
            account_name=azure_storage_account_name(self.context.stack),
            resource_group_name=group.name,
            location=self.context.placement.location,
            kind="StorageV2",
            sku={"name": self.settings.sku},
            enable_https_traffic_only=True,
            minimum_tls_version="TLS1_2",
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            public_network_access="Enabled",
            encryption={
                "key_source": "Microsoft.Storage",
                "services": {"blob": {"enabled": True, "key_type": "Account"}},
            },
            tags=self.context.tags,
            opts=holds_data(child),
        )
        dep = pulumi.ResourceOptions(parent=self, depends_on=[self.account])
        azure.storage.BlobServiceProperties(
            f"{name}-blob-service",
            account_name=self.account.name,
            resource_group_name=group.name,
            blob_services_name="default",
            is_versioning_enabled=self.settings.versioning,
            delete_retention_policy={"enabled": True, "days": 7},
            opts=dep,
        )
        self.containers = [
            azure.storage.BlobContainer(
                f"{name}-{c}",
                container_name=c,
                account_name=self.account.name,
                resource_group_name=group.name,
                public_access=azure.storage.PublicAccess.NONE,
                opts=dep,
            )
            for c in self.settings.containers
        ]
        client = self.account.primary_endpoints.apply(
            lambda ep: ObjectStoreClient(
                flavor="azure_blob",
                endpoint_url=ep.blob,
                region=self.context.placement.location,
                buckets=[f"az://{c}" for c in self.settings.containers],
            )
        )
        outputs = ObjectStoreOutputs(
            tuple(
                Bucket(
                    c,
                    pulumi.Output.from_input(c),
                    _wasbs_uri(self.account.name, c),
                )
                for c in self.settings.containers
            ),
            scope_id=self.account.id,
        )
        self.publish(outputs, client)


def _wasbs_uri(account: pulumi.Output[str], container: str) -> pulumi.Output[str]:
    return account.apply(lambda name: f"wasbs://{container}@{name}.blob.core.windows.net")
