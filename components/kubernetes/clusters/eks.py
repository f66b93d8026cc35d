"""The `eks` cluster provisioner: an Amazon EKS cluster the stack creates in the recipe's private subnets — API
endpoint private (or public to an allow-list), Kubernetes secrets encrypted with a KMS key of the stack's, the
control plane's logs (audit among them) in CloudWatch, the version pinned, access by EKS access entries (API mode),
an IAM OIDC provider for IRSA, and managed node groups: the system pool and the recipe's, GPU pools tainted.

IRSA, not EKS Pod Identity, is how pods will reach the stack's buckets and repositories keylessly: it needs no
agent DaemonSet on the nodes, it is the same OIDC federation GKE and AKS use, and every AWS SDK honours it."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator

from mlstack.components.aws import settings as aws_settings
from mlstack.components.kubernetes.clusters import _managed as m
from mlstack.policy import require
from mlstack.recipe import rules

CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"  # the older rule resource (inline-or-not, either way)
ACCESS_KEY = "aws:iam/accessKey:AccessKey"
MANAGED_POLICY = "arn:aws:iam::aws:policy/"
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly")
LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
ARM = re.compile(r"^[a-z]+\d+g[a-z]*\.")  # Graviton families: m7g., c7gn., t4g., g5g.
TAINT = {**m.GPU_TAINT, "effect": "NO_SCHEDULE"}  # EKS' API spells the effect its own way
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"  # a service account's: the role its pods assume (IRSA)
# What a service account's role may do on the stack's buckets: list them; read, write and delete objects (multipart
# uploads included: PutObject covers their parts, these abort and list them); use the recipe's KMS key for them
BUCKET_ACTIONS = ("s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads")
OBJECT_ACTIONS = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
)
KMS_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
# The cluster autoscaler (EKS scales a node group between its min and max only with it): its service account, and
# what its role may do (the autoscaler's AWS README: auto-discovery); it changes only the node groups of this
# cluster, by the tag EKS puts on their Auto Scaling groups
AUTOSCALER = ("kube-system", "cluster-autoscaler")
ACCELERATOR_LABEL = "k8s.amazonaws.com/accelerator"  # on GPU nodes: how the AWS autoscaler knows them
AUTOSCALER_READS = (
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
    "eks:DescribeNodegroup",
)
AUTOSCALER_WRITES = ("autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup")


def autoscaler_policy(cluster: str) -> str:
    """The autoscaler's role: describe anything (those calls take no resource), scale only this cluster's groups."""
    owned = {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}": "owned"}}
    statements = [
        {"Effect": "Allow", "Action": list(AUTOSCALER_READS), "Resource": ["*"]},
        {"Effect": "Allow", "Action": list(AUTOSCALER_WRITES), "Resource": ["*"], "Condition": owned},
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


EBS_CSI = ("kube-system", "ebs-csi-controller-sa")  # the EBS CSI driver's controller: its only IRSA binding
EBS_POLICY = "service-role/AmazonEBSCSIDriverPolicy"
STORAGE_CLASS = "mlstack-gp3"  # encrypted gp3 volumes through the EBS CSI driver (EKS has no default class)


def _sizes(family: str, accelerator: str, counts: dict[str, int]) -> m.GpuMachines:
    return {f"{family}.{size}": (accelerator, count) for size, count in counts.items()}


# EC2's NVIDIA instance types that EKS's AL2023 NVIDIA AMI supports, GPUs per size
# (https://docs.aws.amazon.com/eks/latest/userguide/ml-eks-optimized-ami.html; counts as Karpenter's instance-type
# reference lists them, generated from the EC2 API).
GPU_MACHINES: m.GpuMachines = {
    **_sizes("g4dn", "nvidia-t4", {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1,
                                    "12xlarge": 4, "metal": 8}),
    **_sizes("g5", "nvidia-a10g", {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1,
                                    "12xlarge": 4, "24xlarge": 4, "48xlarge": 8}),
    **_sizes("g6", "nvidia-l4", {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1,
                                  "12xlarge": 4, "24xlarge": 4, "48xlarge": 8}),
    **_sizes("g6e", "nvidia-l40s", {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1,
                                     "12xlarge": 4, "24xlarge": 4, "48xlarge": 8}),
    **_sizes("p3", "nvidia-v100", {"2xlarge": 1, "8xlarge": 4, "16xlarge": 8}),
    **_sizes("p3dn", "nvidia-v100", {"24xlarge": 8}),
    **_sizes("p4d", "nvidia-a100", {"24xlarge": 8}),
    **_sizes("p5", "nvidia-h100", {"4xlarge": 1, "48xlarge": 8}),
}  # fmt: skip


class EksPool(m.Pool):
    """An EKS managed node group (GPU pools: the AL2023 NVIDIA AMI, with its driver)."""

    GPU_MACHINES = GPU_MACHINES
    GPU_FAMILY = re.compile(r"^(g|gr|p)\d")  # EC2's accelerated families with GPUs
    CLOUD = "AWS"


class EksCluster(m.ManagedSpec):
    """An Amazon EKS cluster the stack creates, with managed node groups, in your VPC's private subnets."""

    type: Literal["eks"] = Field(description="Cluster provisioner.")
    region: aws_settings.Region = Field(description="AWS region, e.g. eu-west-1.")

    profile: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._-]{1,64}$",
        description="Named AWS profile (the provider's and the kubeconfig's); default: the SDK's credential chain.",
    )
    subnet_ids: Annotated[list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]], rules.Unique] = Field(
        min_length=2,
        description="Private subnets in at least two zones, with a NAT route: the control plane's network "
        "interfaces and every node go there.",
    )
    version: str = m.version_field("eks")

    @field_validator("version")
    @classmethod
    def _autoscaler_of_its_minor(cls, version: str) -> str:
        """The cluster autoscaler must be the release of the cluster's minor: mlstack pins one (versions.py)."""
        from mlstack.versions import KUBERNETES_IMAGES

        pinned = ".".join(KUBERNETES_IMAGES["cluster-autoscaler"].rsplit(":v", 1)[1].split(".")[:2])
        if version != pinned:
            raise ValueError(
                f"mlstack runs the cluster autoscaler of Kubernetes {pinned} (versions.py) on EKS; a {version} "
                f"cluster needs the autoscaler of its own minor: use {pinned}"
            )
        return version

    pools: list[EksPool] = Field(default_factory=list, description="More node groups: GPU, spot, larger machines.")
    log_retention_days: Literal[30, 60, 90, 180, 365, 731, 1827, 3653] = Field(
        default=90, description="Days CloudWatch keeps the control plane's logs."
    )


