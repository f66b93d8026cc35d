"""The `aks` cluster provisioner: an AKS cluster the stack creates in a resource group of its own — API server
private (or public to an allow-list), Microsoft Entra ID the only way in (local accounts off, Azure RBAC), etcd
secrets encrypted with a Key Vault key of the stack's (KMS), audit and API server logs in a Log Analytics workspace,
the version pinned (no auto-upgrade channel), Azure CNI overlay with Cilium enforcing the stack's NetworkPolicies,
the OIDC issuer and Workload Identity on, and the system pool and the recipe's pools as agent pools, GPU pools
tainted with their NVIDIA driver installed by AKS."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from mlstack.components.azure import settings as azure_settings
from mlstack.components.kubernetes.clusters import _managed as m
from mlstack.policy import REDACTED, require
from mlstack.recipe.settings import AZURE_SUBNET

CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"  # the AKS Microsoft Entra server application
CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"  # built-in role "Key Vault Crypto User"
RBAC_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"  # built-in role "Azure Kubernetes Service RBAC Cluster Admin"
WI_ANNOTATION = "azure.workload.identity/client-id"  # a service account's: the managed identity it acts as
WI_LABEL = {"azure.workload.identity/use": "true"}  # on its pods: AKS' webhook projects the token into them
WI_AUDIENCE = "api://AzureADTokenExchange"  # what a federated credential of Microsoft Entra ID accepts
BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"  # built-in role "Storage Blob Data Contributor"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"  # built-in role "AcrPull"
AUDIT_LOGS = ("kube-audit-admin", "kube-apiserver", "guard")
NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"  # built-in role: the cluster's identity, on its subnet
SPOT_TAINT = {"key": "kubernetes.azure.com/scalesetpriority", "value": "spot", "effect": "NoSchedule"}  # AKS' own

# Azure's NVIDIA VM sizes that carry whole GPUs (https://learn.microsoft.com/azure/virtual-machines/sizes/
# gpu-accelerated/; the NVadsA10 v5 sizes share a GPU between VMs and are left out).
GPU_MACHINES: m.GpuMachines = {
    "Standard_NC4as_T4_v3": ("nvidia-t4", 1),
    "Standard_NC8as_T4_v3": ("nvidia-t4", 1),
    "Standard_NC16as_T4_v3": ("nvidia-t4", 1),
    "Standard_NC64as_T4_v3": ("nvidia-t4", 4),
    "Standard_NC24ads_A100_v4": ("nvidia-a100", 1),
    "Standard_NC48ads_A100_v4": ("nvidia-a100", 2),
    "Standard_NC96ads_A100_v4": ("nvidia-a100", 4),
    "Standard_ND96asr_v4": ("nvidia-a100", 8),
    "Standard_NC40ads_H100_v5": ("nvidia-h100", 1),
    "Standard_NC80adis_H100_v5": ("nvidia-h100", 2),
}


class AksPool(m.Pool):
    """An AKS user agent pool (GPU pools: AKS installs the NVIDIA driver)."""

    GPU_MACHINES = GPU_MACHINES
    CLOUD = "Azure"


class AksCluster(m.ManagedSpec):
    """An AKS cluster the stack creates, with Microsoft Entra ID sign-in, in a resource group of its own."""

    type: Literal["aks"] = Field(description="Cluster provisioner.")
    location: azure_settings.Location = Field(description="Azure location, e.g. westeurope.")

    subscription_id: str | None = Field(default=None, description="Subscription; default: the CLI's or ARM_ env's.")
    subnet_id: str | None = Field(
        default=None,
        pattern=AZURE_SUBNET,
        description="Subnet of the nodes, in your virtual network (pods get overlay addresses of their own); the "
        "cluster's identity is made Network Contributor on it alone. Default: a network AKS makes for the cluster.",
    )
    database_subnet_id: str | None = Field(
        default=None,
        pattern=AZURE_SUBNET,
        description="Subnet of MLflow's PostgreSQL flexible server (tracking `database: managed`), in the nodes' "
        "virtual network, delegated to Microsoft.DBforPostgreSQL/flexibleServers; that network gets the "
        "database's private DNS zone.",
    )

    service_cidr: str = Field(
        default="172.20.0.0/16",
        description="The cluster's Service addresses (its DNS service takes the 10th): private, and outside the nodes' "
        "virtual network and its peers (AKS' own default, 10.0.0.0/16, is many networks' range).",
    )
    pod_cidr: str = Field(
        default="10.244.0.0/16",
        description="The pods' overlay addresses: private, and outside the nodes' subnet and service_cidr.",
    )

    @field_validator("service_cidr", "pod_cidr")
    @classmethod
    def _private_range(cls, cidr: str) -> str:
        try:
            net = ipaddress.IPv4Network(cidr, strict=True)
        except ValueError as exc:
            raise ValueError(f"{cidr!r} is not an IPv4 network ({exc})") from None
        if not net.is_private or net.prefixlen > 24 or net.prefixlen < 8:
            raise ValueError(f"{cidr} is not a private range of /8 to /24")
        return cidr

    @field_validator("endpoint")
    @classmethod
    def _reachable(cls, endpoint: m.Endpoint) -> m.Endpoint:
        """AKS applies authorized IP ranges to a public API server only: a private one would take every address of
        the networks that reach it, and `allowed_cidrs` could not be honoured."""
        if not endpoint.public:
            raise ValueError(
                "AKS applies authorized IP ranges to a public API server alone, so a private one would not be held "
                "to allowed_cidrs; set `public: true` (allowed_cidrs then limit who reaches it)"
            )
        return endpoint

    @model_validator(mode="after")
    def _one_network(self) -> AksCluster:
        if ipaddress.IPv4Network(self.service_cidr).overlaps(ipaddress.IPv4Network(self.pod_cidr)):
            raise ValueError(f"service_cidr {self.service_cidr} overlaps pod_cidr {self.pod_cidr}")
        given = [s for s in (self.subnet_id, self.database_subnet_id) if s]
        if self.subscription_id and any(
            azure_settings.subscription(s).lower() != self.subscription_id.lower() for s in given
        ):
            raise ValueError(
                "a subnet of another subscription than subscription_id: the cluster, its database and their "
                "network are in one subscription"
            )
        if self.database_subnet_id is None:
            return self
        if self.subnet_id is None:
            raise ValueError(
                "database_subnet_id needs subnet_id: the database is reached from the nodes' virtual network"
            )
        network = azure_settings.virtual_network
        if network(self.database_subnet_id).lower() != network(self.subnet_id).lower():
            raise ValueError("database_subnet_id is not in subnet_id's virtual network: the nodes could not reach it")
        if self.database_subnet_id.lower() == self.subnet_id.lower():
            raise ValueError("database_subnet_id is the nodes' subnet: give the database a delegated subnet of its own")
        return self

    version: str = m.version_field("aks")
    pools: list[AksPool] = Field(default_factory=list, description="More agent pools: GPU, spot, larger machines.")
    log_retention_days: int = Field(default=90, ge=30, le=730, description="Days Log Analytics keeps the logs.")


def kubeconfig(context: str, given: str) -> str:
    """Ours from the one AKS gives (its server and CA): kubelogin with the Azure CLI's sign-in, never a token."""
    from ruamel.yaml import YAML

    cluster = YAML(typ="safe").load(base64.b64decode(given))["clusters"][0]["cluster"]
    args = ["get-token", "--login", "azurecli", "--server-id", SERVER_ID]
    return m.kubeconfig(context, cluster["server"], cluster["certificate-authority-data"], "kubelogin", args, {})


