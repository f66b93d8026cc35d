"""Settings of the azure target: its placement (the recipe's `target:` block) and its own flavors."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from mlstack.recipe import rules
from mlstack.recipe import settings as s
from mlstack.recipe.base import UserModel

# The provider SDK ships no location list: pinned here from Azure's public list of regions (`az account
# list-locations`, physical regions), as read in December 2026. A region Azure opens later is refused until this
# list learns it.
LOCATIONS: tuple[str, ...] = (
    "australiacentral",
    "australiacentral2",
    "australiaeast",
    "australiasoutheast",
    "austriaeast",
    "belgiumcentral",
    "brazilsouth",
    "brazilsoutheast",
    "canadacentral",
    "canadaeast",
    "centralindia",
    "centralus",
    "chilecentral",
    "chinaeast",
    "chinaeast2",
    "chinaeast3",
    "chinanorth",
    "chinanorth2",
    "chinanorth3",
    "denmarkeast",
    "eastasia",
    "eastus",
    "eastus2",
    "francecentral",
    "francesouth",
    "germanynorth",
    "germanywestcentral",
    "indonesiacentral",
    "israelcentral",
    "italynorth",
    "japaneast",
    "japanwest",
    "jioindiacentral",
    "jioindiawest",
    "koreacentral",
    "koreasouth",
    "malaysiawest",
    "mexicocentral",
    "newzealandnorth",
    "northcentralus",
    "northeurope",
    "norwayeast",
    "norwaywest",
    "polandcentral",
    "qatarcentral",
    "southafricanorth",
    "southafricawest",
    "southcentralus",
    "southeastasia",
    "southindia",
    "spaincentral",
    "swedencentral",
    "swedensouth",
    "switzerlandnorth",
    "switzerlandwest",
    "uaecentral",
    "uaenorth",
    "uksouth",
    "ukwest",
    "usgovarizona",
    "usgovtexas",
    "usgovvirginia",
    "westcentralus",
    "westeurope",
    "westindia",
    "westus",
    "westus2",
    "westus3",
)


def _known_location(location: str) -> str:
    return rules.known_region(location, LOCATIONS, "Azure location")


# A Azure location the pinned provider knows (also the location of a managed cluster on this cloud).
Location = Annotated[str, Field(pattern=r"^[a-z0-9]+$"), AfterValidator(_known_location)]

# MLflow's PostgreSQL flexible server (the azure target's, and an aks cluster's `database: managed`), and how its
# SKUs are spelled
POSTGRES_SERVER = "azure-native:dbforpostgresql:Server"
POSTGRES_SKU = r"^Standard_[BDE][0-9]+[a-z]*(_v[0-9]+)?$"


PG_STORAGE_GB = (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384)  # what the flexible server offers


def storage_problem(size_gb: int) -> str | None:
    """Why a flexible server cannot have `size_gb` of storage (None: it can)."""
    if size_gb in PG_STORAGE_GB:
        return None
    return f"Azure's flexible server offers {', '.join(map(str, PG_STORAGE_GB))} GiB; got {size_gb}"


def virtual_network(subnet_id: str) -> str:
    """The virtual network a subnet's resource id names (Azure's ids are case-insensitive: `/Subnets/` too)."""
    return re.split(r"/subnets/", subnet_id, flags=re.IGNORECASE)[0]


# azure-native's getSubnet (a subnet's address range: MLflow's egress to an aks cluster's database), and what it takes
SUBNET_LOOKUP = "azure-native:network:getSubnet"
SUBNET_LOOKUP_ARGS = ("resourceGroupName", "virtualNetworkName", "subnetName")


def subnet_lookup(subnet_id: str) -> dict[str, str]:
    """The arguments of getSubnet for a subnet's resource id."""
    parts = subnet_id.split("/")
    return dict(zip(SUBNET_LOOKUP_ARGS, (parts[4], parts[8], parts[10]), strict=True))


def subscription(resource_id: str) -> str:
    """The subscription a resource id names."""
    return resource_id.split("/")[2]


class AzureTarget(UserModel):
    """Microsoft Azure."""

    type: Literal["azure"] = Field(description="Target platform.")
    location: Location = Field(description="Azure location, e.g. westeurope.")

    subscription_id: str | None = Field(default=None, description="Subscription; default: the CLI's or ARM_ env's.")


class AzureBlobObjectStore(UserModel):
    """Azure Blob Storage: HTTPS only, TLS >= 1.2, no public blob access, no shared-key access, versioned."""

    flavor: Literal["azure_blob"] = Field(description="Flavor of this component.")
    containers: Annotated[list[str], rules.Unique] = Field(
        default_factory=lambda: ["artifacts"],
        min_length=1,
        description="Blob containers to create in the stack's storage account (3-63 lowercase, digits, '-').",
    )
    versioning: bool = Field(default=True, description="Blob versioning (recover overwritten artifacts).")
    sku: Literal["Standard_LRS", "Standard_ZRS", "Standard_GRS"] = Field(
        default="Standard_ZRS", description="Storage account redundancy."
    )


class AcrRegistry(UserModel):
    """Azure Container Registry: admin user off, anonymous pull off."""

    flavor: Literal["acr"] = Field(description="Flavor of this component.")
    sku: Literal["Basic", "Standard", "Premium"] = Field(default="Standard", description="ACR service tier.")


class AzureMlOrchestrator(UserModel):
    """Azure ML pipelines: a workspace on the stack's storage and registry, steps run as a scoped identity."""

    flavor: Literal["azureml"] = Field(description="Flavor of this component.")


class AzureMlServing(UserModel):
    """An Azure ML managed online endpoint (Entra ID auth) whose models run as a scoped identity."""

    flavor: Literal["azureml"] = Field(description="Flavor of this component.")


class AzureMlflowTracking(s.CloudMlflowTracking):
    """MLflow on Azure Container Apps with a private PostgreSQL flexible server."""

    subnet_id: str = Field(
        pattern=s.AZURE_SUBNET,
        description="Subnet of the Container Apps environment (delegated to Microsoft.App/environments, /27 or "
        "larger); its virtual network gets the database's private DNS zone.",
    )
    database_subnet_id: str = Field(
        pattern=s.AZURE_SUBNET,
        description="Subnet of the database, in the same virtual network "
        "(delegated to Microsoft.DBforPostgreSQL/flexibleServers).",
    )
    allowed_cidrs: s.AllowedNetworks = Field(min_length=1, description=s.ALLOWED_NETWORKS)
