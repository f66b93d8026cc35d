"""Secure defaults every `gcp` recipe's offline plan must show (run by tests/test_policy.py on recipes/)."""

from __future__ import annotations

import json

from mlstack.components.gcp.identity import PROJECT_ROLES
from mlstack.components.mlflow_server import SECRET_ENV
from mlstack.policy import REDACTED, open_to_the_internet, require

# The roles the shipped components grant, by kind of grant (components/gcp/identity.py and tracking.py). Any other
# role, or a grant of another kind (organization, folder, service account, Cloud Run service...), is beyond this
# stack: no kind listed here means no role allowed.
GRANTABLE_ROLES = {
    "gcp:projects/iAMMember:IAMMember": ("project", PROJECT_ROLES),
    "gcp:storage/bucketIAMMember:BucketIAMMember": (
        "bucket",
        ("roles/storage.objectAdmin", "roles/storage.objectUser"),
    ),
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": ("repository", ("roles/artifactregistry.reader",)),
    "gcp:secretmanager/secretIamMember:SecretIamMember": ("secret", ("roles/secretmanager.secretAccessor",)),
}


def buckets_are_uniform_private_and_versioned(plan, recipe) -> None:
    for bucket in plan.of_type("gcp:storage/bucket:Bucket"):
        i = bucket.inputs
        require(
            i["uniformBucketLevelAccess"] is True and i["publicAccessPrevention"] == "enforced",
            f"{bucket.name}: ACLs on or public access not prevented",
        )
        require(
            i["versioning"]["enabled"] is True and i.get("forceDestroy") is False,
            f"{bucket.name}: not versioned, or deletable with its objects",
        )


def artifact_registries_are_immutable_and_scanned(plan, recipe) -> None:
    for repo in plan.of_type("gcp:artifactregistry/repository:Repository"):
        require(repo.inputs["format"] == "DOCKER", f"{repo.name}: not a Docker repository")
        if repo.inputs.get("mode") == "REMOTE_REPOSITORY":  # a read-only pull-through cache of a public registry
            uri = repo.inputs["remoteRepositoryConfig"]["dockerRepository"]["customRepository"]["uri"]
            require(uri.startswith("https://"), f"{repo.name}: upstream not HTTPS")
            continue
        require(repo.inputs["dockerConfig"]["immutableTags"] is True, f"{repo.name}: mutable tags")
        require(repo.inputs["vulnerabilityScanningConfig"]["enablementConfig"] == "INHERITED", f"{repo.name}: no scan")


def nothing_open_to_the_internet(plan, recipe) -> None:
    require(open_to_the_internet(plan) == [], "a resource is open to the internet")
    require("allUsers" not in json.dumps([r.inputs for r in plan.resources]), "a grant to allUsers")


def managed_databases_are_private_and_tls_only(plan, recipe) -> None:
    """Every Cloud SQL instance (the gcp target's, and a gke cluster's managed database): a private IP only, TLS
    only, backed up; its users' passwords are secrets."""
    for db in plan.of_type("gcp:sql/databaseInstance:DatabaseInstance"):
        ip = db.inputs["settings"]["ipConfiguration"]
        require(ip["ipv4Enabled"] is False and not ip.get("authorizedNetworks"), f"{db.name}: has a public IP")
        require(ip["sslMode"] == "ENCRYPTED_ONLY", f"{db.name}: accepts plain connections")
        require(ip["privateNetwork"].startswith("projects/"), f"{db.name}: no private network")
        require(db.inputs["settings"]["backupConfiguration"]["enabled"] is True, f"{db.name}: no backups")
    for user in plan.of_type("gcp:sql/user:User"):
        require(user.inputs["password"] == REDACTED, f"{user.name}: password not secret")


def databases_are_private_tls_only_with_generated_passwords(plan, recipe) -> None:
    managed_databases_are_private_and_tls_only(plan, recipe)
    databases = plan.of_type("gcp:sql/databaseInstance:DatabaseInstance")
    require(len(databases) == len(plan.of_type("mlstack:gcp:Tracking")), "a tracking server without its database")


def tracking_servers_are_internal(plan, recipe) -> None:
    for service in plan.of_type("gcp:cloudrunv2/service:Service"):
        require(
            service.inputs["ingress"] in ("INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"),
            f"{service.name}: ingress from the internet",
        )


def server_secrets_come_from_secret_manager(plan, recipe) -> None:
    """Passwords reach the container by reference, never as a plain environment value."""
    for service in plan.of_type("gcp:cloudrunv2/service:Service"):
        envs = service.inputs["template"]["containers"][0]["envs"]
        secret = {e["name"] for e in envs if "valueSource" in e}
        require(secret == set(SECRET_ENV.values()), f"{service.name}: secrets differ")
        require(all("value" not in e for e in envs if e["name"] in secret), f"{service.name}: a plain password")


def grants_are_additive_scoped_and_to_this_stack_only(plan, recipe) -> None:
    authoritative = [
        r.type
        for r in plan.resources
        if r.type.startswith("gcp:") and r.type.lower().endswith(("iambinding", "iampolicy"))
    ]
    require(authoritative == [], "bindings and policies replace other members; only *IAMMember grants")
    accounts = {f"serviceAccount:{r.inputs['email']}" for r in plan.of_type("gcp:serviceaccount/account:Account")}
    buckets = {r.inputs["name"] for r in plan.of_type("gcp:storage/bucket:Bucket")}
    for r in plan.resources:
        if r.type.startswith("gcp:") and r.type.rsplit(":", 1)[-1].lower().endswith("iammember"):
            require(r.inputs.get("member") in accounts, f"{r.name}: a grant to an account of another stack")
            role = r.inputs.get("role")
            require(
                r.type in GRANTABLE_ROLES,
                f"{r.name}: a {r.type} grant ({role}); this stack grants on projects, buckets, repositories and "
                "secrets only",
            )
            kind, roles = GRANTABLE_ROLES[r.type]
            require(role in roles, f"{r.name}: {kind} role {role}, beyond the {kind} roles this stack grants")
            if r.type == "gcp:storage/bucketIAMMember:BucketIAMMember":
                require(r.inputs.get("bucket") in buckets, f"{r.name}: a bucket of another stack")


RULES = (
    buckets_are_uniform_private_and_versioned,
    artifact_registries_are_immutable_and_scanned,
    nothing_open_to_the_internet,
    databases_are_private_tls_only_with_generated_passwords,
    tracking_servers_are_internal,
    server_secrets_come_from_secret_manager,
    grants_are_additive_scoped_and_to_this_stack_only,
)