def vault_name(stack: str) -> str:
    """Key Vault: 3-24 alphanumerics and '-', globally unique."""
    return f"{stack[:15].rstrip('-')}-k{hashlib.sha256(stack.encode()).hexdigest()[:6]}"


class Aks(m.ManagedProvisioner):
    type = "aks"
    spec = AksCluster
    summary = "an AKS cluster mlstack creates (Entra ID sign-in, GPU pools, Workload Identity)"
    plugins = ("kubernetes", "azure-native")
    device_plugin = True  # the cloud installs the NVIDIA driver, not the device plugin
    cloud_target = "azure"
    cloud = "azure-native"
    price_prefix = "azure"
    exec_tool = "kubelogin"
    exec_hint = "install kubelogin (`az aks install-cli`): the kubeconfig's credential plugin, with `az login`"
    default_machine = "Standard_D4ds_v5"
    builder = "mlstack.components.kubernetes.cloud.aks:build"
    DRIFT_IGNORES: ClassVar[dict[str, tuple[str, ...]]] = {
        AGENT_POOL: ("count",),
        CLUSTER: ("agentPoolProfiles[*].count",),
    }
    STORAGE_TYPES = (
        "azure-native:storage:StorageAccount",
        "azure-native:containerregistry:Registry",
        azure_settings.POSTGRES_SERVER,
    )
    # the stack's own storage and registry (the azure_blob and acr flavors), held to the azure target's rules
    STORAGE_RULES = ("storage_is_https_tls12_private_and_entra_only", "registries_have_no_admin_user_or_anonymous_pull")
    # a PostgreSQL flexible server in the recipe's delegated subnet of the nodes' network, private access alone
    DATABASE = (azure_settings.POSTGRES_SERVER, azure_settings.POSTGRES_SKU, "Standard_B1ms")
    deletes_data = (
        f"{m.ManagedProvisioner.deletes_data}; and with tracking's `database: managed`, its PostgreSQL flexible "
        "server with the runs (Azure keeps its backups for 7 days, restorable as a new server)"
    )
    RULES: ClassVar[tuple[Any, ...]] = ()

    def database_problems(self, placement: Any, settings: Any) -> list[tuple[str, str]]:
        if placement.cluster.database_subnet_id is None:
            return [
                (
                    "database",
                    "a managed PostgreSQL beside an aks cluster lives in a delegated subnet of the nodes' network: set "
                    "the cluster's subnet_id and database_subnet_id",
                )
            ]
        problem = azure_settings.storage_problem(settings.database_storage_gb)
        return [("database_storage_gb", problem)] if problem else []

    def database_blocks(self, plan: Any) -> tuple[tuple[str, int], ...]:
        """A flexible server's address is a name; its IP is Azure's to choose in the delegated subnet: MLflow
        reaches that subnet's range on 5432 (as the offline plan answers it: policy rules read plans only)."""
        from mlstack.components.azure.offline import subnet_range

        subnets = {
            str((s.inputs.get("network") or {}).get("delegatedSubnetResourceId"))
            for s in plan.of_type(azure_settings.POSTGRES_SERVER)
        }
        return tuple((subnet_range(azure_settings.subnet_lookup(s)), 5432) for s in sorted(subnets))

    def tolerations(self, pool: m.Pool) -> tuple[dict[str, str], ...]:
        return ({"operator": "Equal", **SPOT_TAINT},) if pool.spot else ()

    def offline_attributes(self, typ: str, name: str, inputs: dict[str, Any], placement: Any) -> dict[str, Any]:
        from mlstack.components.azure import offline

        spec = placement.cluster
        if typ == "azure-native:keyvault:Vault":
            return {"name": inputs.get("vaultName") or name}
        if typ == "azure-native:keyvault:Key":
            uri = f"https://{inputs.get('vaultName')}.vault.azure.net/keys/{inputs.get('keyName')}/0123456789abcdef"
            return {"keyUriWithVersion": uri}
        if typ == CLUSTER:
            region = spec.location
            issuer = {"enabled": True, "issuerURL": f"https://{region}.oic.prod-aks.azure.com/"}
            kubelet = {"kubeletidentity": {"objectId": f"{name}-kubelet-principal-id", "clientId": f"{name}-kubelet"}}
            return {"oidcIssuerProfile": issuer, "identityProfile": kubelet, **offline.identity(inputs)}
        if typ == "azure-native:managedidentity:UserAssignedIdentity":  # one id each: the rules tell them apart
            given = inputs.get("resourceName") or name
            return {"principalId": f"{name}-principal-id", "clientId": f"{name}-client-id", "name": given}
        return offline.attributes(typ, name, inputs, spec)

    def offline_call(self, placement: Any, token: str, args: dict[str, Any]) -> dict[str, Any]:
        from mlstack.components.azure import offline

        given = {
            "clusters": [
                {
                    "cluster": {
                        "server": "https://purplesky-1a2b3c4d.hcp.azmk8s.io:443",
                        "certificate-authority-data": m.PLACEHOLDER_CA,
                    }
                }
            ]
        }
        kubeconfigs = [{"name": "clusterUser", "value": base64.b64encode(json.dumps(given).encode()).decode()}]
        if token == azure_settings.SUBNET_LOOKUP:
            return {"addressPrefix": offline.subnet_range(args)}
        answered = offline.call(placement.cluster, token, args)
        spec = placement.cluster
        if spec.subnet_id and not spec.subscription_id:  # signed in where the recipe's subnets are, as a deploy must be
            answered["subscriptionId"] = azure_settings.subscription(spec.subnet_id)
        return {**answered, "kubeconfigs": kubeconfigs}


