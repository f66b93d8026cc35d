"""MLflow on Azure Container Apps with a PostgreSQL flexible server reachable only inside the recipe's network.

The recipe names two delegated subnets of one virtual network: the Container Apps environment's and the
database's (private access: no public endpoint, a private DNS zone of the stack linked to the network, TLS
required). Ingress is HTTPS only, allowed from the recipe's CIDRs alone. Passwords are generated, kept as Pulumi
secrets and as the app's secrets; the server reaches Blob Storage as a user-assigned identity granted on the
stack's storage account only.
"""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure

from mlstack.clients.models import TrackingClient
from mlstack.components import mlflow_server as srv
from mlstack.components.azure.assembly import AzurePlatform
from mlstack.components.azure.identity import workload_identity
from mlstack.components.azure.naming import azure_app_name
from mlstack.components.azure.settings import AzureMlflowTracking, virtual_network
from mlstack.components.base import Component, holds_data
from mlstack.components.context import ComponentArgs
from mlstack.components.outputs import TrackingOutputs

DEFAULT_SKU = "Standard_B1ms"
POSTGRES_VERSION = "17"
SKU_TIERS = {"Standard_B": "Burstable", "Standard_D": "GeneralPurpose", "Standard_E": "MemoryOptimized"}


def sku_tier(sku: str) -> str:
    return next((tier for prefix, tier in SKU_TIERS.items() if sku.startswith(prefix)), "GeneralPurpose")


