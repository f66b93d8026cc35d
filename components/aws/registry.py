"""ECR repositories: scan on push, immutable tags, encrypted, lifecycle-pruned."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from mlstack.clients.models import RegistryClient
from mlstack.components.aws.naming import ecr_repository_name
from mlstack.components.aws.settings import EcrRegistry
from mlstack.components.base import Component, holds_data
from mlstack.components.context import ComponentArgs
from mlstack.components.outputs import RegistryOutputs, Repository


def lifecycle_policy(keep: int) -> str:
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"keep the newest {keep} images",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
                    "action": {"type": "expire"},
                }
            ]
        }
    )


class AwsRegistry(Component[EcrRegistry, None, RegistryOutputs, RegistryClient]):
    TYPE = "mlstack:aws:Registry"

    def __init__(
        self, name: str, args: ComponentArgs[EcrRegistry, None], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, args, opts)
        self.repositories = [self._create_repository(name, r) for r in self.settings.repositories]
        outputs = RegistryOutputs(
            self.repositories[0].repository_url.apply(lambda url: url.split("/", 1)[0]),
            tuple(
                Repository(key, r.name, r.arn)
                for key, r in zip(self.settings.repositories, self.repositories, strict=True)
            ),
        )
        client = self.repositories[0].repository_url.apply(
            lambda url: RegistryClient(flavor="ecr", uri=url.split("/", 1)[0], insecure=False)
        )
        self.publish(outputs, client)

    def _create_repository(self, name: str, repository: str) -> aws.ecr.Repository:
        repo = aws.ecr.Repository(
            f"{name}-{repository}",
            name=ecr_repository_name(self.context.stack, repository),
            image_scanning_configuration={"scan_on_push": True},
            image_tag_mutability="IMMUTABLE",
            encryption_configurations=[{"encryption_type": "KMS"}],
            tags=self.context.tags,
            opts=holds_data(pulumi.ResourceOptions(parent=self)),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-{repository}-lifecycle",
            repository=repo.name,
            policy=lifecycle_policy(self.settings.keep_images),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[repo]),
        )
        return repo
