"""What an Azure stack costs a month: each resource type mlstack creates there, priced from the snapshot's
`azure.*` entries, or free with why. Azure Machine Learning bills the compute its jobs and online deployments run
on, per use (a note says so)."""

from __future__ import annotations

from typing import Any

from mlstack.cost.estimate import GIB, Line, Priced, Pricing, fixed, price_plan, quantity, scaled, share_of

NOTES = (
    "Azure Machine Learning bills the compute its pipeline jobs and online deployments run on, per use: mlstack "
    "creates the workspace and an empty endpoint",
    "Application Insights' first 5 GB a month are free per billing account: not subtracted here",
)
HOURS_PER_DAY = 24


def rules(plan: Any) -> dict[str, Any]:
    def account(r: Any, p: Pricing, component: str) -> list[Line]:
        part = share_of(plan, r, component)
        redundancy = str((r.inputs.get("sku") or {}).get("name", "")).removeprefix("Standard_")  # LRS, ZRS, GRS
        return [
            p.line(
                component,
                r.name,
                f"Blob Storage hot {redundancy}",
                f"azure.blob.hot.{redundancy.lower()}",
                scaled(p.use("storage_gb"), part),
            ),
            # priced per 10,000 operations; the usage is in thousands
            p.line(
                component,
                r.name,
                f"write operations (hot {redundancy})",
                f"azure.blob.write.{redundancy.lower()}",
                scaled(p.use("write_requests_k"), part / 10),
            ),
            p.line(
                component,
                r.name,
                f"read operations (hot {redundancy})",
                f"azure.blob.read.{redundancy.lower()}",
                scaled(p.use("read_requests_k"), part / 10),
            ),
            p.line(component, r.name, "data out to the internet", "azure.egress", scaled(p.use("data_out_gb"), part)),
        ]

    def registry(r: Any, p: Pricing, component: str) -> list[Line]:
        sku = str((r.inputs.get("sku") or {}).get("name", ""))
        # billed by the day, whether used or not
        return [
            p.line(
                component, r.name, f"Container Registry {sku}", f"azure.acr.{sku.lower()}", fixed(730 / HOURS_PER_DAY)
            )
        ]

    def database(r: Any, p: Pricing, component: str) -> list[Line]:
        sku = str((r.inputs.get("sku") or {}).get("name", ""))
        storage = float((r.inputs.get("storage") or {}).get("storageSizeGB") or 0)
        return [
            p.line(
                component,
                r.name,
                f"PostgreSQL Flexible Server {sku}",
                f"azure.postgresql.{sku.lower()}",
                p.use("hours_up"),
            ),
            p.line(component, r.name, "PostgreSQL Flexible Server storage", "azure.postgresql.storage", fixed(storage)),
        ]

    def app(r: Any, p: Pricing, component: str) -> list[Line]:
        template = r.inputs.get("template") or {}
        warm = float((template.get("scale") or {}).get("minReplicas") or 0)
        resources = [c.get("resources") or {} for c in template.get("containers") or []]
        vcpu = sum(float(x.get("cpu") or 0) for x in resources)
        memory = sum(quantity(x.get("memory") or 0) / GIB for x in resources)
        seconds = scaled(p.use("hours_up"), 3600 * warm)
        return [
            p.line(
                component,
                r.name,
                f"Container Apps vCPU ({warm:g} replica kept x {vcpu:g} vCPU, active)",
                "azure.containerapps.vcpu_second",
                scaled(seconds, vcpu),
            ),
            p.line(
                component,
                r.name,
                f"Container Apps memory ({warm:g} replica x {memory:g} GiB, active)",
                "azure.containerapps.memory_second",
                scaled(seconds, memory),
            ),
        ]

    def insights(r: Any, p: Pricing, component: str) -> list[Line]:
        return [
            p.line(component, r.name, "Application Insights data ingested", "azure.monitor.ingest", p.use("logs_gb"))
        ]

    def dns_zone(r: Any, p: Pricing, component: str) -> list[Line]:
        return [p.line(component, r.name, "private DNS zone", "azure.privatedns.zone", fixed(1))]

    def vault(r: Any, p: Pricing, component: str) -> list[Line]:
        # billed per 10,000 operations: the tracking server reads its few secrets when it starts
        return [
            p.line(
                component,
                r.name,
                "Key Vault operations (at most 10,000 a month)",
                "azure.keyvault.operations",
                fixed(1),
            )
        ]

    return {
        "azure-native:keyvault:Vault": vault,
        "azure-native:storage:StorageAccount": account,
        "azure-native:containerregistry:Registry": registry,
        "azure-native:dbforpostgresql:Server": database,
        "azure-native:app:ContainerApp": app,
        "azure-native:applicationinsights:Component": insights,
        "azure-native:privatedns:PrivateZone": dns_zone,
    }


NO_CHARGE = "Azure charges nothing for it"
FREE = {
    "azure-native:authorization:RoleAssignment": NO_CHARGE,
    "azure-native:managedidentity:UserAssignedIdentity": NO_CHARGE,
    "azure-native:resources:ResourceGroup": NO_CHARGE,
    "azure-native:privatedns:VirtualNetworkLink": "Azure DNS bills a private zone and its queries, not its links",
    "azure-native:storage:BlobContainer": "priced with its storage account",
    "azure-native:storage:BlobServiceProperties": "a setting of the storage account",
    "azure-native:dbforpostgresql:Database": "priced with its server",
    "azure-native:app:ManagedEnvironment": "a Consumption workload profile: its apps are billed, not the environment",
    "azure-native:machinelearningservices:Workspace": "Azure ML bills the compute its jobs run on",
    "azure-native:machinelearningservices:OnlineEndpoint": "billed per deployment's instances; mlstack deploys none",
}


def estimate(plan: Any, recipe: Any, pricing: Pricing) -> tuple[Priced, tuple[str, ...]]:
    return price_plan(plan, pricing, rules(plan), FREE), NOTES


def region(placement: Any) -> str:
    return str(placement.location)
