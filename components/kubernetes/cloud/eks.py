"""The resources of a `eks` cluster (components/kubernetes/clusters/eks.py declares it)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pulumi
import pulumi_aws as aws

from mlstack.components.aws.object_store import AwsObjectStore
from mlstack.components.aws.registry import AwsRegistry
from mlstack.components.context import ComponentArgs
from mlstack.components.kubernetes.clusters import _managed as m
from mlstack.components.kubernetes.clusters.eks import (
    ACCELERATOR_LABEL,
    ARM,
    AUTOSCALER,
    BUCKET_ACTIONS,
    EBS_CSI,
    EBS_POLICY,
    IRSA_ANNOTATION,
    KMS_ACTIONS,
    LOG_TYPES,
    MANAGED_POLICY,
    NODE_POLICIES,
    OBJECT_ACTIONS,
    STORAGE_CLASS,
    TAINT,
    Eks,
    EksCluster,
    autoscaler_policy,
    kubeconfig,
)


def build(self: Eks, stack: str, placement: Any, tags: dict[str, str]) -> m.ClusterAccess:
    """The cluster's resources under the stack's own aws provider (the recipe's region, the stack's tags)."""

    spec: EksCluster = placement.cluster
    provider = aws.Provider("aws", region=spec.region, profile=spec.profile, default_tags={"tags": tags})
    opts = pulumi.ResourceOptions(provider=provider)
    key = aws.kms.Key(
        "cluster-secrets",
        description=f"Envelope encryption of the Kubernetes secrets of EKS cluster {stack}",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        tags=tags,
        opts=opts,
    )
    cluster_role = _role("cluster-role", "eks.amazonaws.com", ("AmazonEKSClusterPolicy",), tags, opts)
    logs = aws.cloudwatch.LogGroup(  # EKS writes here; made first, so its retention is ours
        "cluster-logs",
        name=f"/aws/eks/{stack}/cluster",
        retention_in_days=spec.log_retention_days,
        tags=tags,
        opts=opts,
    )
    public = spec.endpoint.public
    vpc: aws.eks.ClusterVpcConfigArgsDict = {
        "subnet_ids": spec.subnet_ids,
        "endpoint_private_access": True,
        "endpoint_public_access": public,
    }
    if public:
        vpc["public_access_cidrs"] = spec.endpoint.allowed_cidrs
    encryption: aws.eks.ClusterEncryptionConfigArgsDict = {"provider": {"key_arn": key.arn}, "resources": ["secrets"]}
    cluster = aws.eks.Cluster(
        "cluster",
        name=stack,
        version=spec.version,
        role_arn=cluster_role[0].arn,
        vpc_config=vpc,
        encryption_config=encryption,
        enabled_cluster_log_types=list(LOG_TYPES),
        access_config={"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": True},
        upgrade_policy={"support_type": "STANDARD"},  # no silent extended-support charges
        tags=tags,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[logs, *cluster_role])),
    )
    if not public:  # the private endpoint: only the recipe's networks reach it through the VPC (a VPN, a peering)
        for i, cidr in enumerate(spec.endpoint.allowed_cidrs):
            aws.vpc.SecurityGroupIngressRule(
                f"api-from-{i}",
                security_group_id=cluster.vpc_config.cluster_security_group_id,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                **({"cidr_ipv6": cidr} if ":" in cidr else {"cidr_ipv4": cidr}),
                description="The Kubernetes API, from a network the recipe allows",
                tags=tags,
                opts=opts,
            )
    issuer = cluster.identities.apply(lambda ids: ids[0]["oidcs"][0]["issuer"] if ids else "")
    oidc = aws.iam.OpenIdConnectProvider(
        "oidc", url=issuer, client_id_lists=["sts.amazonaws.com"], tags=tags, opts=opts
    )
    node_role = _role("node-role", "ec2.amazonaws.com", NODE_POLICIES, tags, opts)
    # the stack's NetworkPolicies are its firewall: EKS' VPC CNI enforces them only when told to
    cni = aws.eks.Addon(
        "vpc-cni",
        cluster_name=cluster.name,
        addon_name="vpc-cni",
        configuration_values=json.dumps({"enableNetworkPolicy": "true"}),
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="OVERWRITE",
        tags=tags,
        opts=opts,
    )
    groups = [_node_group(pool, cluster, node_role, spec, tags, opts) for pool in self.pools(placement).values()]
    # Volumes: EKS ships no CSI driver and no default StorageClass. The EBS CSI driver's controller reaches EC2 by
    # IRSA (a role only its service account may assume), and the stack's volumes are encrypted gp3.
    ebs_role = _irsa_role("ebs-csi-role", oidc, issuer, EBS_CSI, (EBS_POLICY,), tags, opts)
    ebs = aws.eks.Addon(
        "aws-ebs-csi-driver",
        cluster_name=cluster.name,
        addon_name="aws-ebs-csi-driver",
        service_account_role_arn=ebs_role[0].arn,
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="OVERWRITE",
        tags=tags,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[*groups, *ebs_role])),
    )
    config = pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority).apply(
        lambda v: kubeconfig(
            self.context(stack, placement) or stack, v[0], v[1], v[2]["data"], spec.region, spec.profile
        )
    )
    storage = {
        "metadata": {"name": STORAGE_CLASS},
        "provisioner": "ebs.csi.aws.com",
        "parameters": {"type": "gp3", "encrypted": "true"},
        "reclaim_policy": "Delete",
        "volume_binding_mode": "WaitForFirstConsumer",  # in the zone of the node its pod runs on
        "allow_volume_expansion": True,
    }
    cloud = EksCloud(provider, oidc, issuer, spec, tags, cluster)
    # the cluster autoscaler's role: only its service account may assume it, and it scales this cluster's groups
    autoscaler_role = _irsa_role("autoscaler-role", oidc, issuer, AUTOSCALER, (), tags, opts)
    autoscaler_policy_resource = aws.iam.RolePolicy(
        "autoscaler-role-policy",
        role=autoscaler_role[0].id,
        policy=cluster.name.apply(autoscaler_policy),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(parent=autoscaler_role[0])),
    )

    def in_cluster(k8s_opts: pulumi.ResourceOptions) -> None:
        from mlstack.components.kubernetes import autoscaler

        annotations = {IRSA_ANNOTATION: autoscaler_role[0].arn}
        # the autoscaler starts once its role may act (else it crash-loops until IAM has the policy)
        after = pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[autoscaler_policy_resource]))
        autoscaler.deploy(stack, stack, spec.region, annotations, after)

    return m.ClusterAccess(config, [cni, ebs, *groups], issuer, storage, cloud, in_cluster)


@dataclasses.dataclass(frozen=True)
class EksCloud:
    """The stack's S3 buckets, ECR repositories and RDS database beside its EKS cluster, under the same aws
    provider. Pods reach the buckets by IRSA: each service account that needs them gets a role only it may assume,
    allowed exactly the object verbs on the stack's buckets. Nodes pull the repositories with their role
    (AmazonEC2ContainerRegistryPullOnly): no pull Secret."""

    provider: Any
    oidc: Any
    issuer: Any
    spec: EksCluster
    tags: dict[str, str]
    cluster: Any

    def _opts(self, parent: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=parent, providers={"aws": self.provider})

    def object_store(self, name: str, settings: Any, context: Any, parent: Any) -> tuple[Any, Any]:
        # the aws target's own component: the same buckets, rules and names, in the cluster's region
        args: ComponentArgs[Any, None] = ComponentArgs(settings, dataclasses.replace(context, placement=self.spec))
        store = AwsObjectStore(f"{name}-s3", args, self._opts(parent))
        kms = settings.kms_key_arn
        outputs = dataclasses.replace(
            store.outputs, identity=lambda *a: self.bind(*a, buckets=store.outputs.buckets, kms_key=kms)
        )
        return outputs, store.client

    def registry(self, name: str, settings: Any, context: Any, parent: Any) -> tuple[Any, Any]:
        args: ComponentArgs[Any, None] = ComponentArgs(settings, dataclasses.replace(context, placement=self.spec))
        registry = AwsRegistry(f"{name}-ecr", args, self._opts(parent))
        return registry.outputs, registry.client

    def database(self, name: str, settings: Any, context: Any, parent: Any, password: Any) -> Any:
        """MLflow's RDS for PostgreSQL, the aws target's own, in the cluster's subnets: its security group admits
        5432 from the cluster's security group alone (the nodes' and so the pods' traffic: managed node groups carry
        it), and MLflow's egress reaches the subnets' address ranges on 5432 (an RDS address is a name, its IP the
        service's to choose in them), with TLS and the generated password."""
        from mlstack.components.aws.tracking import DEFAULT_TIER, rds_postgres
        from mlstack.components.outputs import CloudDatabase

        opts = self._opts(parent)
        vpc = self.cluster.vpc_config
        group = aws.ec2.SecurityGroup(
            f"{name}-database",
            vpc_id=vpc.vpc_id,
            description=f"mlstack {context.stack}: MLflow database, from the cluster",
            tags={**self.tags, "Name": f"{context.stack}-{name}-db"},
            opts=opts,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-db-from-cluster",
            security_group_id=group.id,
            ip_protocol="tcp",
            from_port=5432,
            to_port=5432,
            referenced_security_group_id=vpc.cluster_security_group_id,
            description="PostgreSQL from the cluster nodes and pods",
            tags=self.tags,
            opts=pulumi.ResourceOptions(parent=group, provider=self.provider),
        )
        instance = rds_postgres(
            name,
            context.stack,
            self.spec.subnet_ids,
            [group.id],
            tier=settings.database_tier or DEFAULT_TIER,
            storage_gb=settings.database_storage_gb,
            password=password,
            tags=self.tags,
            opts=opts,
        )
        invoke = pulumi.InvokeOptions(provider=self.provider)
        ranges = [aws.ec2.get_subnet_output(id=s, opts=invoke).cidr_block for s in self.spec.subnet_ids]
        return CloudDatabase(instance.address, tuple((r, 5432) for r in ranges), (instance,))

    def bind(self, name: str, namespace: str, account: str, parent: Any, *, buckets: Any, kms_key: str | None) -> Any:
        """An IRSA role for the service account `account` of `namespace` alone, allowed the object verbs on
        `buckets` (and the use of their KMS key, where the recipe names one); the account's annotation names it."""
        from mlstack.components.outputs import WorkloadIdentity

        opts = pulumi.ResourceOptions(parent=parent, provider=self.provider)
        role = aws.iam.Role(
            f"{name}-identity",
            assume_role_policy=pulumi.Output.all(self.oidc.arn, self.issuer).apply(
                lambda a: irsa_trust(a[0], a[1], (namespace, account))
            ),
            tags=self.tags,
            opts=opts,
        )
        aws.iam.RolePolicy(
            f"{name}-identity-buckets",
            role=role.id,
            policy=pulumi.Output.all(*[b.arn for b in buckets]).apply(lambda arns: bucket_access(arns, kms_key)),
            opts=pulumi.ResourceOptions(parent=role, provider=self.provider),
        )
        region = {"AWS_REGION": self.spec.region, "AWS_DEFAULT_REGION": self.spec.region}
        return WorkloadIdentity({IRSA_ANNOTATION: role.arn}, env={**region, "AWS_STS_REGIONAL_ENDPOINTS": "regional"})


def bucket_access(bucket_arns: list[str], kms_key: str | None) -> str:
    """Listing and the object verbs on these buckets, nothing else (and their KMS key's data-key verbs)."""
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": list(BUCKET_ACTIONS), "Resource": list(bucket_arns)},
        {"Effect": "Allow", "Action": list(OBJECT_ACTIONS), "Resource": [f"{arn}/*" for arn in bucket_arns]},
    ]
    if kms_key:
        statements.append({"Effect": "Allow", "Action": list(KMS_ACTIONS), "Resource": [kms_key]})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def irsa_trust(provider_arn: str, url: str, account: tuple[str, str]) -> str:
    """Only the Kubernetes service account `account` (namespace, name) of this cluster may assume the role."""
    host = url.removeprefix("https://")
    condition = {
        f"{host}:sub": f"system:serviceaccount:{account[0]}:{account[1]}",
        f"{host}:aud": "sts.amazonaws.com",
    }
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": condition},
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _irsa_role(
    name: str,
    oidc: Any,
    issuer: Any,
    account: tuple[str, str],
    policies: tuple[str, ...],
    tags: dict[str, str],
    opts: Any,
) -> list[Any]:
    """A role only the Kubernetes service account `account` (namespace, name) of this cluster may assume (IRSA),
    with AWS's managed `policies`."""
    trust = pulumi.Output.all(oidc.arn, issuer).apply(lambda a: irsa_trust(a[0], a[1], account))
    role = aws.iam.Role(name, assume_role_policy=trust, tags=tags, opts=opts)
    child = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(parent=role))
    attached = [
        aws.iam.RolePolicyAttachment(
            f"{name}-{p.rsplit('/', 1)[-1]}", role=role.name, policy_arn=MANAGED_POLICY + p, opts=child
        )
        for p in policies
    ]
    return [role, *attached]