PROVISIONER = Aks()


def taint(taint: dict[str, str]) -> str:
    return f"{taint['key']}={taint['value']}:{taint['effect']}"


# The policy suite's rules for an aks cluster (components/kubernetes/policy.py runs those of the recipe's cluster).
def _cluster(plan: Any) -> Any:
    found = plan.of_type(CLUSTER)
    require(len(found) == 1, f"the plan has {len(found)} AKS clusters, not one")
    return found[0]


def _pools(plan: Any) -> list[tuple[str, dict[str, Any]]]:
    cluster = _cluster(plan)
    return [(f"{cluster.name}.{p.get('name')}", p) for p in cluster.inputs.get("agentPoolProfiles") or []] + [
        (p.name, p.inputs) for p in plan.of_type(AGENT_POOL)
    ]


def endpoint_is_private_or_allow_listed(plan: Any, recipe: Any) -> None:
    access = _cluster(plan).inputs.get("apiServerAccessProfile") or {}
    if access.get("enablePrivateCluster") is not True:
        cidrs = access.get("authorizedIPRanges") or []
        require(cidrs, "a public API server without authorized IP ranges is open to every address")
        m.allow_list(cidrs, "the API server")
    for name, pool in _pools(plan):
        require(pool.get("enableNodePublicIP") is False, f"{name}: nodes have public addresses")


