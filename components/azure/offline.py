"""How the offline plan fakes the azure provider: the attributes Azure computes for a resource (ARNs, URLs, names), so
client outputs render and policy checks see realistic values. Pure functions; the engine's mocks call them."""

from __future__ import annotations

from typing import Any

from mlstack.components.azure import settings as s

TENANT = "00000000-0000-0000-0000-000000000000"  # placeholder tenant, subscription and principal ids
# What the plan answers for values Azure assigns on deploy: shown as `<known after deploy>`.
SUBNET_RANGES = tuple(f"198.51.100.{16 * k}/28" for k in range(8))  # a subnet's stand-in range: `subnet_range`
PLACEHOLDERS = (TENANT, "purplesky-1a2b3c4d", *SUBNET_RANGES)


def attributes(typ: str, name: str, inputs: dict[str, Any], placement: s.AzureTarget) -> dict[str, Any]:
    return {**_by_type(typ, name, inputs, placement), **identity(inputs)}


def _by_type(typ: str, name: str, inputs: dict[str, Any], placement: s.AzureTarget) -> dict[str, Any]:
    region = placement.location or "region"
    if typ == "azure-native:resources:ResourceGroup":
        return {"name": inputs.get("resourceGroupName") or name}
    if typ == "azure-native:storage:StorageAccount":
        account = inputs.get("accountName") or name
        return {"name": account, "primaryEndpoints": {"blob": f"https://{account}.blob.core.windows.net/"}}
    if typ == "azure-native:managedidentity:UserAssignedIdentity":
        return {"principalId": TENANT, "clientId": TENANT, "name": inputs.get("resourceName") or name}
    if typ in ("azure-native:machinelearningservices:Workspace", "azure-native:machinelearningservices:OnlineEndpoint"):
        key = "endpointName" if typ.endswith("OnlineEndpoint") else "workspaceName"
        return {"name": inputs.get(key) or name}
    if typ == "azure-native:privatedns:PrivateZone":
        return {"name": inputs.get("privateZoneName") or name}
    if typ == "azure-native:dbforpostgresql:Server":
        return {"fullyQualifiedDomainName": f"{inputs.get('serverName') or name}.postgres.database.azure.com"}
    if typ == "azure-native:app:ManagedEnvironment":
        return {"defaultDomain": f"purplesky-1a2b3c4d.{region}.azurecontainerapps.io"}
    if typ == "azure-native:containerregistry:Registry":
        registry = inputs.get("registryName") or name
        return {"name": registry, "loginServer": f"{registry}.azurecr.io"}
    return {}


def identity(inputs: dict[str, Any]) -> dict[str, Any]:
    """Azure takes user-assigned identity ids and answers {id: details}."""
    given = inputs.get("identity") or {}
    if isinstance(given.get("userAssignedIdentities"), list):
        return {"identity": {**given, "userAssignedIdentities": {i: {} for i in given["userAssignedIdentities"]}}}
    return {}


def call(placement: s.AzureTarget, token: str, args: dict[str, Any]) -> dict[str, Any]:
    """What `get_client_config` answers."""
    return {
        "tenantId": TENANT,
        "subscriptionId": placement.subscription_id or TENANT,
        "clientId": TENANT,
        "objectId": TENANT,
    }


def subnet_range(lookup: dict[str, Any]) -> str:
    """The stand-in address range of the subnet a getSubnet call names (its resource group, network and name; the
    same on every run, whatever their case): one of SUBNET_RANGES."""
    import zlib

    names = s.SUBNET_LOOKUP_ARGS
    if sorted(lookup) != sorted(names):  # what the real call takes: a misspelt argument fails the plan, as it would
        raise ValueError(f"getSubnet takes {', '.join(names)}, not {', '.join(sorted(lookup))}")
    key = "/".join(str(lookup[k]).lower() for k in names)
    return SUBNET_RANGES[zlib.crc32(key.encode()) % len(SUBNET_RANGES)]