def _role(name: str, service: str, policies: tuple[str, ...], tags: dict[str, str], opts: Any) -> list[Any]:
    """A role only `service` may assume, with AWS's managed policies that EKS documents for it (nothing else)."""

    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
        ],
    }
    role = aws.iam.Role(name, assume_role_policy=json.dumps(trust), tags=tags, opts=opts)
    child = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(parent=role))
    attached = [
        aws.iam.RolePolicyAttachment(f"{name}-{p}", role=role.name, policy_arn=MANAGED_POLICY + p, opts=child)
        for p in policies
    ]
    return [role, *attached]


def _node_group(pool: m.Pool, cluster: Any, role: list[Any], spec: EksCluster, tags: dict[str, str], opts: Any) -> Any:

    arm = bool(ARM.match(pool.machine_type))
    ami = (
        "AL2023_ARM_64_NVIDIA"
        if arm and pool.gpu
        else "AL2023_x86_64_NVIDIA"
        if pool.gpu
        else ("AL2023_ARM_64_STANDARD" if arm else "AL2023_x86_64_STANDARD")
    )
    return aws.eks.NodeGroup(
        f"pool-{pool.name}",
        cluster_name=cluster.name,
        node_group_name=pool.name,
        node_role_arn=role[0].arn,
        subnet_ids=spec.subnet_ids,
        version=spec.version,
        instance_types=[pool.machine_type],
        ami_type=ami,
        capacity_type="SPOT" if pool.spot else "ON_DEMAND",
        disk_size=pool.disk_gb,
        scaling_config={"min_size": pool.min, "max_size": pool.max, "desired_size": pool.min},
        # the autoscaler knows a GPU node by this label: without it, it counts the node ready before the device plugin
        # advertises its GPUs (and adds another), and scales it down by CPU and memory
        labels={m.POOL_LABEL: pool.name, **pool.labels, **({ACCELERATOR_LABEL: pool.gpu.type} if pool.gpu else {})},
        taints=[{"key": TAINT["key"], "value": TAINT["value"], "effect": TAINT["effect"]}] if pool.gpu else [],
        update_config={"max_unavailable": 1},
        tags=tags,
        # the cluster autoscaler moves desiredSize between min and max: a deploy must not reset it
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=role, ignore_changes=["scalingConfig.desiredSize"])
        ),
    )
