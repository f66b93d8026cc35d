"""GCS buckets: uniform bucket-level access, public access prevention enforced, versioned, labelled."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mlstack.clients.models import ObjectStoreClient
from mlstack.components.context import ComponentArgs
from mlstack.components.gcp.naming import gcs_bucket_name
from mlstack.components.gcp.settings import GcsObjectStore
from mlstack.components.outputs import Bucket, ObjectStoreOutputs


class GcpObjectStore(pulumi.ComponentResource):
    def __init__(self, name: str, args: ComponentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlstack:gcp:ObjectStore", name, None, opts)
        self.settings: GcsObjectStore = args.settings  # type: ignore[assignment]
        self.ctx = args.context
        self.buckets = [self._create_bucket(name, b) for b in self.settings.buckets]
        self.outputs = ObjectStoreOutputs(
            tuple(
                Bucket(key, b.name, b.name.apply(lambda n: f"gs://{n}"))
                for key, b in zip(self.settings.buckets, self.buckets, strict=True)
            )
        )
        self.client = pulumi.Output.all(*[b.name for b in self.buckets]).apply(
            lambda names: ObjectStoreClient(
                flavor="gcs",
                region=self.ctx.placement["region"],
                buckets=[f"gs://{n}" for n in names],
            ).model_dump(exclude_none=True)
        )
        self.secrets: dict[str, pulumi.Output[str]] = {}
        self.register_outputs({"client": self.client})

    def _create_bucket(self, name: str, bucket: str) -> gcp.storage.Bucket:
        kms = self.settings.kms_key_name
        return gcp.storage.Bucket(
            f"{name}-{bucket}",
            name=gcs_bucket_name(self.ctx.stack, bucket),
            project=self.ctx.placement["project"],
            location=self.ctx.placement["region"].upper(),
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning={"enabled": self.settings.versioning},
            encryption={"default_kms_key_name": kms} if kms else None,
            labels=self.ctx.tags,
            force_destroy=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
