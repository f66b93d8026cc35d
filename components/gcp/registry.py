"""Artifact Registry Docker repositories: immutable tags, vulnerability scanning on, cleanup policy."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mlstack.clients.models import RegistryClient
from mlstack.components.base import Component, holds_data
from mlstack.components.context import ComponentArgs
from mlstack.components.gcp.naming import artifact_registry_id
from mlstack.components.gcp.settings import ArtifactRegistry
from mlstack.components.outputs import RegistryOutputs, Repository


class GcpRegistry(Component[ArtifactRegistry, None, RegistryOutputs, RegistryClient]):
    TYPE = "mlstack:gcp:Registry"

    def __init__(
        self, name: str, args: ComponentArgs[ArtifactRegistry, None], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, args, opts)
        self.repositories = [self._create_repository(name, r) for r in self.settings.repositories]
        region, project = self.context.placement.region, self.context.placement.project
        first = artifact_registry_id(self.context.stack, self.settings.repositories[0])
        client = pulumi.Output.from_input(
            RegistryClient(  # images are tagged <this uri>/<image>:<tag>
                flavor="artifact_registry", uri=f"{region}-docker.pkg.dev/{project}/{first}", insecure=False
            )
        )
        outputs = RegistryOutputs(
            client.apply(lambda c: c.uri),
            tuple(
                Repository(key, r.repository_id)
                for key, r in zip(self.settings.repositories, self.repositories, strict=True)
            ),
        )
        self.publish(outputs, client)

    def _create_repository(self, name: str, repository: str) -> gcp.artifactregistry.Repository:
        return gcp.artifactregistry.Repository(
            f"{name}-{repository}",
            repository_id=artifact_registry_id(self.context.stack, repository),
            project=self.context.placement.project,
            location=self.context.placement.region,
            format="DOCKER",
            docker_config={"immutable_tags": True},
            vulnerability_scanning_config={"enablement_config": "INHERITED"},
            cleanup_policies=[
                {
                    "id": "keep-newest",
                    "action": "KEEP",
                    "most_recent_versions": {"keep_count": self.settings.keep_images},
                }
            ],
            labels=self.context.tags,
            opts=holds_data(pulumi.ResourceOptions(parent=self)),
        )
