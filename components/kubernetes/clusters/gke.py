"""The `gke` cluster provisioner: a regional GKE Standard cluster the stack creates in the recipe's network — private
nodes, the API endpoint private (or public to an allow-list), Kubernetes secrets encrypted with a Cloud KMS key of
the stack's, control plane and workload logs in Cloud Logging, the version pinned (no release channel, node pools
not auto-upgraded), Dataplane V2 (which enforces the stack's NetworkPolicies), Workload Identity, Shielded nodes
under a node service account of their own, and the system pool and the recipe's pools, GPU pools tainted with
their driver installed by GKE."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from mlstack.components.gcp import settings as gcp_settings
from mlstack.components.kubernetes.clusters import _managed as m
from mlstack.policy import require

CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
KEY = "gcp:kms/cryptoKey:CryptoKey"
NODE_ROLES = ("roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/monitoring.viewer")
LOGS = ("SYSTEM_COMPONENTS", "APISERVER", "CONTROLLER_MANAGER", "SCHEDULER", "WORKLOADS")
PROJECT_NUMBER = "123456789012"  # what the offline plan answers for the project's number
PATCH = "0-gke.0"  # what the offline plan answers for the newest patch of the recipe's minor
TAINT = {**m.GPU_TAINT, "effect": "NO_SCHEDULE"}  # GKE's API spells the effect its own way
WI_ANNOTATION = "iam.gke.io/gcp-service-account"  # a service account's: the Google service account it acts as
WI_ROLE = "roles/iam.workloadIdentityUser"  # on that Google service account, for one Kubernetes service account
BUCKET_ROLE = "roles/storage.objectUser"  # list, read, write and delete objects; nothing of the bucket itself
BUCKET_READER = "roles/storage.legacyBucketReader"  # the bucket's metadata (buckets.get) and its listing
PULL_ROLE = "roles/artifactregistry.reader"  # the nodes' service account, on each of the stack's repositories
# Where pods get their Workload Identity tokens, which the stack's NetworkPolicies must allow (GKE's Workload
# Identity docs, "restrict access with network policies"): the GKE metadata server on each node, 169.254.169.254:80,
# and 169.254.169.252:988, by GKE version and dataplane.
METADATA_SERVER = (("169.254.169.254/32", 80), ("169.254.169.252/32", 988))

# Compute Engine's GPU machine types (https://cloud.google.com/compute/docs/gpus): the accelerator is the machine's.
GPU_MACHINES: m.GpuMachines = {
    **{f"g2-standard-{c}": ("nvidia-l4", g) for c, g in ((4, 1), (8, 1), (12, 1), (16, 1), (24, 2), (32, 1),
                                                          (48, 4), (96, 8))},
    **{f"a2-highgpu-{g}g": ("nvidia-tesla-a100", g) for g in (1, 2, 4, 8)},
    "a2-megagpu-16g": ("nvidia-tesla-a100", 16),
    **{f"a2-ultragpu-{g}g": ("nvidia-a100-80gb", g) for g in (1, 2, 4, 8)},
    **{f"a3-highgpu-{g}g": ("nvidia-h100-80gb", g) for g in (1, 2, 4, 8)},
}  # fmt: skip
# N1 machines take these accelerators attached, in these counts.
N1_ACCELERATORS = {
    "nvidia-tesla-t4": (1, 2, 4),
    "nvidia-tesla-p4": (1, 2, 4),
    "nvidia-tesla-p100": (1, 2, 4),
    "nvidia-tesla-v100": (1, 2, 4, 8),
}


class GkePool(m.Pool):
    """A GKE node pool (GPU pools: GKE installs the driver; the accelerator is attached to N1 machines)."""

    GPU_MACHINES = GPU_MACHINES
    CLOUD = "GKE"

    @classmethod
    def gpu_problem(cls, machine_type: str, gpu: m.Gpu | None) -> str | None:
        if not machine_type.startswith("n1-") or gpu is None:
            return super().gpu_problem(machine_type, gpu)
        counts = N1_ACCELERATORS.get(gpu.type)
        if counts is None:
            return f"N1 machines take {', '.join(N1_ACCELERATORS)}, not {gpu.type} (it comes with its own machines)"
        if gpu.count not in counts:
            return f"{gpu.type} attaches to N1 machines {', '.join(map(str, counts))} at a time, not {gpu.count}"
        return None


class GkeCluster(m.ManagedSpec):
    """A regional GKE Standard cluster the stack creates, with private nodes, in your VPC network."""

    type: Literal["gke"] = Field(description="Cluster provisioner.")
    project: str = Field(description="GCP project ID.", pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
    region: gcp_settings.Region = Field(description="GCP region, e.g. europe-west1.")

    network: str = Field(pattern=r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", description="VPC network of the nodes.")
    subnetwork: str = Field(
        pattern=r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$",
        description="Subnetwork of the nodes, in the region (pods and services get secondary ranges GKE makes).",
    )
    version: str = m.version_field("gke")
    pools: list[GkePool] = Field(default_factory=list, description="More node pools: GPU, spot, larger machines.")


def kubeconfig(context: str, endpoint: str, ca_data: str) -> str:
    extra = {
        "provideClusterInfo": True,
        "installHint": "install gke-gcloud-auth-plugin: `gcloud components install gke-gcloud-auth-plugin`",
    }
    return m.kubeconfig(context, f"https://{endpoint}", ca_data, "gke-gcloud-auth-plugin", [], extra)


class Gke(m.ManagedProvisioner):
    type = "gke"
    spec = GkeCluster
    summary = "a GKE Standard cluster mlstack creates (private nodes, GPU pools, Workload Identity)"
    plugins = ("kubernetes", "gcp")
    cloud_target = "gcp"
    cloud = "gcp"
    price_prefix = "gcp"
    exec_tool = "gke-gcloud-auth-plugin"
    exec_hint = "`gcloud components install gke-gcloud-auth-plugin` (the kubeconfig's credential plugin)"
    default_machine = "e2-standard-4"
    builder = "mlstack.components.kubernetes.cloud.gke:build"
    DRIFT_IGNORES: ClassVar[dict[str, tuple[str, ...]]] = {
        NODE_POOL: ("nodeCount", "instanceGroupUrls", "managedInstanceGroupUrls"),
        gcp_settings.SQL_INSTANCE: (gcp_settings.DISK_SIZE,),  # Cloud SQL grows its disk itself
    }
    STORAGE_TYPES = (
        "gcp:storage/bucket:Bucket",
        "gcp:artifactregistry/repository:Repository",
        "gcp:sql/databaseInstance:DatabaseInstance",
    )
    IP_BLOCKS = METADATA_SERVER
    # Cloud SQL for PostgreSQL in the cluster's network (private services access), reached on its private address
    DATABASE = (gcp_settings.SQL_INSTANCE, r"^db-[a-z0-9-]+$", "db-custom-1-3840")
    deletes_data = (
        f"{m.ManagedProvisioner.deletes_data}; and with tracking's `database: managed`, its Cloud SQL instance with "
        "the runs (Cloud SQL keeps a final backup for 30 days)"
    )
    database_address = "privateIpAddress"
    # the stack's own buckets, repositories and database (the gcs and artifact_registry flavors, tracking's managed
    # database), held to the gcp target's rules
    STORAGE_RULES = (
        "buckets_are_uniform_private_and_versioned",
        "artifact_registries_are_immutable_and_scanned",
        "managed_databases_are_private_and_tls_only",
    )
    RULES: ClassVar[tuple[Any, ...]] = ()

    def offline_attributes(self, typ: str, name: str, inputs: dict[str, Any], placement: Any) -> dict[str, Any]:
        from mlstack.components.gcp import offline

        spec = placement.cluster
        if typ == CLUSTER:
            return {"endpoint": "192.0.2.10", "masterAuth": {"clusterCaCertificate": m.PLACEHOLDER_CA}}
        if typ == "gcp:kms/keyRing:KeyRing":
            return {"id": f"projects/{spec.project}/locations/{spec.region}/keyRings/{inputs.get('name')}"}
        if typ == KEY:
            return {"id": f"{inputs.get('keyRing')}/cryptoKeys/{inputs.get('name')}"}
        if typ == "gcp:serviceaccount/account:Account":
            email = f"{inputs.get('accountId')}@{spec.project}.iam.gserviceaccount.com"
            return {
                "email": email,
                "member": f"serviceAccount:{email}",
                "name": f"projects/{spec.project}/serviceAccounts/{email}",
            }
        return offline.attributes(typ, name, inputs, spec)

    def offline_call(self, placement: Any, token: str, args: dict[str, Any]) -> dict[str, Any]:
        """The project (its number) and the engine versions of the recipe's minor (a plan's stand-in patch)."""
        version = f"{placement.cluster.version}.{PATCH}"
        return {
            "number": PROJECT_NUMBER,
            "projectId": placement.cluster.project,
            "latestMasterVersion": version,
            "latestNodeVersion": version,
        }


PROVISIONER = Gke()


# The policy suite's rules for a gke cluster (components/kubernetes/policy.py runs those of the recipe's cluster).
def _cluster(plan: Any) -> Any:
    found = plan.of_type(CLUSTER)
    require(len(found) == 1, f"the plan has {len(found)} GKE clusters, not one")
    return found[0]


def endpoint_is_private_or_allow_listed(plan: Any, recipe: Any) -> None:
    inputs = _cluster(plan).inputs
    private = inputs.get("privateClusterConfig") or {}
    require(private.get("enablePrivateNodes") is True, "nodes have public addresses")
    networks = inputs.get("masterAuthorizedNetworksConfig")
    require(networks is not None, "no authorized networks: the endpoint takes every address")
    require(networks.get("gcpPublicCidrsAccessEnabled") is False, "every Google Cloud address reaches the endpoint")
    cidrs = [c["cidrBlock"] for c in networks.get("cidrBlocks") or []]
    require(cidrs, "an endpoint without authorized networks")
    m.allow_list(cidrs, "the API endpoint")
    require(networks.get("privateEndpointEnforcementEnabled") is True, "the private endpoint takes any address")


def secrets_are_encrypted_with_kms(plan: Any, recipe: Any) -> None:
    encryption = _cluster(plan).inputs.get("databaseEncryption") or {}
    require(encryption.get("state") == "ENCRYPTED" and encryption.get("keyName"), "secrets are not KMS-encrypted")
    for key in plan.of_type(KEY):
        require(key.inputs.get("rotationPeriod"), f"{key.name}: key rotation is off")


def version_is_pinned_and_logged(plan: Any, recipe: Any) -> None:
    inputs = _cluster(plan).inputs
    version = inputs.get("minMasterVersion")
    minor = recipe.target.cluster.version
    require(str(version).startswith(f"{minor}."), f"the version {version} is not of the recipe's {minor}")
    require((inputs.get("releaseChannel") or {}).get("channel") == "UNSPECIFIED", "a release channel upgrades it")
    logs = set((inputs.get("loggingConfig") or {}).get("enableComponents") or [])
    require(logs >= set(LOGS), f"control plane logs missing: {sorted(set(LOGS) - logs)}")
    require(inputs.get("enableLegacyAbac") is False, "legacy ABAC is on")
    for pool in plan.of_type(NODE_POOL):
        require(pool.inputs.get("version") == version, f"{pool.name}: version not pinned")
        require((pool.inputs.get("management") or {}).get("autoUpgrade") is False, f"{pool.name}: auto-upgraded")


def network_policies_are_enforced(plan: Any, recipe: Any) -> None:
    require(_cluster(plan).inputs.get("datapathProvider") == "ADVANCED_DATAPATH", "NetworkPolicies not enforced")


def nodes_use_workload_identity(plan: Any, recipe: Any) -> None:
    pool_id = (_cluster(plan).inputs.get("workloadIdentityConfig") or {}).get("workloadPool", "")
    require(pool_id.endswith(".svc.id.goog"), "Workload Identity is off")
    for pool in plan.of_type(NODE_POOL):
        config = pool.inputs.get("nodeConfig") or {}
        require((config.get("workloadMetadataConfig") or {}).get("mode") == "GKE_METADATA", f"{pool.name}: node SA")
        require(config.get("serviceAccount"), f"{pool.name}: runs as the default compute service account")
        require((config.get("shieldedInstanceConfig") or {}).get("enableSecureBoot"), f"{pool.name}: no secure boot")
    for member in plan.of_type("gcp:projects/iAMMember:IAMMember"):
        require(member.inputs.get("role") in NODE_ROLES, f"{member.name}: grants {member.inputs.get('role')}")
    require(not plan.of_type("gcp:serviceaccount/key:Key"), "the plan creates service account keys")


def workload_identities_are_one_account_each_and_scoped(plan: Any, recipe: Any) -> None:
    """A Kubernetes service account acts as a Google service account the stack creates, which that account alone,
    of the stack's namespace, may act as; those Google accounts hold objectUser (and the bucket's metadata) on the
    stack's buckets and nothing else, and only the nodes' account reads the stack's repositories."""
    accounts = {a.inputs["email"]: a for a in plan.of_type("gcp:serviceaccount/account:Account")}
    users: dict[str, list[str]] = {}
    for member in plan.of_type("gcp:serviceaccount/iAMMember:IAMMember"):
        require(member.inputs.get("role") == WI_ROLE, f"{member.name}: grants {member.inputs.get('role')}")
        users.setdefault(str(member.inputs.get("serviceAccountId")), []).append(str(member.inputs.get("member")))
    pool = (_cluster(plan).inputs.get("workloadIdentityConfig") or {}).get("workloadPool", "")
    bound: set[str] = set()
    for sa in plan.of_type("kubernetes:core/v1:ServiceAccount"):
        meta = sa.inputs.get("metadata") or {}
        email = (meta.get("annotations") or {}).get(WI_ANNOTATION)
        if email is None:
            continue
        require(email in accounts, f"{sa.name}: acts as {email}, an account the stack does not create")
        expected = [f"serviceAccount:{pool}[{meta.get('namespace')}/{meta.get('name')}]"]
        found = users.get(accounts[email].inputs.get("name"), [])
        require(found == expected, f"{sa.name}: {email} may be acted as by {', '.join(found) or 'nobody'}")
        bound.add(f"serviceAccount:{email}")
    require(
        set(users)
        <= {a.inputs.get("name") for a in accounts.values() if f"serviceAccount:{a.inputs['email']}" in bound},
        f"acted as, yet no service account of the stack's acts as it: {sorted(users)}",
    )
    buckets = {b.inputs["name"] for b in plan.of_type("gcp:storage/bucket:Bucket")}
    for grant in plan.of_type("gcp:storage/bucketIAMMember:BucketIAMMember"):
        i = grant.inputs
        require(i.get("role") in (BUCKET_ROLE, BUCKET_READER), f"{grant.name}: {i.get('role')}")
        require(i.get("member") in bound, f"{grant.name}: to {i.get('member')}, not a bound service account")
        require(i.get("bucket") in buckets, f"{grant.name}: {i.get('bucket')} is not one of the stack's buckets")
    nodes = {str(p.inputs.get("nodeConfig", {}).get("serviceAccount")) for p in plan.of_type(NODE_POOL)}
    for grant in plan.of_type("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"):
        i = grant.inputs
        require(i.get("role") == PULL_ROLE, f"{grant.name}: {i.get('role')}")
        require(str(i.get("member")).removeprefix("serviceAccount:") in nodes, f"{grant.name}: to {i.get('member')}")


def gpu_pools_are_tainted(plan: Any, recipe: Any) -> None:
    for pool in plan.of_type(NODE_POOL):
        config = pool.inputs.get("nodeConfig") or {}
        gpu = bool(config.get("guestAccelerators")) or config.get("machineType") in GPU_MACHINES
        if gpu:
            require(TAINT in (config.get("taints") or []), f"{pool.name}: GPU nodes are not tainted")


Gke.RULES = (
    workload_identities_are_one_account_each_and_scoped,
    endpoint_is_private_or_allow_listed,
    secrets_are_encrypted_with_kms,
    version_is_pinned_and_logged,
    network_policies_are_enforced,
    nodes_use_workload_identity,
    gpu_pools_are_tainted,
)