def secrets_are_encrypted_with_kms(plan: Any, recipe: Any) -> None:
    kms = (_cluster(plan).inputs.get("securityProfile") or {}).get("azureKeyVaultKms") or {}
    require(kms.get("enabled") is True and kms.get("keyId"), "etcd secrets are not encrypted with a Key Vault key")
    vaults = {f"{v.name}-id" for v in plan.of_type("azure-native:keyvault:Vault")}
    for grant in plan.of_type("azure-native:authorization:RoleAssignment"):
        if grant.inputs.get("scope") in vaults:  # the key's users: Key Vault Crypto User, nothing more
            role = str(grant.inputs.get("roleDefinitionId", ""))
            require(role.endswith(f"/{CRYPTO_USER}"), f"{grant.name}: grants {role.rsplit('/', 1)[-1]} on the vault")
    for vault in plan.of_type("azure-native:keyvault:Vault"):
        props = vault.inputs.get("properties") or {}
        require(props.get("enablePurgeProtection") is True, f"{vault.name}: purge protection is off")
        require(props.get("enableRbacAuthorization") is True, f"{vault.name}: access policies, not RBAC")


def sign_in_is_entra_only(plan: Any, recipe: Any) -> None:
    inputs = _cluster(plan).inputs
    require(inputs.get("disableLocalAccounts") is True, "local accounts (a static admin credential) are on")
    require((inputs.get("aadProfile") or {}).get("managed") is True, "Microsoft Entra ID sign-in is off")
    security = inputs.get("securityProfile") or {}
    require((security.get("workloadIdentity") or {}).get("enabled") is True, "Workload Identity is off")
    require((inputs.get("oidcIssuerProfile") or {}).get("enabled") is True, "the OIDC issuer is off")
    [cluster] = plan.of_type(CLUSTER)
    for grant in plan.of_type("azure-native:authorization:RoleAssignment"):
        if str(grant.inputs.get("roleDefinitionId", "")).endswith(RBAC_ADMIN):
            require(
                grant.inputs.get("scope") == f"{cluster.name}-id", f"{grant.name}: cluster admin beyond the cluster"
            )


