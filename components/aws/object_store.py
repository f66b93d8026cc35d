"""S3 buckets with secure defaults: owner-enforced, versioned, encrypted at rest, public access blocked,
and a bucket policy that refuses any request not made over TLS."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from mlstack.clients.models import ObjectStoreClient
from mlstack.components.aws.naming import s3_bucket_name
from mlstack.components.aws.settings import S3ObjectStore
from mlstack.components.base import Component, holds_data
from mlstack.components.context import ComponentArgs
from mlstack.components.outputs import Bucket, ObjectStoreOutputs


def tls_only_policy(bucket_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


class AwsObjectStore(Component[S3ObjectStore, None, ObjectStoreOutputs, ObjectStoreClient]):
    TYPE = "mlstack:aws:ObjectStore"

    def __init__(
        self, name: str, args: ComponentArgs[S3ObjectStore, None], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, args, opts)
        self.region = self.context.placement.region
        self.buckets = [self._create_bucket(name, b) for b in self.settings.buckets]
        outputs = ObjectStoreOutputs(
            tuple(
                Bucket(key, b.bucket, b.bucket.apply(lambda n: f"s3://{n}"), b.arn)
                for key, b in zip(self.settings.buckets, self.buckets, strict=True)
            )
        )
        client = pulumi.Output.all(*[b.bucket for b in self.buckets]).apply(
            lambda names: ObjectStoreClient(flavor="s3", region=self.region, buckets=[f"s3://{n}" for n in names])
        )
        self.publish(outputs, client)

    def _create_bucket(self, name: str, bucket: str) -> aws.s3.Bucket:
        child = pulumi.ResourceOptions(parent=self)
        resource = aws.s3.Bucket(
            f"{name}-{bucket}",
            bucket=s3_bucket_name(self.context.stack, bucket),
            tags=self.context.tags,
            opts=holds_data(child),
        )
        dep = pulumi.ResourceOptions(parent=self, depends_on=[resource])
        aws.s3.BucketOwnershipControls(
            f"{name}-{bucket}-ownership", bucket=resource.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=dep
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-{bucket}-public-access",
            bucket=resource.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=dep,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-{bucket}-encryption",
            bucket=resource.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms" if self.settings.kms_key_arn else "AES256",
                        "kms_master_key_id": self.settings.kms_key_arn,
                    },
                    "bucket_key_enabled": bool(self.settings.kms_key_arn),
                }
            ],
            opts=dep,
        )
        aws.s3.BucketVersioning(
            f"{name}-{bucket}-versioning",
            bucket=resource.id,
            versioning_configuration={"status": "Enabled" if self.settings.versioning else "Suspended"},
            opts=dep,
        )
        aws.s3.BucketPolicy(
            f"{name}-{bucket}-tls-only", bucket=resource.id, policy=resource.arn.apply(tls_only_policy), opts=dep
        )
        return resource