def kubeconfig(context: str, name: str, endpoint: str, ca_data: str, region: str, profile: str | None) -> str:
    env = {"env": [{"name": "AWS_PROFILE", "value": profile}]} if profile else {}
    args = ["--region", region, "eks", "get-token", "--cluster-name", name, "--output", "json"]
    return m.kubeconfig(context, endpoint, ca_data, "aws", args, env)


class Eks(m.ManagedProvisioner):
    type = "eks"
    spec = EksCluster
    summary = "an Amazon EKS cluster mlstack creates (managed node groups, GPU pools, IRSA)"
    plugins = ("kubernetes", "aws")
    device_plugin = True  # the cloud installs the NVIDIA driver, not the device plugin
    cloud_target = "aws"
    cloud = "aws"
    price_prefix = "aws"
    exec_tool = "aws"
    exec_hint = "install the AWS CLI v2 (its `aws eks get-token` is the kubeconfig's credential plugin)"
    default_machine = "m6i.xlarge"
    builder = "mlstack.components.kubernetes.cloud.eks:build"
    DRIFT_IGNORES: ClassVar[dict[str, tuple[str, ...]]] = {NODE_GROUP: ("scalingConfig.desiredSize",)}
    STORAGE_TYPES = ("aws:s3/bucket:Bucket", "aws:ecr/repository:Repository", aws_settings.RDS_INSTANCE)
    # the stack's own buckets, repositories and database (the s3 and ecr flavors, tracking's managed database), held
    # to the aws target's rules
    STORAGE_RULES = (
        "buckets_are_private_encrypted_versioned_tls_only",
        "registries_scan_on_push_and_are_immutable",
        "no_wildcard_action_on_every_resource",
        "databases_are_private_encrypted_with_generated_passwords",
    )
    # RDS for PostgreSQL in the cluster's subnets, admitting the cluster's security group alone
    DATABASE = (aws_settings.RDS_INSTANCE, aws_settings.RDS_CLASS, "db.t4g.micro")
    deletes_data = (
        f"{m.ManagedProvisioner.deletes_data}; and with tracking's `database: managed`, its RDS instance with the "
        "runs (RDS keeps a final snapshot, named after the stack)"
    )
    RULES: ClassVar[tuple[Any, ...]] = ()

    def database_blocks(self, plan: Any) -> tuple[tuple[str, int], ...]:
        """An RDS address is a name; its IP is the service's to choose in the database's subnets: MLflow reaches
        their address ranges on 5432 (as the offline plan answers them: policy rules read plans only)."""
        from mlstack.components.aws.offline import subnet_range

        return tuple((subnet_range(s), 5432) for s in sorted({s for d in database_subnets(plan).values() for s in d}))

    def offline_call(self, placement: Any, token: str, args: dict[str, Any]) -> dict[str, Any]:
        from mlstack.components.aws import offline

        return offline.call(placement.cluster, token, args)

    def storage_class(self, placement: Any) -> str | None:
        return placement.storage_class or STORAGE_CLASS

    def node_agents(self, placement: Any) -> tuple[str, ...]:
        return (*super().node_agents(placement), AUTOSCALER[1])  # EKS' node groups scale only with it

    def offline_attributes(self, typ: str, name: str, inputs: dict[str, Any], placement: Any) -> dict[str, Any]:
        from mlstack.components.aws import offline

        spec = placement.cluster
        if typ == CLUSTER:
            issuer = f"https://oidc.eks.{spec.region}.amazonaws.com/id/0123456789abcdef"
            return {
                "arn": f"arn:aws:eks:{spec.region}:{offline.ACCOUNT}:cluster/{inputs.get('name') or name}",
                "endpoint": f"https://0123456789abcdef.gr7.{spec.region}.eks.amazonaws.com",
                "certificateAuthority": {"data": m.PLACEHOLDER_CA},
                "identities": [{"oidcs": [{"issuer": issuer}]}],
                "vpcConfig": {
                    **(inputs.get("vpcConfig") or {}),
                    "vpcId": "vpc-0123456789abcdef",
                    "clusterSecurityGroupId": "sg-0123456789abcdef",
                },
            }
        if typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            host = str(inputs.get("url", "")).removeprefix("https://")
            return {"arn": f"arn:aws:iam::{offline.ACCOUNT}:oidc-provider/{host}"}
        return offline.attributes(typ, name, inputs, spec)