class AzureTracking(Component[AzureMlflowTracking, AzurePlatform, TrackingOutputs, TrackingClient]):
    TYPE = "mlstack:azure:Tracking"

    def __init__(
        self,
        name: str,
        args: ComponentArgs[AzureMlflowTracking, AzurePlatform],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, args, opts)
        self.context, self.name = args.context, name
        st = self.settings
        self.group = args.platform.resource_group
        self.location = self.context.placement.location
        store = args.uses.store()
        prefix = st.artifact_prefix.strip("/")
        self.artifacts = store.buckets[0].uri.apply(lambda uri: f"{uri}/{prefix}")
        self.identity = workload_identity(name, self.context, self.group, store, None, self)

        generated = srv.generate_secrets(name, st.auth, self)
        self.database, db_host = self._database(generated["db_password"])
        self.app, url = self._app(db_host, generated)
        client = pulumi.Output.all(url, self.artifacts).apply(lambda a: srv.client("mlflow", a[0], a[1], st.auth))
        secrets = srv.stack_secrets(generated)
        outputs = TrackingOutputs(client.apply(lambda c: c.tracking_uri))
        self.publish(outputs, client, secrets)

    def _database(self, password: pulumi.Output[str]) -> tuple[azure.dbforpostgresql.Server, pulumi.Output[str]]:
        st = self.settings
        server, host, _ = flexible_postgres(
            self.name,
            self.context.stack,
            self.group.name,
            self.location,
            st.database_subnet_id,
            sku=st.database_tier or DEFAULT_SKU,
            storage_gb=st.database_storage_gb,
            password=password,
            tags=self.context.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return server, host

    def _app(
        self, db_host: pulumi.Output[str], generated: dict[str, pulumi.Output[str]]
    ) -> tuple[azure.app.ContainerApp, pulumi.Output[str]]:
        """The app and its URL (`<app>.<environment's domain>`: the app's configuration output holds secrets)."""
        st, tags, stack = self.settings, self.context.tags, self.context.stack
        child = pulumi.ResourceOptions(parent=self)
        environment = azure.app.ManagedEnvironment(
            f"{self.name}-environment",
            environment_name=azure_app_name(stack, "env"),
            resource_group_name=self.group.name,
            location=self.location,
            vnet_configuration={"infrastructure_subnet_id": st.subnet_id, "internal": False},
            workload_profiles=[{"name": "Consumption", "workload_profile_type": "Consumption"}],
            zone_redundant=False,
            tags=tags,
            opts=child,
        )
        app_name = azure_app_name(stack, self.name)
        plain = pulumi.Output.all(db_host, self.artifacts, self.identity.client_id).apply(
            lambda a: {
                **srv.plain_env(a[0], a[1], f"{app_name}.*.azurecontainerapps.io", st.auth),
                "AZURE_CLIENT_ID": a[2],
            }
        )  # DefaultAzureCredential picks the user-assigned identity
        env = plain.apply(lambda p: _container_env(p, list(generated)))
        app = azure.app.ContainerApp(
            f"{self.name}-app",
            container_app_name=app_name,
            resource_group_name=self.group.name,
            location=self.location,
            managed_environment_id=environment.id,
            workload_profile_name="Consumption",
            identity={"type": "UserAssigned", "user_assigned_identities": [self.identity.id]},
            configuration={
                "active_revisions_mode": "Single",
                "ingress": {
                    "external": True,
                    "target_port": srv.PORT,
                    "transport": "http",
                    "allow_insecure": False,
                    "ip_security_restrictions": [
                        {"name": f"allowed-{i}", "ip_address_range": cidr, "action": "Allow"}
                        for i, cidr in enumerate(st.allowed_cidrs)
                    ],
                },
                "secrets": [{"name": srv.secret_name(k), "value": v} for k, v in generated.items()],
            },
            template={
                "containers": [
                    {
                        "name": "mlflow",
                        "image": st.image,
                        "command": srv.COMMAND[:1],
                        "args": srv.COMMAND[1:],
                        "env": env,
                        "resources": {"cpu": 1.0, "memory": "2Gi"},
                        "probes": [
                            {
                                "type": "Startup",
                                "http_get": {"path": srv.HEALTH_PATH, "port": srv.PORT},
                                "period_seconds": 10,
                                "failure_threshold": 30,
                            }
                        ],
                    }
                ],
                "scale": {"min_replicas": 1, "max_replicas": 2},
            },
            tags=tags,
            opts=child,
        )
        return app, environment.default_domain.apply(lambda domain: f"https://{app_name}.{domain}")


def _container_env(plain: dict[str, str], secret_keys: list[str]) -> list[azure.app.EnvironmentVarArgsDict]:
    """Plain values inline, generated ones by reference to the app's secrets."""
    env: list[azure.app.EnvironmentVarArgsDict] = [{"name": k, "value": v} for k, v in sorted(plain.items())]
    env += [{"name": srv.SECRET_ENV[k], "secret_ref": srv.secret_name(k)} for k in secret_keys]
    return env


def flexible_postgres(
    name: str,
    stack: str,
    group: pulumi.Input[str],
    location: str,
    subnet_id: str,
    *,
    sku: str,
    storage_gb: int,
    password: pulumi.Output[str],
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> tuple[azure.dbforpostgresql.Server, pulumi.Output[str], tuple[pulumi.Resource, ...]]:
    """MLflow's PostgreSQL flexible server (the azure target's, and an aks cluster's `database: managed`), in resource
    group `group`: private access in the delegated subnet `subnet_id` (no public endpoint), its name in a private DNS
    zone of the stack's linked to that subnet's virtual network, TLS required (the server's default), 7 days of
    backups; its database, and its owner with the generated password. `storage_gb` is the disk's size, grown by
    raising it (Azure refuses a smaller one). The server does not grow it itself: Azure's auto-grow would leave the
    recipe's size below the disk's, and every later update of the server (whose body holds the size) would be
    refused as a shrink. Returns the server, its name in the zone, and the database and the zone's parts (what
    clients wait for)."""
    zone = azure.privatedns.PrivateZone(
        f"{name}-db-dns",
        private_zone_name=f"{stack}-{name}.private.postgres.database.azure.com",
        resource_group_name=group,
        location="global",
        tags=tags,
        opts=opts,
    )
    link = azure.privatedns.VirtualNetworkLink(
        f"{name}-db-dns-link",
        private_zone_name=zone.name,
        resource_group_name=group,
        location="global",
        registration_enabled=False,
        virtual_network={"id": virtual_network(subnet_id)},
        tags=tags,
        opts=opts,
    )
    server = azure.dbforpostgresql.Server(
        f"{name}-db",
        server_name=f"{stack}-{name}",
        resource_group_name=group,
        location=location,
        version=POSTGRES_VERSION,
        sku={"name": sku, "tier": sku_tier(sku)},
        storage={"storage_size_gb": storage_gb, "auto_grow": "Disabled"},
        administrator_login=srv.DB_USER,
        administrator_login_password=password,
        auth_config={"password_auth": "Enabled", "active_directory_auth": "Disabled"},
        network={
            "delegated_subnet_resource_id": subnet_id,
            "private_dns_zone_arm_resource_id": zone.id,
            "public_network_access": "Disabled",
        },
        backup={"backup_retention_days": 7, "geo_redundant_backup": "Disabled"},
        high_availability={"mode": "Disabled"},
        tags=tags,
        opts=holds_data(pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[link]))),
    )
    database = azure.dbforpostgresql.Database(
        f"{name}-db-database",
        database_name=srv.DB_NAME,
        server_name=server.name,
        resource_group_name=group,
        opts=opts,
    )
    return server, server.fully_qualified_domain_name, (database, zone, link)
