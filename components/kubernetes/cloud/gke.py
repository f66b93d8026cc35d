"""The resources of a `gke` cluster (components/kubernetes/clusters/gke.py declares it)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi
import pulumi_gcp as gcp

from mlstack.components.context import ComponentArgs
from mlstack.components.gcp.identity import account_id
from mlstack.components.gcp.object_store import GcpObjectStore
from mlstack.components.gcp.registry import GcpRegistry
from mlstack.components.generated import GeneratedSecret
from mlstack.components.kubernetes.clusters import _managed as m
from mlstack.components.kubernetes.clusters.gke import (
    BUCKET_READER,
    BUCKET_ROLE,
    LOGS,
    METADATA_SERVER,
    NODE_ROLES,
    PULL_ROLE,
    TAINT,
    WI_ANNOTATION,
    WI_ROLE,
    Gke,
    GkeCluster,
    kubeconfig,
)


def build(self: Gke, stack: str, placement: Any, tags: dict[str, str]) -> m.ClusterAccess:

    spec: GkeCluster = placement.cluster
    provider = gcp.Provider("gcp", project=spec.project, region=spec.region, default_labels=tags)
    opts = pulumi.ResourceOptions(provider=provider)
    # A key ring outlives its destroy (Cloud KMS deletes none): a name of its own per deployment, so that the stack
    # can be deployed again after a destroy
    suffix = GeneratedSecret("cluster-keyring-suffix", nbytes=16, secret=False, opts=opts).value
    ring = gcp.kms.KeyRing(
        "cluster-keyring", name=suffix.apply(lambda x: f"{stack}-{x}"[:63]), location=spec.region, opts=opts
    )
    key = gcp.kms.CryptoKey(
        "cluster-secrets", name="secrets", key_ring=ring.id, rotation_period="7776000s", labels=tags, opts=opts
    )
    number = gcp.organizations.get_project_output(
        project_id=spec.project, opts=pulumi.InvokeOutputOptions(provider=provider)
    ).number
    grant = gcp.kms.CryptoKeyIAMMember(  # GKE's service agent encrypts and decrypts the secrets with it
        "cluster-secrets-gke",
        crypto_key_id=key.id,
        role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
        member=number.apply(lambda n: f"serviceAccount:service-{n}@container-engine-robot.iam.gserviceaccount.com"),
        opts=opts,
    )
    nodes = gcp.serviceaccount.Account(
        "nodes", account_id=f"{stack[:24]}-nodes", display_name=f"Nodes of GKE cluster {stack}", opts=opts
    )
    roles = [
        gcp.projects.IAMMember(
            f"nodes-{role.split('.')[-1]}", project=spec.project, role=role, member=nodes.member, opts=opts
        )
        for role in NODE_ROLES
    ]
    public = spec.endpoint.public
    # the recipe's minor version, at its newest patch here: a bare "1.35" makes the provider see a diff on every up
    versions = gcp.container.get_engine_versions_output(
        project=spec.project,
        location=spec.region,
        version_prefix=f"{spec.version}.",
        opts=pulumi.InvokeOutputOptions(provider=provider),
    )
    cluster = gcp.container.Cluster(
        "cluster",
        name=stack,
        location=spec.region,
        network=spec.network,
        subnetwork=spec.subnetwork,
        min_master_version=versions.latest_master_version,
        release_channel={"channel": "UNSPECIFIED"},  # the version is the recipe's: no channel upgrades it
        remove_default_node_pool=True,
        initial_node_count=1,
        deletion_protection=False,  # a destroy of a stack on it asks for --purge instead
        networking_mode="VPC_NATIVE",
        ip_allocation_policy={},
        datapath_provider="ADVANCED_DATAPATH",
        private_cluster_config={"enable_private_nodes": True, "enable_private_endpoint": not public},
        master_authorized_networks_config={
            "cidr_blocks": [{"cidr_block": c, "display_name": "recipe"} for c in spec.endpoint.allowed_cidrs],
            "gcp_public_cidrs_access_enabled": False,
            "private_endpoint_enforcement_enabled": True,  # the private endpoint too: the recipe's networks only
        },
        database_encryption={"state": "ENCRYPTED", "key_name": key.id},
        workload_identity_config={"workload_pool": f"{spec.project}.svc.id.goog"},
        logging_config={"enable_components": list(LOGS)},
        enable_shielded_nodes=True,
        enable_legacy_abac=False,
        resource_labels=tags,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[grant])),
    )
    pools = [
        _node_pool(p, cluster, nodes, spec, versions.latest_node_version, tags, roles, opts)
        for p in self.pools(placement).values()
    ]
    config = pulumi.Output.all(cluster.endpoint, cluster.master_auth).apply(
        lambda v: kubeconfig(self.context(stack, placement) or stack, v[0], v[1]["cluster_ca_certificate"])
    )
    issuer = pulumi.Output.concat(
        "https://container.googleapis.com/v1/projects/",
        spec.project,
        "/locations/",
        spec.region,
        "/clusters/",
        cluster.name,
    )
    return m.ClusterAccess(config, pools, issuer, cloud=GkeCloud(provider, nodes, cluster, spec, stack))


@dataclasses.dataclass(frozen=True)
class GkeCloud:
    """The stack's GCS buckets and Artifact Registry repositories beside its GKE cluster, under the same gcp
    provider. Pods reach the buckets by Workload Identity: each Kubernetes service account that needs them gets a
    Google service account of its own, which only that account may act as (roles/iam.workloadIdentityUser on it,
    for that one member of the cluster's pool), granted objectUser on the stack's buckets alone. The nodes' service
    account reads the stack's repositories (artifactregistry.reader on each): no pull Secret."""

    provider: Any
    nodes: Any
    cluster: Any  # its Workload Identity pool exists once the cluster does: the bindings name it, and so wait
    spec: GkeCluster
    stack: str

    def _args(self, settings: Any, context: Any) -> ComponentArgs[Any, None]:
        return ComponentArgs(settings, dataclasses.replace(context, placement=self.spec))

    def _opts(self, parent: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=parent, providers={"gcp": self.provider})

    def object_store(self, name: str, settings: Any, context: Any, parent: Any) -> tuple[Any, Any]:
        store = GcpObjectStore(f"{name}-gcs", self._args(settings, context), self._opts(parent))
        outputs = dataclasses.replace(store.outputs, identity=lambda *a: self.bind(*a, buckets=store.outputs.buckets))
        return outputs, store.client

    def registry(self, name: str, settings: Any, context: Any, parent: Any) -> tuple[Any, Any]:
        registry = GcpRegistry(f"{name}-artifact-registry", self._args(settings, context), self._opts(parent))
        for repo in registry.outputs.repositories:
            gcp.artifactregistry.RepositoryIamMember(
                f"{name}-{repo.key}-nodes",
                repository=repo.name,
                location=self.spec.region,
                project=self.spec.project,
                role=PULL_ROLE,
                member=self.nodes.member,
                opts=pulumi.ResourceOptions(parent=registry, provider=self.provider),
            )
        return registry.outputs, registry.client

    def database(self, name: str, settings: Any, context: Any, parent: Any, password: Any) -> Any:
        """MLflow's Cloud SQL for PostgreSQL, the gcp target's own, in the cluster's network: the pods reach its
        private address over the network's private services access (peered, so VPC-native pods route to it), with
        TLS and the generated password; nothing else of the instance is exposed."""
        from mlstack.components.gcp.tracking import DEFAULT_TIER, cloud_sql_postgres, network_path
        from mlstack.components.outputs import CloudDatabase

        instance, address, parts = cloud_sql_postgres(
            name,
            self.stack,
            self.spec.project,
            self.spec.region,
            network_path(self.spec.project, self.spec.network),
            tier=settings.database_tier or DEFAULT_TIER,
            storage_gb=settings.database_storage_gb,
            password=password,
            labels=context.tags,
            opts=pulumi.ResourceOptions(parent=parent, provider=self.provider),
        )
        return CloudDatabase(address, ((address.apply(lambda a: f"{a}/32"), 5432),), (instance, *parts))

    def bind(self, name: str, namespace: str, account: str, parent: Any, *, buckets: Any) -> Any:
        from mlstack.components.outputs import WorkloadIdentity

        opts = pulumi.ResourceOptions(parent=parent, provider=self.provider)
        identity = gcp.serviceaccount.Account(
            f"{name}-identity",
            account_id=account_id(self.stack, account),
            project=self.spec.project,
            display_name=f"mlstack {self.stack}: {account}"[:100],  # IAM takes 100 bytes; the names are ASCII
            opts=opts,
        )
        child = pulumi.ResourceOptions(parent=identity, provider=self.provider)
        gcp.serviceaccount.IAMMember(
            f"{name}-identity-user",
            service_account_id=identity.name,
            role=WI_ROLE,
            member=self.cluster.workload_identity_config.apply(
                lambda c: f"serviceAccount:{_pool(c)}[{namespace}/{account}]"
            ),
            opts=child,
        )
        for bucket in buckets:  # its objects; and the bucket's metadata, which gcsfs (ZenML) reads before writing
            for role, part in ((BUCKET_ROLE, ""), (BUCKET_READER, "-bucket")):
                gcp.storage.BucketIAMMember(
                    f"{name}-identity-{bucket.key}{part}",
                    bucket=bucket.name,
                    role=role,
                    member=identity.member,
                    opts=child,
                )
        return WorkloadIdentity({WI_ANNOTATION: identity.email}, ip_blocks=METADATA_SERVER)


def _pool(config: Any) -> str:
    """The cluster's Workload Identity pool (typed, or as a plan's mocks give it)."""
    return str(config["workload_pool"] if isinstance(config, dict) else config.workload_pool)


def _node_pool(
    pool: m.Pool,
    cluster: Any,
    nodes: Any,
    spec: GkeCluster,
    version: Any,
    tags: dict[str, str],
    roles: list[Any],
    opts: Any,
) -> Any:

    gpu = pool.gpu
    config: gcp.container.NodePoolNodeConfigArgsDict = {
        "machine_type": pool.machine_type,
        "disk_size_gb": pool.disk_gb,
        "image_type": "COS_CONTAINERD",
        "spot": pool.spot,
        "service_account": nodes.email,
        "oauth_scopes": ["https://www.googleapis.com/auth/cloud-platform"],  # IAM roles are what limits it
        "workload_metadata_config": {"mode": "GKE_METADATA"},  # pods see Workload Identity, not the node's
        "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
        "labels": {m.POOL_LABEL: pool.name, **pool.labels},
        "resource_labels": tags,
    }
    if gpu:
        config["taints"] = [{"key": TAINT["key"], "value": TAINT["value"], "effect": TAINT["effect"]}]
        config["guest_accelerators"] = [
            {"type": gpu.type, "count": gpu.count, "gpu_driver_installation_config": {"gpu_driver_version": "DEFAULT"}}
        ]
    return gcp.container.NodePool(
        f"pool-{pool.name}",
        name=pool.name,
        cluster=cluster.id,
        location=spec.region,
        version=version,
        autoscaling={"total_min_node_count": pool.min, "total_max_node_count": pool.max, "location_policy": "ANY"},
        management={"auto_repair": True, "auto_upgrade": False},  # upgraded with the recipe's version
        node_config=config,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=roles)),
    )
