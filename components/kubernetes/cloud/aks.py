"""The resources of a `aks` cluster (components/kubernetes/clusters/aks.py declares it)."""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any, cast

import pulumi
import pulumi_azure_native as azure

from mlstack.components.azure import settings as azure_settings
from mlstack.components.azure.assembly import AzurePlatform
from mlstack.components.azure.object_store import AzureObjectStore
from mlstack.components.azure.registry import AzureRegistry
from mlstack.components.context import ComponentArgs
from mlstack.components.kubernetes.clusters import _managed as m
from mlstack.components.kubernetes.clusters.aks import (
    ACR_PULL,
    AUDIT_LOGS,
    BLOB_CONTRIBUTOR,
    CRYPTO_USER,
    NETWORK_CONTRIBUTOR,
    RBAC_ADMIN,
    WI_ANNOTATION,
    WI_AUDIENCE,
    WI_LABEL,
    Aks,
    AksCluster,
    kubeconfig,
    taint,
    vault_name,
)


def build(self: Aks, stack: str, placement: Any, tags: dict[str, str]) -> m.ClusterAccess:

    spec: AksCluster = placement.cluster
    provider = azure.Provider("azure-native", location=spec.location, subscription_id=spec.subscription_id)
    opts = pulumi.ResourceOptions(provider=provider)
    location = spec.location
    group = azure.resources.ResourceGroup(
        "cluster-group", resource_group_name=f"{stack}-aks", location=location, tags=tags, opts=opts
    )
    client = azure.authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(provider=provider))
    identity = azure.managedidentity.UserAssignedIdentity(
        "cluster-identity",
        resource_name_=f"{stack}-aks",
        resource_group_name=group.name,
        location=location,
        tags=tags,
        opts=opts,
    )
    vault_properties: azure.keyvault.VaultPropertiesArgsDict = {
        "tenant_id": client.tenant_id,
        "sku": {"family": azure.keyvault.SkuFamily.A, "name": azure.keyvault.SkuName.STANDARD},
        "enable_rbac_authorization": True,
        "enable_soft_delete": True,
        "enable_purge_protection": True,
    }
    vault = azure.keyvault.Vault(
        "cluster-vault",
        vault_name=vault_name(stack),
        resource_group_name=group.name,
        properties=vault_properties,
        location=location,
        tags=tags,
        opts=opts,
    )
    rotate: azure.keyvault.LifetimeActionArgsDict = {
        "action": {"type": azure.keyvault.KeyRotationPolicyActionType.ROTATE},
        "trigger": {"time_after_create": "P90D"},
    }
    key_properties: azure.keyvault.KeyPropertiesArgsDict = {
        "kty": "RSA",
        "key_size": 2048,
        "rotation_policy": {"lifetime_actions": [rotate]},
    }
    key = azure.keyvault.Key(
        "cluster-secrets",
        key_name="secrets",
        vault_name=vault.name,
        resource_group_name=group.name,
        properties=key_properties,
        tags=tags,
        opts=opts,
    )
    grant = azure.authorization.RoleAssignment(  # the cluster's identity wraps and unwraps with the key alone
        "cluster-secrets-crypto",
        principal_id=identity.principal_id,
        principal_type="ServicePrincipal",
        role_definition_id=pulumi.Output.concat(
            "/subscriptions/",
            client.subscription_id,
            "/providers/Microsoft.Authorization/roleDefinitions/",
            CRYPTO_USER,
        ),
        scope=vault.id,
        opts=opts,
    )
    needed = [grant]
    if spec.subnet_id:  # the nodes join the recipe's subnet: the cluster's identity manages it, and nothing else
        wanted = azure_settings.subscription(spec.subnet_id)
        needed.append(
            azure.authorization.RoleAssignment(
                "cluster-subnet-network",
                principal_id=identity.principal_id,
                principal_type="ServicePrincipal",
                role_definition_id=_role(client.subscription_id.apply(lambda s: _same(s, wanted)), NETWORK_CONTRIBUTOR),
                scope=spec.subnet_id,
                opts=opts,
            )
        )
    logs = azure.operationalinsights.Workspace(
        "cluster-logs",
        workspace_name=f"{stack}-aks",
        resource_group_name=group.name,
        retention_in_days=spec.log_retention_days,
        sku={"name": "PerGB2018"},
        location=location,
        tags=tags,
        opts=opts,
    )
    public = spec.endpoint.public
    pools = self.pools(placement)
    system = cast(
        azure.containerservice.ManagedClusterAgentPoolProfileArgsDict, _profile(pools.pop(m.SYSTEM), spec, "System")
    )
    access: azure.containerservice.ManagedClusterAPIServerAccessProfileArgsDict = {"enable_private_cluster": not public}
    if public:
        access["authorized_ip_ranges"] = spec.endpoint.allowed_cidrs
    cluster_identity: azure.containerservice.ManagedClusterIdentityArgsDict = {
        "type": azure.containerservice.ResourceIdentityType.USER_ASSIGNED,
        "user_assigned_identities": [identity.id],
    }
    security: azure.containerservice.ManagedClusterSecurityProfileArgsDict = {
        "azure_key_vault_kms": {
            "enabled": True,
            "key_id": key.key_uri_with_version,
            "key_vault_network_access": "Public",
        },
        "workload_identity": {"enabled": True},
    }
    cluster = azure.containerservice.ManagedCluster(
        "cluster",
        resource_name_=stack,
        resource_group_name=group.name,
        dns_prefix=stack,
        kubernetes_version=spec.version,
        identity=cluster_identity,
        aad_profile={"managed": True, "enable_azure_rbac": True},
        disable_local_accounts=True,
        enable_rbac=True,
        api_server_access_profile=access,
        security_profile=security,
        oidc_issuer_profile={"enabled": True},
        network_profile={
            "network_plugin": "azure",
            "network_plugin_mode": "overlay",
            "network_dataplane": "cilium",
            "network_policy": "cilium",
            "service_cidr": spec.service_cidr,
            "dns_service_ip": str(ipaddress.IPv4Network(spec.service_cidr)[10]),
            "pod_cidr": spec.pod_cidr,
        },
        auto_upgrade_profile={"upgrade_channel": "none", "node_os_upgrade_channel": "NodeImage"},
        agent_pool_profiles=[system],
        sku={"name": "Base", "tier": "Standard"},
        location=location,
        tags=tags,
        # the autoscaler moves the system pool's node count between min and max: a deploy must not reset it
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=needed, ignore_changes=["agentPoolProfiles[0].count"])
        ),
    )
    # Entra ID is the only way in (local accounts off): whoever deploys gets cluster admin on this cluster alone,
    # or the stack could not create its own objects (EKS grants its creator the same)
    admin = azure.authorization.RoleAssignment(
        "cluster-admin-deployer",
        principal_id=client.object_id,
        role_definition_id=pulumi.Output.concat(
            "/subscriptions/", client.subscription_id, "/providers/Microsoft.Authorization/roleDefinitions/", RBAC_ADMIN
        ),
        scope=cluster.id,
        opts=opts,
    )
    azure.monitor.DiagnosticSetting(
        "cluster-audit",
        name="mlstack-audit",
        resource_uri=cluster.id,
        workspace_id=logs.id,
        logs=[{"category": c, "enabled": True} for c in AUDIT_LOGS],
        opts=opts,
    )
    agents = [
        azure.containerservice.AgentPool(
            f"pool-{pool.name}",
            agent_pool_name=pool.name,
            resource_name_=cluster.name,
            resource_group_name=group.name,
            **_profile(pool, spec, mode="User"),
            tags=tags,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=["count"])),  # autoscaled
        )
        for pool in pools.values()
    ]
    given = azure.containerservice.list_managed_cluster_user_credentials_output(
        resource_group_name=group.name,
        resource_name=cluster.name,
        format="exec",
        opts=pulumi.InvokeOutputOptions(provider=provider),
    )
    config = given.kubeconfigs.apply(lambda k: kubeconfig(self.context(stack, placement) or stack, k[0]["value"]))
    issuer = cluster.oidc_issuer_profile.apply(lambda p: (p.issuer_url if p else None) or "")
    cloud = AksCloud(provider, group, cluster, issuer, client.subscription_id, spec, stack, tags)
    return m.ClusterAccess(config, [cluster, admin, *agents], issuer, cloud=cloud)


