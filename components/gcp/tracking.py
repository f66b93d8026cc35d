"""MLflow on Cloud Run with a private Cloud SQL for PostgreSQL.

Ingress is internal (the VPC and its peers only); the service egresses into the recipe's subnetwork (Direct VPC
egress, private ranges only) to reach the database on its private IP — the instance has no public IP and accepts
only TLS. The network's private services access (one peering per network, shared by every managed service in it)
is the network owner's: mlstack uses it and never rewrites it. Passwords are generated, kept as Pulumi secrets and in
Secret Manager, readable only by the service's own service account, which may otherwise only use the stack's
artifact bucket (no keys).
Cloud Run cannot pull from ghcr.io, so a ghcr.io image is pulled through an Artifact Registry remote repository.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mlstack.clients.models import TrackingClient
from mlstack.components import mlflow_server as srv
from mlstack.components.base import Component, holds_data
from mlstack.components.context import ComponentArgs
from mlstack.components.gcp.identity import account_id
from mlstack.components.gcp.settings import DISK_SIZE, GcpMlflowTracking
from mlstack.components.outputs import TrackingOutputs

DEFAULT_TIER = "db-custom-1-3840"
POSTGRES_VERSION = "POSTGRES_17"
GHCR = "ghcr.io/"


def network_path(project: str, network: str) -> str:
    return network if "/" in network else f"projects/{project}/global/networks/{network}"


def subnetwork_path(project: str, region: str, subnetwork: str) -> str:
    return subnetwork if "/" in subnetwork else f"projects/{project}/regions/{region}/subnetworks/{subnetwork}"


class GcpTracking(Component[GcpMlflowTracking, None, TrackingOutputs, TrackingClient]):
    TYPE = "mlstack:gcp:Tracking"

    def __init__(
        self, name: str, args: ComponentArgs[GcpMlflowTracking, None], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, args, opts)
        self.context, self.name = args.context, name
        st, stack = self.settings, args.context.stack
        self.project, self.region = self.context.placement.project, self.context.placement.region
        self.network = network_path(self.project, st.network or "")
        self.subnetwork = subnetwork_path(self.project, self.region, st.subnetwork or "")
        child = pulumi.ResourceOptions(parent=self)
        bucket = args.uses.store().buckets[0]
        prefix = st.artifact_prefix.strip("/")
        self.artifacts = bucket.uri.apply(lambda uri: f"{uri}/{prefix}")

        self.account = gcp.serviceaccount.Account(
            f"{name}-identity",
            account_id=account_id(stack, name),
            project=self.project,
            display_name=f"mlstack {stack} MLflow server",
            opts=child,
        )
        member = self.account.email.apply(lambda email: f"serviceAccount:{email}")
        gcp.storage.BucketIAMMember(
            f"{name}-artifact-objects", bucket=bucket.name, role="roles/storage.objectUser", member=member, opts=child
        )

        generated = srv.generate_secrets(name, st.auth, self)
        self.secret_ids = {key: self._secret(key, value, member) for key, value in generated.items()}
        self.database, self.db_host = self._database(generated["db_password"])
        self.service = self._service()
        client = pulumi.Output.all(self.service.uri, self.artifacts).apply(
            lambda a: srv.client("mlflow", a[0], a[1], st.auth)
        )
        secrets = srv.stack_secrets(generated)
        outputs = TrackingOutputs(client.apply(lambda c: c.tracking_uri))
        self.publish(outputs, client, secrets)

    def _secret(self, key: str, value: pulumi.Output[str], member: pulumi.Output[str]) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        label = f"{self.name}-{srv.secret_name(key)}"
        secret = gcp.secretmanager.Secret(
            f"{label}-secret",
            secret_id=f"{self.context.stack}-{label}",
            project=self.project,
            replication={"auto": {}},
            labels=self.context.tags,
            opts=child,
        )
        gcp.secretmanager.SecretVersion(f"{label}-value", secret=secret.id, secret_data=value, opts=child)
        gcp.secretmanager.SecretIamMember(
            f"{label}-reader",
            secret_id=secret.id,
            project=self.project,
            role="roles/secretmanager.secretAccessor",
            member=member,
            opts=child,
        )
        return secret.secret_id

    def _database(self, password: pulumi.Output[str]) -> tuple[gcp.sql.DatabaseInstance, pulumi.Output[str]]:
        st = self.settings
        instance, address, _ = cloud_sql_postgres(
            self.name,
            self.context.stack,
            self.project,
            self.region,
            self.network,
            tier=st.database_tier or DEFAULT_TIER,
            storage_gb=st.database_storage_gb,
            password=password,
            labels=self.context.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return instance, address

    def image(self) -> pulumi.Output[str] | str:
        """The recipe's image; one on ghcr.io through a remote repository of this stack (Cloud Run's rule)."""
        image = self.settings.image
        if not image.startswith(GHCR):
            return image
        repo = gcp.artifactregistry.Repository(
            f"{self.name}-ghcr",
            repository_id=f"{self.context.stack}-ghcr",
            project=self.project,
            location=self.region,
            format="DOCKER",
            mode="REMOTE_REPOSITORY",
            description="mlstack: pull-through of ghcr.io (the MLflow image)",
            remote_repository_config={
                "description": "ghcr.io",
                "docker_repository": {"custom_repository": {"uri": "https://ghcr.io"}},
            },
            labels=self.context.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return repo.repository_id.apply(
            lambda r: f"{self.region}-docker.pkg.dev/{self.project}/{r}/{image.removeprefix(GHCR)}"
        )

    def _service(self) -> gcp.cloudrunv2.Service:
        st, stack = self.settings, self.context.stack
        service_name = f"{stack}-{self.name}"
        plain = pulumi.Output.all(self.db_host, self.artifacts).apply(
            lambda a: srv.plain_env(a[0], a[1], f"{service_name}-*.run.app", st.auth)
        )
        envs = pulumi.Output.all(plain, self.secret_ids).apply(lambda a: _container_env(a[0], a[1]))
        return gcp.cloudrunv2.Service(
            f"{self.name}-service",
            name=service_name,
            project=self.project,
            location=self.region,
            ingress="INGRESS_TRAFFIC_INTERNAL_ONLY",
            deletion_protection=False,
            # MLflow's own basic auth answers callers, so Cloud Run's IAM check is off (both use Authorization:);
            # internal ingress keeps the service off the internet.
            invoker_iam_disabled=True,
            template={
                "service_account": self.account.email,
                "vpc_access": {
                    "network_interfaces": [{"network": self.network, "subnetwork": self.subnetwork}],
                    "egress": "PRIVATE_RANGES_ONLY",
                },
                "scaling": {"min_instance_count": 1, "max_instance_count": 2},
                "containers": [
                    {
                        "image": self.image(),
                        "commands": srv.COMMAND[:1],
                        "args": srv.COMMAND[1:],
                        "ports": {"container_port": srv.PORT},
                        "envs": envs,
                        "resources": {"limits": {"cpu": "1", "memory": "2Gi"}},
                        "startup_probe": {
                            "http_get": {"path": srv.HEALTH_PATH},
                            "period_seconds": 10,
                            "failure_threshold": 30,
                        },
                    }
                ],
            },
            labels=self.context.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )


def _container_env(
    plain: dict[str, str], secret_ids: dict[str, str]
) -> list[gcp.cloudrunv2.ServiceTemplateContainerEnvArgsDict]:
    """Plain values inline (but PORT: Cloud Run sets it), generated ones by reference to Secret Manager."""
    env: list[gcp.cloudrunv2.ServiceTemplateContainerEnvArgsDict] = [
        {"name": k, "value": v} for k, v in sorted(plain.items()) if k != "PORT"
    ]
    env += [
        {"name": srv.SECRET_ENV[k], "value_source": {"secret_key_ref": {"secret": sid, "version": "latest"}}}
        for k, sid in secret_ids.items()
    ]
    return env


def cloud_sql_postgres(
    name: str,
    stack: str,
    project: str,
    region: str,
    network: str,
    *,
    tier: str,
    storage_gb: int,
    password: pulumi.Output[str],
    labels: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> tuple[gcp.sql.DatabaseInstance, pulumi.Output[str], tuple[pulumi.Resource, ...]]:
    """MLflow's Cloud SQL for PostgreSQL (the gcp target's, and a gke cluster's `database: managed`): a private IP in
    `network` (its private services access), no public IP, TLS only, point-in-time recovery, a final backup kept 30
    days; its database and owner with the generated password. `storage_gb` is the disk's first size: Cloud SQL grows
    it (disk_autoresize), and a changed size would make the engine replace the instance, so later changes are left
    to the cloud. Returns the instance and its private address, and the database and owner (what clients wait for)."""
    instance = gcp.sql.DatabaseInstance(
        f"{name}-db",
        name=f"{stack}-{name}",
        project=project,
        region=region,
        database_version=POSTGRES_VERSION,
        deletion_protection=False,
        settings={
            "tier": tier,
            "edition": "ENTERPRISE",
            "availability_type": "ZONAL",
            "disk_type": "PD_SSD",
            "disk_size": storage_gb,
            "disk_autoresize": True,
            "backup_configuration": {"enabled": True, "point_in_time_recovery_enabled": True},
            # destroy keeps the runs: a final backup, kept 30 days
            "final_backup_config": {"enabled": True, "retention_days": 30},
            # a private IP in the recipe's network (its private services access), no public IP, TLS only
            "ip_configuration": {
                "ipv4_enabled": False,
                "private_network": network,
                "ssl_mode": "ENCRYPTED_ONLY",
            },
            "user_labels": labels,
        },
        opts=holds_data(pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=[DISK_SIZE]))),
    )
    database = gcp.sql.Database(
        f"{name}-db-database", name=srv.DB_NAME, instance=instance.name, project=project, opts=opts
    )
    user = gcp.sql.User(
        f"{name}-db-user", name=srv.DB_USER, instance=instance.name, project=project, password=password, opts=opts
    )
    return instance, instance.private_ip_address, (database, user)