def version_is_pinned_and_audited(plan: Any, recipe: Any) -> None:
    inputs = _cluster(plan).inputs
    version = inputs.get("kubernetesVersion")
    require(re.fullmatch(r"1\.\d{2}", str(version)), "the Kubernetes version is not pinned")
    require((inputs.get("autoUpgradeProfile") or {}).get("upgradeChannel") == "none", "an upgrade channel moves it")
    for name, pool in _pools(plan):
        require(pool.get("orchestratorVersion") == version, f"{name}: version not pinned")
    categories = {
        log.get("category")
        for setting in plan.of_type("azure-native:monitor:DiagnosticSetting")
        for log in setting.inputs.get("logs") or []
        if log.get("enabled")
    }
    require(categories >= set(AUDIT_LOGS), f"audit logs missing: {sorted(set(AUDIT_LOGS) - categories)}")


def network_policies_are_enforced(plan: Any, recipe: Any) -> None:
    network = _cluster(plan).inputs.get("networkProfile") or {}
    require(network.get("networkPolicy") in ("cilium", "azure", "calico"), "NetworkPolicies are not enforced")


def gpu_pools_are_tainted(plan: Any, recipe: Any) -> None:
    for name, pool in _pools(plan):
        if pool.get("vmSize") in GPU_MACHINES:
            require(taint(m.GPU_TAINT) in (pool.get("nodeTaints") or []), f"{name}: GPU nodes are not tainted")


def workload_identities_are_federated_to_one_account_and_scoped(plan: Any, recipe: Any) -> None:
    """A Kubernetes service account acts as a managed identity the stack creates, federated with the cluster's
    issuer for that account alone (and no identity is federated for anything else); those identities hold Storage
    Blob Data Contributor on the stack's containers and nothing else; the nodes' (kubelet) identity pulls from the
    stack's registry; and no other role is granted than the cluster's own two (its key, its admin)."""
    cluster = _cluster(plan)
    issuer = ((cluster.inputs.get("oidcIssuerProfile") or {}).get("issuerURL")) or ""
    identities = {
        u.inputs.get("clientId"): u for u in plan.of_type("azure-native:managedidentity:UserAssignedIdentity")
    }
    federated: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {}
    for credential in plan.of_type("azure-native:managedidentity:FederatedIdentityCredential"):
        i = credential.inputs
        entry = (str(i.get("subject")), str(i.get("issuer")), tuple(i.get("audiences") or ()))
        federated.setdefault(str(i.get("resourceName")), []).append(entry)
    bound, names = set(), set()
    for sa in plan.of_type("kubernetes:core/v1:ServiceAccount"):
        meta = sa.inputs.get("metadata") or {}
        client = (meta.get("annotations") or {}).get(WI_ANNOTATION)
        if client is None:
            continue
        require(client in identities, f"{sa.name}: acts as {client}, an identity the stack does not create")
        identity = identities[client]
        subject = f"system:serviceaccount:{meta.get('namespace')}:{meta.get('name')}"
        found = federated.get(str(identity.inputs.get("name")), [])
        who = ", ".join(f"{s} (issuer {i}, audiences {', '.join(a)})" for s, i, a in found) or "nothing"
        require(
            found == [(subject, issuer, (WI_AUDIENCE,))],
            f"{sa.name}: {identity.name} is federated with {who}, not {subject} of the cluster's issuer alone",
        )
        bound.add(identity.inputs.get("principalId"))
        names.add(str(identity.inputs.get("name")))
    stray = sorted(set(federated) - names)
    require(not stray, f"federated, yet no service account of the stack's acts as it: {', '.join(stray)}")
    containers = {f"{c.name}-id" for c in plan.of_type("azure-native:storage:BlobContainer")}
    registries = {f"{r.name}-id" for r in plan.of_type("azure-native:containerregistry:Registry")}
    kubelet = ((cluster.inputs.get("identityProfile") or {}).get("kubeletidentity") or {}).get("objectId")
    for grant in plan.of_type("azure-native:authorization:RoleAssignment"):
        i = grant.inputs
        role, scope = str(i.get("roleDefinitionId", "")).rsplit("/", 1)[-1], i.get("scope")
        if i.get("principalId") in bound:
            require(role == BLOB_CONTRIBUTOR, f"{grant.name}: grants {role}, not Storage Blob Data Contributor")
            require(scope in containers, f"{grant.name}: on {scope}, not one of the stack's containers")
        elif role == ACR_PULL:
            require(i.get("principalId") == kubelet and scope in registries, f"{grant.name}: AcrPull beyond the nodes")
        else:  # the cluster's own: its identity on its key (secrets rule) and its subnet (network rule), the
            # deployer's admin (sign-in rule)
            require(
                role in (CRYPTO_USER, RBAC_ADMIN, NETWORK_CONTRIBUTOR),
                f"{grant.name}: grants {role}, a role mlstack never grants",
            )


