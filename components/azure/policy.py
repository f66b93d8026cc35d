"""Secure defaults every `azure` recipe's offline plan must show (run by tests/test_policy.py on recipes/)."""

from __future__ import annotations

import json

from mlstack.components.azure.identity import SCOPED_ROLES
from mlstack.components.mlflow_server import SECRET_ENV
from mlstack.policy import REDACTED, open_to_the_internet, require

INTERNET = ("0.0.0.0/0", "::/0")


def storage_is_https_tls12_private_and_entra_only(plan, recipe) -> None:
    for account in plan.of_type("azure-native:storage:StorageAccount"):
        i = account.inputs
        require(i["enableHttpsTrafficOnly"] is True and i["minimumTlsVersion"] == "TLS1_2", f"{account.name}: TLS")
        require(
            i["allowBlobPublicAccess"] is False and i["allowSharedKeyAccess"] is False,
            f"{account.name}: public blobs or shared keys allowed",
        )
        require(i["encryption"]["services"]["blob"]["enabled"] is True, f"{account.name}: not encrypted")
        require(
            3 <= len(i["accountName"]) <= 24 and i["accountName"].isalnum() and i["accountName"].islower(),
            f"{account.name}: name Azure refuses",
        )
    for container in plan.of_type("azure-native:storage:BlobContainer"):
        require(container.inputs["publicAccess"] == "None", f"{container.name}: public")


def registries_have_no_admin_user_or_anonymous_pull(plan, recipe) -> None:
    for registry in plan.of_type("azure-native:containerregistry:Registry"):
        require(
            registry.inputs["adminUserEnabled"] is False and registry.inputs["anonymousPullEnabled"] is False,
            f"{registry.name}: admin user or anonymous pull",
        )


def nothing_open_to_the_internet(plan, recipe) -> None:
    """In the raw inputs as well: a Container App's ingress allow-list is in its configuration, a secret the plan's
    inputs redact. (Only resource names are reported: the raw inputs hold secrets.)"""
    in_raw = [r.name for r in plan.resources if any(cidr in json.dumps(r.raw, default=str) for cidr in INTERNET)]
    exposed = sorted(set(open_to_the_internet(plan) + in_raw))
    require(exposed == [], f"a resource is open to the internet (0.0.0.0/0 or ::/0): {', '.join(exposed)}")


def databases_are_private_with_generated_passwords(plan, recipe) -> None:
    databases = plan.of_type("azure-native:dbforpostgresql:Server")
    for db in databases:
        i = db.inputs
        require(
            i["network"]["publicNetworkAccess"] == "Disabled" and i["network"]["delegatedSubnetResourceId"],
            f"{db.name}: public access",
        )
        require(i["administratorLoginPassword"] == REDACTED, f"{db.name}: password not secret")
    require(len(databases) == len(plan.of_type("mlstack:azure:Tracking")), "a tracking server without its database")


def tracking_servers_take_tls_only_from_allowed_networks(plan, recipe) -> None:
    settings = recipe.components.tracking
    for app in plan.of_type("azure-native:app:ContainerApp"):
        ingress = app.raw["configuration"]["ingress"]  # the whole configuration is secret: it holds the app's secrets
        require(ingress["allowInsecure"] is False, f"{app.name}: plain HTTP allowed")
        restrictions = ingress["ipSecurityRestrictions"]
        require(restrictions and all(r["action"] == "Allow" for r in restrictions), f"{app.name}: no IP allow-list")
        require(
            sorted(r["ipAddressRange"] for r in restrictions) == sorted(settings.allowed_cidrs),
            f"{app.name}: admits networks the recipe did not list",
        )


def server_secrets_are_container_app_secrets(plan, recipe) -> None:
    """Passwords reach the container by reference, never as a plain environment value."""
    for app in plan.of_type("azure-native:app:ContainerApp"):
        env = app.inputs["template"]["containers"][0].get("env", [])
        refs = {e["secretRef"] for e in env if "secretRef" in e}
        secret = {e["name"] for e in env if "secretRef" in e}
        require(secret == set(SECRET_ENV.values()), f"{app.name}: secrets differ")
        require(all("secretRef" in e for e in env if e["name"] in secret), f"{app.name}: a plain password")
        require({s["name"] for s in app.raw["configuration"]["secrets"]} == refs, f"{app.name}: dangling secret refs")


def role_assignments_are_scoped_to_single_stack_resources(plan, recipe) -> None:
    stack_ids = {
        f"{r.name}-id"
        for r in plan.resources
        if r.type in ("azure-native:storage:StorageAccount", "azure-native:containerregistry:Registry")
    }
    for assignment in plan.of_type("azure-native:authorization:RoleAssignment"):
        i = assignment.inputs
        require(i["scope"] in stack_ids, f"{assignment.name}: a subscription or resource-group scope")
        require(i["roleDefinitionId"].rsplit("/", 1)[-1] in SCOPED_ROLES, f"{assignment.name}: a broad role")
        require(i["principalType"] == "ServicePrincipal", f"{assignment.name}: not to a workload identity")


def ml_uses_entra_id_and_protected_vaults(plan, recipe) -> None:
    for vault in plan.of_type("azure-native:keyvault:Vault"):
        props = vault.inputs["properties"]
        require(
            props["enableRbacAuthorization"] is True and props["enablePurgeProtection"] is True,
            f"{vault.name}: access policies or no purge protection",
        )
    for endpoint in plan.of_type("azure-native:machinelearningservices:OnlineEndpoint"):
        require(endpoint.inputs["properties"]["authMode"] == "AADToken", f"{endpoint.name}: key auth")
    for insights in plan.of_type("azure-native:applicationinsights:Component"):
        require(insights.inputs["disableLocalAuth"] is True, f"{insights.name}: local auth")


RULES = (
    storage_is_https_tls12_private_and_entra_only,
    registries_have_no_admin_user_or_anonymous_pull,
    nothing_open_to_the_internet,
    databases_are_private_with_generated_passwords,
    tracking_servers_take_tls_only_from_allowed_networks,
    server_secrets_are_container_app_secrets,
    role_assignments_are_scoped_to_single_stack_resources,
    ml_uses_entra_id_and_protected_vaults,
)