PROVISIONER = Eks()


# The policy suite's rules for an eks cluster (components/kubernetes/policy.py runs those of the recipe's cluster).
def _cluster(plan: Any) -> Any:
    found = plan.of_type(CLUSTER)
    require(len(found) == 1, f"the plan has {len(found)} EKS clusters, not one")
    return found[0]


def endpoint_is_private_or_allow_listed(plan: Any, recipe: Any) -> None:
    vpc = _cluster(plan).inputs.get("vpcConfig") or {}
    require(vpc.get("endpointPrivateAccess") is True, "the API server is not reachable from the cluster's VPC")
    if vpc.get("endpointPublicAccess") is not False:
        cidrs = vpc.get("publicAccessCidrs") or []
        require(cidrs, "a public API endpoint without publicAccessCidrs is open to 0.0.0.0/0")
        m.allow_list(cidrs, "the API endpoint")
    # the database's group admits the cluster's group alone (the_database_admits_the_cluster_alone holds it to that)
    databases = {g for d in plan.of_type(aws_settings.RDS_INSTANCE) for g in d.inputs.get("vpcSecurityGroupIds") or []}
    for rule in plan.of_type(INGRESS):
        inputs = rule.inputs
        if inputs.get("securityGroupId") in databases:
            continue
        require(inputs.get("fromPort") == inputs.get("toPort") == 443, f"{rule.name}: more than the API's port")
        m.allow_list([c for c in (inputs.get("cidrIpv4"), inputs.get("cidrIpv6")) if c], rule.name)