def the_cluster_and_its_database_keep_to_the_recipes_network(plan: Any, recipe: Any) -> None:
    """The nodes are in the recipe's subnet (or a network AKS makes, where it names none), and the cluster's own
    identity alone is Network Contributor, on that subnet alone. MLflow's PostgreSQL flexible server exists where the
    recipe asks for it (tracking `database: managed`) and only there: in the recipe's delegated subnet, with no
    public access, TLS required and a generated password, its name in a private DNS zone of the stack's linked to
    that subnet's network alone."""
    spec = recipe.target.cluster
    cluster = _cluster(plan)
    for name, pool in _pools(plan):
        require(pool.get("vnetSubnetID") == spec.subnet_id, f"{name}: nodes in {pool.get('vnetSubnetID')}")
    principals = {
        i.inputs.get("principalId")
        for i in plan.of_type("azure-native:managedidentity:UserAssignedIdentity")
        if f"{i.name}-id" in ((cluster.inputs.get("identity") or {}).get("userAssignedIdentities") or [])
    }
    for grant in plan.of_type("azure-native:authorization:RoleAssignment"):
        i = grant.inputs
        if str(i.get("roleDefinitionId", "")).endswith(f"/{NETWORK_CONTRIBUTOR}"):
            require(
                spec.subnet_id and i.get("scope") == spec.subnet_id and i.get("principalId") in principals,
                f"{grant.name}: Network Contributor on {i.get('scope')}, beyond the cluster's identity on its subnet",
            )
    tracking = getattr(recipe.components, "tracking", None)
    wanted = 1 if getattr(tracking, "database", None) == "managed" else 0
    servers = plan.of_type(azure_settings.POSTGRES_SERVER)
    require(len(servers) == wanted, f"{len(servers)} PostgreSQL servers, where the recipe asks for {wanted}")
    for setting in plan.of_type("azure-native:dbforpostgresql:Configuration"):  # mlstack makes none: TLS stays on
        i = setting.inputs
        require(
            str(i.get("configurationName")).lower() != "require_secure_transport"
            or str(i.get("value")).lower() == "on",
            f"{setting.name}: the server takes connections without TLS",
        )
    zones = {f"{z.name}-id": z for z in plan.of_type("azure-native:privatedns:PrivateZone")}
    links = plan.of_type("azure-native:privatedns:VirtualNetworkLink")
    for server in servers:
        i, network = server.inputs, server.inputs.get("network") or {}
        require(network.get("publicNetworkAccess") == "Disabled", f"{server.name}: public access")
        require(i.get("administratorLoginPassword") == REDACTED, f"{server.name}: the password is not a secret")
        subnet = network.get("delegatedSubnetResourceId")
        require(subnet == spec.database_subnet_id, f"{server.name}: in {subnet}, not the recipe's database subnet")
        zone = zones.get(str(network.get("privateDnsZoneArmResourceId")))
        require(zone is not None, f"{server.name}: its name is not in a private DNS zone of the stack's")
        zone_name = zone.inputs.get("privateZoneName") if zone else None
        linked = [
            (ln.inputs.get("virtualNetwork") or {}).get("id")
            for ln in links
            if ln.inputs.get("privateZoneName") == zone_name
        ]
        require(
            linked == [azure_settings.virtual_network(str(subnet))],
            f"{server.name}: its zone is linked to {', '.join(map(str, linked)) or 'no network'}, not the nodes'",
        )


Aks.RULES = (
    workload_identities_are_federated_to_one_account_and_scoped,
    endpoint_is_private_or_allow_listed,
    secrets_are_encrypted_with_kms,
    sign_in_is_entra_only,
    version_is_pinned_and_audited,
    network_policies_are_enforced,
    gpu_pools_are_tainted,
    the_cluster_and_its_database_keep_to_the_recipes_network,
)
