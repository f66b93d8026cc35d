"""GCS buckets: uniform bucket-level access, public access prevention enforced, versioned, labelled."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mlstack.clients.models import ObjectStoreClient
from mlstack.components.base import Component, holds_data
from mlstack.components.context import ComponentArgs
from mlstack.components.gcp.naming import gcs_bucket_name
from mlstack.components.gcp.settings import GcsObjectStore
from mlstack.components.outputs import Bucket, ObjectStoreOutputs


class GcpObjectStore(Component[GcsObjectStore, None, ObjectStoreOutputs, ObjectStoreClient]):
    TYPE = "mlstack:gcp:ObjectStore"

    def __init__(
        self, name: str, args: ComponentArgs[GcsObjectStore, None], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, args, opts)
        self.buckets = [self._create_bucket(name, b) for b in self.settings.buckets]
        outputs = ObjectStoreOutputs(
            tuple(
                Bucket(key, b.name, b.name.apply(lambda n: f"gs://{n}"))
                for key, b in zip(self.settings.buckets, self.buckets, strict=True)
            )
        )
        client = pulumi.Output.all(*[b.name for b in self.buckets]).apply(
            lambda names: ObjectStoreClient(
                flavor="gcs",
                region=self.context.placement.region,
                buckets=[f"gs://{n}" for n in names],
            )
        )
        self.publish(outputs, client)

    def _create_bucket(self, name: str, bucket: str) -> gcp.storage.Bucket:
        kms = self.settings.kms_key_name
        return gcp.storage.Bucket(
            f"{name}-{bucket}",
            name=gcs_bucket_name(self.context.stack, bucket),
            project=self.context.placement.project,
            location=self.context.placement.region.upper(),
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning={"enabled": self.settings.versioning},
            encryption={"default_kms_key_name": kms} if kms else None,
            labels=self.context.tags,
            force_destroy=False,
            opts=holds_data(pulumi.ResourceOptions(parent=self)),
        )