def secrets_are_encrypted_with_kms(plan: Any, recipe: Any) -> None:
    config = _cluster(plan).inputs.get("encryptionConfig") or {}
    require("secrets" in (config.get("resources") or []), "Kubernetes secrets are not envelope-encrypted")
    require((config.get("provider") or {}).get("keyArn"), "secrets encryption names no KMS key")
    for key in plan.of_type("aws:kms/key:Key"):
        require(key.inputs.get("enableKeyRotation") is True, f"{key.name}: key rotation is off")


def version_is_pinned_and_audited(plan: Any, recipe: Any) -> None:
    cluster = _cluster(plan)
    require(re.fullmatch(r"1\.\d{2}", str(cluster.inputs.get("version"))), "the Kubernetes version is not pinned")
    logs = set(cluster.inputs.get("enabledClusterLogTypes") or [])
    require(logs >= set(LOG_TYPES), f"control plane logs missing: {sorted(set(LOG_TYPES) - logs)}")
    access = cluster.inputs.get("accessConfig") or {}
    require(access.get("authenticationMode") == "API", "access is not by EKS access entries (the aws-auth map)")
    for group in plan.of_type(NODE_GROUP):
        require(group.inputs.get("version") == cluster.inputs.get("version"), f"{group.name}: version not pinned")


def network_policies_are_enforced(plan: Any, recipe: Any) -> None:
    cni = [a for a in plan.of_type("aws:eks/addon:Addon") if a.inputs.get("addonName") == "vpc-cni"]
    require(cni, "the VPC CNI add-on is not managed: NetworkPolicies are not enforced")
    config = json.loads(cni[0].inputs.get("configurationValues") or "{}")
    require(config.get("enableNetworkPolicy") == "true", "the VPC CNI does not enforce NetworkPolicies")


def gpu_pools_are_tainted(plan: Any, recipe: Any) -> None:
    for group in plan.of_type(NODE_GROUP):
        gpu = any(t in GPU_MACHINES for t in group.inputs.get("instanceTypes") or [])
        require(gpu == ("NVIDIA" in str(group.inputs.get("amiType"))), f"{group.name}: AMI does not match its GPUs")
        if gpu:
            require(TAINT in (group.inputs.get("taints") or []), f"{group.name}: GPU nodes are not tainted")
            labels = group.inputs.get("labels") or {}
            require(ACCELERATOR_LABEL in labels, f"{group.name}: the autoscaler cannot tell its nodes carry GPUs")


def _subjects(statement: dict[str, Any]) -> list[Any]:
    equals = statement.get("Condition", {}).get("StringEquals", {})
    return [v for k, v in equals.items() if k.endswith(":sub")]