def _role(subscription: Any, role: str) -> Any:
    return pulumi.Output.concat(
        "/subscriptions/", subscription, "/providers/Microsoft.Authorization/roleDefinitions/", role
    )


@dataclasses.dataclass(frozen=True)
class AksCloud:
    """The stack's storage account and container registry beside its AKS cluster, in the cluster's resource group
    under the same provider. Pods reach the containers by Workload Identity: each Kubernetes service account that
    needs them gets a managed identity of its own, federated with the cluster's OIDC issuer for that account alone,
    granted Storage Blob Data Contributor on each of the stack's containers (not the account). The cluster's kubelet
    identity pulls from the registry (AcrPull on it): no pull Secret."""

    provider: Any
    group: Any
    cluster: Any
    issuer: Any
    subscription: Any
    spec: AksCluster
    stack: str
    tags: dict[str, str]

    def _args(self, settings: Any, context: Any) -> ComponentArgs[Any, AzurePlatform]:
        placed = dataclasses.replace(context, placement=self.spec)
        return ComponentArgs(settings, placed, platform=AzurePlatform(self.group))

    def _opts(self, parent: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=parent, providers={"azure-native": self.provider})

    def object_store(self, name: str, settings: Any, context: Any, parent: Any) -> tuple[Any, Any]:
        store = AzureObjectStore(f"{name}-azure-blob", self._args(settings, context), self._opts(parent))
        # each container's own id: the grants are on it, and made once it exists
        scopes = [(c, container.id) for c, container in zip(settings.containers, store.containers, strict=True)]
        account = store.account.name
        outputs = dataclasses.replace(
            store.outputs, identity=lambda *a: self.bind(*a, scopes=scopes, account_name=account)
        )
        return outputs, store.client

    def registry(self, name: str, settings: Any, context: Any, parent: Any) -> tuple[Any, Any]:
        registry = AzureRegistry(f"{name}-acr", self._args(settings, context), self._opts(parent))
        azure.authorization.RoleAssignment(
            f"{name}-nodes-pull",
            principal_id=self.cluster.identity_profile.apply(_kubelet_object_id),
            principal_type="ServicePrincipal",
            role_definition_id=_role(self.subscription, ACR_PULL),
            scope=registry.registry.id,
            opts=pulumi.ResourceOptions(parent=registry, provider=self.provider),
        )
        return registry.outputs, registry.client

    def database(self, name: str, settings: Any, context: Any, parent: Any, password: Any) -> Any:
        """MLflow's PostgreSQL flexible server, the azure target's own, in the recipe's delegated subnet of the nodes'
        network (private access: no public endpoint), its name in a private DNS zone linked to that network, TLS
        and the generated password. Its address is Azure's to choose in that subnet: MLflow's egress reaches the
        subnet's range on 5432, as the cloud answers it."""
        from mlstack.components.azure.tracking import DEFAULT_SKU, flexible_postgres
        from mlstack.components.outputs import CloudDatabase

        subnet = str(self.spec.database_subnet_id)  # validation asks for it with `database: managed`
        server, host, parts = flexible_postgres(
            name,
            self.stack,
            self.group.name,
            self.spec.location,
            subnet,
            sku=settings.database_tier or DEFAULT_SKU,
            storage_gb=settings.database_storage_gb,
            password=password,
            tags=self.tags,
            opts=pulumi.ResourceOptions(parent=parent, provider=self.provider),
        )
        # a raw call: the typed getSubnet would import all of the SDK's network module (0.4-0.6 s of every plan)
        found = pulumi.runtime.invoke_output(
            azure_settings.SUBNET_LOOKUP,
            azure_settings.subnet_lookup(subnet),
            pulumi.InvokeOutputOptions(provider=self.provider),
        )
        return CloudDatabase(host, ((found.apply(lambda r: _address_range(r, subnet)), 5432),), (server, *parts))

    def bind(
        self, name: str, namespace: str, account: str, parent: Any, *, scopes: Any, account_name: Any = None
    ) -> Any:
        from mlstack.components.outputs import WorkloadIdentity

        opts = pulumi.ResourceOptions(parent=parent, provider=self.provider)
        identity = azure.managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=f"{self.stack}-{account}",
            resource_group_name=self.group.name,
            location=self.spec.location,
            tags=self.tags,
            opts=opts,
        )
        child = pulumi.ResourceOptions(parent=identity, provider=self.provider)
        azure.managedidentity.FederatedIdentityCredential(
            f"{name}-identity-federation",
            federated_identity_credential_resource_name=f"kubernetes-{namespace}-{account}"[:120],
            resource_name_=identity.name,
            resource_group_name=self.group.name,
            issuer=self.issuer,
            subject=f"system:serviceaccount:{namespace}:{account}",
            audiences=[WI_AUDIENCE],
            opts=child,
        )
        for key, scope in scopes:
            azure.authorization.RoleAssignment(
                f"{name}-identity-{key}",
                principal_id=identity.principal_id,
                principal_type="ServicePrincipal",
                role_definition_id=_role(self.subscription, BLOB_CONTRIBUTOR),
                scope=scope,
                opts=child,
            )
        # az:// paths (ZenML's artifact store) name no storage account: adlfs reads it from the environment
        env = {"AZURE_STORAGE_ACCOUNT_NAME": account_name} if account_name is not None else {}
        return WorkloadIdentity({WI_ANNOTATION: identity.client_id}, pod_labels=dict(WI_LABEL), env=env)


