"""The cloud's object store and registry in a stack on a managed cluster (eks: s3 and ecr; gke: gcs and
artifact_registry; aks: azure_blob and acr): made by the cluster's
cloud side (clusters/_managed.py: CloudAccess, built in cloud/<type>.py) under the cluster's own cloud provider, so
they are the cloud targets' own components; the in-cluster consumers reach them keylessly."""

from __future__ import annotations

from typing import Any

import pulumi

from mlstack.clients.models import ObjectStoreClient, RegistryClient
from mlstack.components.base import Component
from mlstack.components.context import ComponentArgs
from mlstack.components.kubernetes import workload as w
from mlstack.components.outputs import ObjectStoreOutputs, RegistryOutputs


class KubernetesCloudObjectStore(Component[Any, w.KubernetesPlatform, ObjectStoreOutputs, ObjectStoreClient]):
    """The cloud's buckets (each flavor's subclass names its type token)."""

    TYPE = "mlstack:kubernetes:CloudObjectStore"

    def __init__(
        self, name: str, args: ComponentArgs[Any, w.KubernetesPlatform], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, args, opts)
        outputs, client = self.platform.cloud_side("object_store").object_store(name, self.settings, self.context, self)
        self.publish(outputs, client)


class KubernetesCloudRegistry(Component[Any, w.KubernetesPlatform, RegistryOutputs, RegistryClient]):
    """The cloud's repositories (each flavor's subclass names its type token)."""

    TYPE = "mlstack:kubernetes:CloudRegistry"

    def __init__(
        self, name: str, args: ComponentArgs[Any, w.KubernetesPlatform], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, args, opts)
        outputs, client = self.platform.cloud_side("registry").registry(name, self.settings, self.context, self)
        self.publish(outputs, client)


class KubernetesS3(KubernetesCloudObjectStore):
    TYPE = "mlstack:kubernetes:S3ObjectStore"


class KubernetesEcr(KubernetesCloudRegistry):
    TYPE = "mlstack:kubernetes:EcrRegistry"


class KubernetesGcs(KubernetesCloudObjectStore):
    TYPE = "mlstack:kubernetes:GcsObjectStore"


class KubernetesArtifactRegistry(KubernetesCloudRegistry):
    TYPE = "mlstack:kubernetes:ArtifactRegistry"


class KubernetesAzureBlob(KubernetesCloudObjectStore):
    TYPE = "mlstack:kubernetes:AzureBlobObjectStore"


class KubernetesAcr(KubernetesCloudRegistry):
    TYPE = "mlstack:kubernetes:AcrRegistry"