def no_static_keys_and_roles_scoped(plan: Any, recipe: Any) -> None:
    """No access keys; roles only EKS, EC2 or one Kubernetes service account (IRSA) may assume, with the managed
    policies EKS documents for them; the inline policies of the service accounts' roles name only the stack's
    buckets (and the KMS key the recipe gives them)."""
    require(not plan.of_type(ACCESS_KEY), "the plan creates IAM access keys")
    providers = {p.inputs.get("arn") for p in plan.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")}
    allowed = {MANAGED_POLICY + p for p in (*NODE_POLICIES, "AmazonEKSClusterPolicy", EBS_POLICY)}
    for attach in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        arn = attach.inputs.get("policyArn", "")
        require(arn in allowed, f"{attach.name}: attaches {arn}, beyond what EKS needs")
    for role in plan.of_type("aws:iam/role:Role"):
        require(not role.inputs.get("managedPolicyArns") and not role.inputs.get("inlinePolicies"), role.name)
        for statement in json.loads(role.inputs["assumeRolePolicy"])["Statement"]:
            principal = statement.get("Principal", {})
            if "Federated" in principal:  # IRSA: the cluster's OIDC provider, for one service account
                subjects = _subjects(statement)
                require(len(subjects) == 1 and "*" not in str(subjects[0]), f"{role.name}: any service account")
                require(statement.get("Action") == "sts:AssumeRoleWithWebIdentity", f"{role.name}: not IRSA")
                require(principal["Federated"] in providers, f"{role.name}: trusts {principal['Federated']}")
                equals = statement.get("Condition", {}).get("StringEquals", {})
                audiences = [v for k, v in equals.items() if k.endswith(":aud")]
                require(audiences == ["sts.amazonaws.com"], f"{role.name}: any audience")
            else:
                services = principal.get("Service")
                require(services in ("eks.amazonaws.com", "ec2.amazonaws.com"), f"{role.name}: assumed by {services}")
    buckets = {b.inputs["arn"] for b in plan.of_type("aws:s3/bucket:Bucket")}
    store = getattr(recipe.components, "object_store", None)
    keys = {k for k in [getattr(store, "kms_key_arn", None)] if k}
    autoscaler = f"system:serviceaccount:{AUTOSCALER[0]}:{AUTOSCALER[1]}"
    roles = {r.urn: r for r in plan.of_type("aws:iam/role:Role")}
    for policy in plan.of_type("aws:iam/rolePolicy:RolePolicy"):
        role = roles.get(policy.parent or "")
        trusted = (
            [s for st in json.loads(role.inputs["assumeRolePolicy"])["Statement"] for s in _subjects(st)]
            if role
            else []
        )
        if trusted == [autoscaler]:  # the cluster autoscaler's: describe anything, scale this cluster's groups alone
            tag = f"aws:ResourceTag/k8s.io/cluster-autoscaler/{_cluster(plan).inputs.get('name')}"
            for statement in json.loads(policy.inputs.get("policy") or "{}").get("Statement", []):
                actions = set(statement.get("Action") or [])
                reads = actions <= set(AUTOSCALER_READS) and not statement.get("Condition")
                writes = actions <= set(AUTOSCALER_WRITES) and statement.get("Condition") == {
                    "StringEquals": {tag: "owned"}
                }
                require(
                    statement.get("Effect") == "Allow" and (reads or writes) and "NotAction" not in statement,
                    f"{policy.name}: beyond the autoscaler's ({', '.join(sorted(actions))})",
                )
            continue
        for statement in json.loads(policy.inputs.get("policy") or "{}").get("Statement", []):
            require(
                statement.get("Effect") == "Allow" and "NotResource" not in statement, f"{policy.name}: {statement}"
            )
            actions = set(statement.get("Action") or [])
            for resource in statement.get("Resource") or []:
                require(
                    resource.removesuffix("/*") in buckets or resource in keys,
                    f"{policy.name}: {resource} is not one of the stack's buckets",
                )
                kms, objects = resource in keys, resource.endswith("/*")
                shape = set(KMS_ACTIONS if kms else OBJECT_ACTIONS if objects else BUCKET_ACTIONS)
                require(actions <= shape, f"{policy.name}: {', '.join(sorted(actions - shape))} on {resource}")


def service_accounts_assume_their_own_roles(plan: Any, recipe: Any) -> None:
    """A service account annotated with a role (IRSA) names one the plan creates, which that account alone, in the
    stack's namespace, may assume."""
    roles = {r.inputs.get("arn"): r for r in plan.of_type("aws:iam/role:Role")}
    for account in plan.of_type("kubernetes:core/v1:ServiceAccount"):
        meta = account.inputs.get("metadata") or {}
        arn = (meta.get("annotations") or {}).get(IRSA_ANNOTATION)
        if arn is None:
            continue
        require(arn in roles, f"{account.name}: assumes {arn}, a role the stack does not create")
        role = roles[arn]
        expected = f"system:serviceaccount:{meta.get('namespace')}:{meta.get('name')}"
        subjects = [s for st in json.loads(role.inputs["assumeRolePolicy"])["Statement"] for s in _subjects(st)]
        who = ", ".join(map(str, subjects)) or "nobody"
        require(subjects == [expected], f"{account.name}: {role.name} is assumable by {who}, not {expected}")


def database_subnets(plan: Any) -> dict[str, list[str]]:
    """Each RDS instance's name -> the subnets of the subnet group it names."""
    groups = {
        g.inputs.get("name"): g.inputs.get("subnetIds") or [] for g in plan.of_type(aws_settings.RDS_SUBNET_GROUP)
    }
    return {
        d.name: list(groups.get(d.inputs.get("dbSubnetGroupName"), [])) for d in plan.of_type(aws_settings.RDS_INSTANCE)
    }


def the_database_admits_the_cluster_alone(plan: Any, recipe: Any) -> None:
    """MLflow's RDS instance exists where the recipe asks for it (tracking `database: managed`) and only there, in
    the cluster's subnets, behind security groups of the stack's own whose only rules admit PostgreSQL (tcp 5432)
    from the cluster's security group."""
    tracking = getattr(recipe.components, "tracking", None)
    wanted = 1 if getattr(tracking, "database", None) == "managed" else 0
    databases = plan.of_type(aws_settings.RDS_INSTANCE)
    require(len(databases) == wanted, f"{len(databases)} RDS instances, where the recipe asks for {wanted}")
    vpc = _cluster(plan).inputs.get("vpcConfig") or {}
    cluster = vpc.get("clusterSecurityGroupId")
    created = {f"{g.name}-id": g for g in plan.of_type(SECURITY_GROUP)}  # as the plan's ids read
    subnets = database_subnets(plan)
    for db in databases:
        require(
            subnets[db.name] and set(subnets[db.name]) <= set(vpc.get("subnetIds") or []),
            f"{db.name}: its subnets ({', '.join(subnets[db.name]) or 'none'}) are not the cluster's",
        )
        groups = set(db.inputs.get("vpcSecurityGroupIds") or [])
        for group in groups:
            require(group in created, f"{db.name}: behind {group}, a security group the stack does not create")
            inline = created[group].inputs
            require(not inline.get("ingress") and not inline.get("egress"), f"{created[group].name}: inline rules")
        legacy = [r.name for r in plan.of_type(LEGACY_RULE) if r.inputs.get("securityGroupId") in groups]
        require(not legacy, f"{db.name}: admits by {', '.join(legacy)}, beyond its ingress rules")
        rules = [r for r in plan.of_type(INGRESS) if r.inputs.get("securityGroupId") in groups]
        require(rules, f"{db.name}: its security group admits nothing: MLflow cannot reach it")
        for rule in rules:
            i = rule.inputs
            require(
                (i.get("ipProtocol"), i.get("fromPort"), i.get("toPort")) == ("tcp", 5432, 5432)
                and i.get("referencedSecurityGroupId") == cluster
                and not (i.get("cidrIpv4") or i.get("cidrIpv6") or i.get("prefixListId")),
                f"{rule.name}: {db.name} admits more than PostgreSQL from the cluster's security group",
            )


def volumes_are_encrypted(plan: Any, recipe: Any) -> None:
    classes = plan.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
    require(classes, "no StorageClass: EKS has no default, the stack's volumes would never bind")
    for sc in classes:
        require((sc.inputs.get("parameters") or {}).get("encrypted") == "true", f"{sc.name}: volumes not encrypted")
    drivers = [a for a in plan.of_type("aws:eks/addon:Addon") if a.inputs.get("addonName") == "aws-ebs-csi-driver"]
    require(drivers and drivers[0].inputs.get("serviceAccountRoleArn"), "no EBS CSI driver with a role of its own")


Eks.RULES = (
    endpoint_is_private_or_allow_listed,
    secrets_are_encrypted_with_kms,
    version_is_pinned_and_audited,
    network_policies_are_enforced,
    gpu_pools_are_tainted,
    no_static_keys_and_roles_scoped,
    service_accounts_assume_their_own_roles,
    the_database_admits_the_cluster_alone,
    volumes_are_encrypted,
)
