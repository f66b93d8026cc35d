"""Artifact Registry Docker repositories: immutable tags, vulnerability scanning on, cleanup policy."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mlstack.clients.models import RegistryClient
from mlstack.components.context import ComponentArgs
from mlstack.components.gcp.naming import artifact_registry_id
from mlstack.components.gcp.settings import ArtifactRegistry
from mlstack.components.outputs import RegistryOutputs, Repository


class GcpRegistry(pulumi.ComponentResource):
    def __init__(self, name: str, args: ComponentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlstack:gcp:Registry", name, None, opts)
        self.settings: ArtifactRegistry = args.settings  # type: ignore[assignment]
        self.ctx = args.context
        self.repositories = [self._create_repository(name, r) for r in self.settings.repositories]
        region, project = self.ctx.placement["region"], self.ctx.placement["project"]
        first = artifact_registry_id(self.ctx.stack, self.settings.repositories[0])
        self.client = pulumi.Output.from_input(
            RegistryClient(  # images are tagged <this uri>/<image>:<tag>
                flavor="artifact_registry", uri=f"{region}-docker.pkg.dev/{project}/{first}", insecure=False
            ).model_dump(exclude_none=True)
        )
        self.outputs = RegistryOutputs(
            self.client.apply(lambda c: c["uri"]),
            tuple(
                Repository(key, r.repository_id)
                for key, r in zip(self.settings.repositories, self.repositories, strict=True)
            ),
        )
        self.secrets: dict[str, pulumi.Output[str]] = {}
        self.register_outputs({"client": self.client})

    def _create_repository(self, name: str, repository: str) -> gcp.artifactregistry.Repository:
        return gcp.artifactregistry.Repository(
            f"{name}-{repository}",
            repository_id=artifact_registry_id(self.ctx.stack, repository),
            project=self.ctx.placement["project"],
            location=self.ctx.placement["region"],
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
            labels=self.ctx.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