def _same(subscription: str, wanted: str) -> str:
    """The deployer's subscription, where the recipe's subnets are (the cluster and its network are in one)."""
    if subscription.lower() != wanted.lower():
        raise ValueError(
            f"the recipe's subnets are in subscription {wanted}, and the deploy runs in {subscription}: set the "
            "cluster's subscription_id, or sign in to that subscription"
        )
    return subscription


def _address_range(subnet: dict[str, Any], subnet_id: str) -> str:
    """A subnet's IPv4 address range, as getSubnet answers it: the one range MLflow's egress reaches (a subnet of
    several would leave the server at an address outside the policy's)."""
    ranges = {str(r) for r in [subnet.get("addressPrefix"), *(subnet.get("addressPrefixes") or [])] if r}
    found = sorted(r for r in ranges if ":" not in r)
    if len(found) != 1:
        raise ValueError(
            f"{subnet_id} has {len(found)} IPv4 address ranges ({', '.join(found) or 'none'}): give the database a "
            "delegated subnet of one"
        )
    return found[0]


def _kubelet_object_id(profile: Any) -> str:
    """The kubelet identity's object id, from the cluster's identity profile (typed, or as a plan's mocks give it)."""
    kubelet = (profile or {}).get("kubeletidentity")
    found = getattr(kubelet, "object_id", None) or (kubelet.get("objectId") if isinstance(kubelet, dict) else None)
    return str(found or "")


def _profile(pool: m.Pool, spec: AksCluster, mode: str) -> dict[str, Any]:
    """An agent pool's settings, as the cluster's profile (the system pool) or an AgentPool's arguments."""
    spot = {"scale_set_priority": "Spot", "scale_set_eviction_policy": "Delete", "spot_max_price": -1}
    return {
        **({"name": pool.name} if mode == "System" else {}),
        "mode": mode,
        "vm_size": pool.machine_type,
        "count": max(pool.min, 1) if mode == "System" else pool.min,
        "min_count": pool.min,
        "max_count": pool.max,
        "enable_auto_scaling": True,
        "os_type": "Linux",
        "os_sku": "AzureLinux",
        "os_disk_size_gb": pool.disk_gb,
        "orchestrator_version": spec.version,
        "type": "VirtualMachineScaleSets",
        "enable_node_public_ip": False,
        **({"vnet_subnet_id": spec.subnet_id} if spec.subnet_id else {}),
        "node_labels": {m.POOL_LABEL: pool.name, **pool.labels},
        "node_taints": [taint(m.GPU_TAINT)] if pool.gpu else [],
        **({"gpu_profile": {"driver": "Install"}} if pool.gpu else {}),
        **(spot if pool.spot else {}),
    }
