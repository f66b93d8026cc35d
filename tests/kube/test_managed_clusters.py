"""Managed clusters (eks, gke, aks) without a cloud: careless cluster settings are exit 2 naming file, line and field;
the offline plan puts the cluster's resources ahead of the in-cluster stack, whose provider is made from an
exec-credential kubeconfig (no token anywhere); a component on a GPU pool is scheduled onto it; every cluster rule
of the policy suite catches the careless edit it exists for; a destroy asks for --purge.

What runs against the real test control plane is in test_real_managed_clusters.py."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from typer.testing import CliRunner

from mlstack import registry
from mlstack.cli import app
from mlstack.components.kubernetes import clusters
from mlstack.components.kubernetes.clusters import _managed as m
from mlstack.engine.offline import Plan, plan
from mlstack.policy import PolicyViolation
from mlstack.recipe.loader import load_recipe
from tests.conftest import RECIPES, state_files
from tests.local.conftest import MLSTACK

MANAGED = ("eks", "gke", "aks")
EXEC = {"eks": "aws", "gke": "gke-gcloud-auth-plugin", "aks": "kubelogin"}
each = pytest.mark.parametrize("cloud", MANAGED)


@cache
def planned(cloud: str) -> Plan:
    return plan(load_recipe(RECIPES / f"{cloud}.yaml"))


def _bad(home, tmp_path: Path, cloud: str, old: str, new: str) -> list[str]:
    text = (RECIPES / f"{cloud}.yaml").read_text()
    assert old in text, old
    path = tmp_path / f"{cloud}.yaml"
    path.write_text(text.replace(old, new))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and state_files(home) == []
    return [line.removeprefix(f"{path}:") for line in result.stderr.splitlines() if line.strip()]


@each
def test_min_above_max_names_the_pools_max(home, tmp_path, cloud):
    [line] = _bad(home, tmp_path, cloud, "        min: 0\n        max: 2\n", "        min: 3\n        max: 2\n")
    assert re.fullmatch(r"\d+: target\.cluster\.pools\[0\]\.max: max 2 is below min 3", line), line


@each
def test_an_accelerator_the_machine_does_not_carry_is_refused_with_what_does(home, tmp_path, cloud):
    gpu = {"eks": "nvidia-a10g", "gke": "nvidia-l4", "aks": "nvidia-t4"}[cloud]
    [line] = _bad(home, tmp_path, cloud, f"gpu: {{type: {gpu}, count: 1}}", "gpu: {type: nvidia-h100-80gb, count: 1}")
    assert re.match(r"\d+: target\.cluster\.pools\[0\]\.gpu: ", line), line
    assert "nvidia-h100-80gb" in line and gpu in line  # what the machine carries


@each
def test_a_gpu_machine_without_its_gpus_said_is_refused(home, tmp_path, cloud):
    gpu = {"eks": "nvidia-a10g", "gke": "nvidia-l4", "aks": "nvidia-t4"}[cloud]
    [line] = _bad(home, tmp_path, cloud, f"        gpu: {{type: {gpu}, count: 1}}\n", "")
    assert re.match(r"\d+: target\.cluster\.pools\[0\]: .* say so in the pool's `gpu:` block", line), line


@each
def test_an_endpoint_open_to_the_internet_is_refused(home, tmp_path, cloud):
    [line] = _bad(home, tmp_path, cloud, "allowed_cidrs: [203.0.113.0/24]", "allowed_cidrs: [0.0.0.0/0]")
    assert re.match(r"\d+: target\.cluster\.endpoint\.allowed_cidrs: .*whole internet", line), line
    [line] = _bad(home, tmp_path, cloud, "      allowed_cidrs: [203.0.113.0/24]  #", "      #")
    assert re.match(r"\d+: target\.cluster\.endpoint\.allowed_cidrs: .*required", line), line


def test_a_private_aks_endpoint_its_allow_list_would_not_hold_is_refused(home, tmp_path):
    [line] = _bad(home, tmp_path, "aks", "      public: true\n", "      public: false\n")
    assert re.match(r"\d+: target\.cluster\.endpoint: AKS applies authorized IP ranges to a public API server alone",
                    line), line


def test_an_unlisted_gpu_machine_type_is_refused_not_left_untainted(home, tmp_path):
    [line] = _bad(home, tmp_path, "eks", "machine_type: g5.xlarge", "machine_type: p5e.48xlarge")
    assert re.match(r"\d+: target\.cluster\.pools\[0\]\.gpu: p5e\.48xlarge is a GPU machine type mlstack does not know",
                    line), line


@each
def test_a_pool_with_no_machine_type_is_refused(home, tmp_path, cloud):
    text = (RECIPES / f"{cloud}.yaml").read_text()
    machine = re.search(r"\n        machine_type: .*\n", text)
    assert machine
    lines = _bad(home, tmp_path, cloud, machine.group(0), "\n")
    assert any(re.match(r"\d+: target\.cluster\.pools\[0\]\.machine_type: ", line) for line in lines), lines


@each
def test_a_component_on_a_pool_the_cluster_lacks_is_refused(home, tmp_path, cloud):
    [line] = _bad(home, tmp_path, cloud, "    node_pool: gpu\n  serving", "    node_pool: gpus\n  serving")
    assert re.fullmatch(
        r"\d+: components\.orchestrator\.node_pool: no node pool 'gpus': the cluster's are system, gpu", line
    ), line


def test_a_node_pool_on_a_cluster_mlstack_does_not_create_is_refused(home, tmp_path):
    path = tmp_path / "k.yaml"
    path.write_text((RECIPES / "kubernetes.yaml").read_text().replace("    flavor: mlserver\n",
                                                                      "    flavor: mlserver\n    node_pool: gpu\n"))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "components.serving.node_pool: mlstack knows no pools of an 'existing' cluster" in result.stderr


@each
def test_the_cluster_comes_first_and_the_stack_reaches_it_by_an_exec_credential(cloud):
    p = planned(cloud)
    [provider] = p.of_type("pulumi:providers:kubernetes")
    config = json.loads(provider.raw["kubeconfig"])
    [user] = config["users"]
    assert user["user"]["exec"]["command"] == EXEC[cloud] and set(user["user"]) == {"exec"}  # no token, no key
    assert config["current-context"] == f"mlstack-{p.stack}"
    assert config["clusters"][0]["cluster"]["server"].startswith("https://")
    assert "context" not in provider.raw  # never the user's kubeconfig
    provider = clusters.of(load_recipe(RECIPES / f"{cloud}.yaml").target).cloud
    cloud_types = {r.type for r in p.resources if r.type.startswith(f"{provider}:")}
    assert len(cloud_types) >= 5
    assert planned(cloud).to_dict()["outputs"]["mlstack"]["components"]["serving"]  # clients render


@each
def test_a_component_on_a_gpu_pool_selects_it_tolerates_its_taint_and_asks_for_its_gpus(cloud):
    toleration = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    spot = {"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot",
            "effect": "NoSchedule"}
    steps = planned(cloud).outputs["mlstack"]["components"]["orchestrator"]  # ZenML's step pods
    assert steps["step_node_selector"] == {m.POOL_LABEL: "gpu"} and steps["step_gpus"] == 1
    assert toleration in steps["step_tolerations"]
    assert (spot in steps["step_tolerations"]) == (cloud == "aks")  # AKS taints spot nodes itself
    [deployment] = [r for r in planned(cloud).resources if r.name == "serving-deployment"]
    pod = deployment.raw["spec"]["template"]["spec"]
    on_gpu = load_recipe(RECIPES / f"{cloud}.yaml").components.serving.node_pool == "gpu"
    assert on_gpu == (cloud == "gke")  # GKE alone installs the NVIDIA device plugin that serves a GPU to a pod
    if on_gpu:
        assert pod["nodeSelector"] == {m.POOL_LABEL: "gpu"} and toleration in pod["tolerations"]
        assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    else:
        assert "nodeSelector" not in pod and "nvidia.com/gpu" not in pod["containers"][0]["resources"]["limits"]
    others = [r for r in planned(cloud).resources  # asked for no pool: MLflow, and the stateful parts (eks, aks)
              if r.name == "tracking-deployment" or r.type == "kubernetes:apps/v1:StatefulSet"]
    assert others and all("nodeSelector" not in r.raw["spec"]["template"]["spec"] for r in others)


@each
def test_the_gpu_pool_is_tainted_and_labelled_and_the_system_pool_is_not_tainted(cloud):
    def pools() -> dict[str, dict[str, Any]]:
        p = planned(cloud)
        if cloud == "aks":
            [cluster] = p.of_type("azure-native:containerservice:ManagedCluster")
            found = {x["name"]: x for x in cluster.raw["agentPoolProfiles"]}
            found |= {a.raw["agentPoolName"]: a.raw for a in p.of_type("azure-native:containerservice:AgentPool")}
            return found
        typ = {"eks": "aws:eks/nodeGroup:NodeGroup", "gke": "gcp:container/nodePool:NodePool"}[cloud]
        key = {"eks": "nodeGroupName", "gke": "name"}[cloud]
        return {r.raw[key]: r.raw for r in p.of_type(typ)}

    found = pools()
    assert set(found) == {"system", "gpu"}
    for name, pool in found.items():
        config = pool.get("nodeConfig", pool)
        labels = config.get("labels") or config.get("nodeLabels")
        taints = config.get("taints") or config.get("nodeTaints") or []
        assert labels[m.POOL_LABEL] == name
        assert bool(taints) == (name == "gpu"), (name, taints)


# Each cluster rule meets the careless edit it exists for (the shipped recipe's plan passes it).
class Breach(NamedTuple):
    rule: str
    reason: str
    mutate: Callable[[Plan], None]


def _edit(typ: str, path: str, value: Any, name: str | None = None) -> Callable[[Plan], None]:
    def mutate(p: Plan) -> None:
        for r in p.of_type(typ):
            if name is None or r.name == name:
                target = r.inputs
                *parents, last = path.split(".")
                for key in parents:
                    target = target.setdefault(key, {})
                if value is None:
                    target.pop(last, None)
                else:
                    target[last] = value
    return mutate


def _drop(typ: str) -> Callable[[Plan], None]:
    def mutate(p: Plan) -> None:
        p.resources[:] = [r for r in p.resources if r.type != typ]
    return mutate


def _add(typ: str, name: str, inputs: dict[str, Any]) -> Callable[[Plan], None]:
    def mutate(p: Plan) -> None:
        p.resources.append(type(p.resources[0])(f"urn:{name}", typ, name, None, True, inputs))
    return mutate


def _trust(role: str, subject: str) -> Callable[[Plan], None]:
    """The role's IRSA trust widened to `subject`."""
    def mutate(p: Plan) -> None:
        [r] = [x for x in p.of_type("aws:iam/role:Role") if x.name == role]
        document = json.loads(r.inputs["assumeRolePolicy"])
        equals = document["Statement"][0]["Condition"]["StringEquals"]
        for key in [k for k in equals if k.endswith(":sub")]:
            equals[key] = subject
        r.inputs["assumeRolePolicy"] = json.dumps(document)
    return mutate


def _principal(role: str, federated: str) -> Callable[[Plan], None]:
    """The role's IRSA trust given to another identity provider."""
    def mutate(p: Plan) -> None:
        [r] = [x for x in p.of_type("aws:iam/role:Role") if x.name == role]
        document = json.loads(r.inputs["assumeRolePolicy"])
        document["Statement"][0]["Principal"] = {"Federated": federated}
        r.inputs["assumeRolePolicy"] = json.dumps(document)
    return mutate


def _condition(role: str, suffix: str, value: str) -> Callable[[Plan], None]:
    """One condition of the role's IRSA trust changed."""
    def mutate(p: Plan) -> None:
        [r] = [x for x in p.of_type("aws:iam/role:Role") if x.name == role]
        document = json.loads(r.inputs["assumeRolePolicy"])
        equals = document["Statement"][0]["Condition"]["StringEquals"]
        for key in [k for k in equals if k.endswith(suffix)]:
            equals[key] = value
        r.inputs["assumeRolePolicy"] = json.dumps(document)
    return mutate


def _statement(policy: str, index: int, key: str | None, value: Any) -> Callable[[Plan], None]:
    """One statement of an inline role policy changed (`key`), or replaced whole (key None)."""
    def mutate(p: Plan) -> None:
        [r] = [x for x in p.of_type("aws:iam/rolePolicy:RolePolicy") if x.name == policy]
        document = json.loads(r.inputs["policy"])
        if key is None:
            document["Statement"][index] = value
        else:
            document["Statement"][index][key] = value
        r.inputs["policy"] = json.dumps(document)
    return mutate


def _annotate(account: str, role: str) -> Callable[[Plan], None]:
    """The service account annotated with another role of the plan."""
    def mutate(p: Plan) -> None:
        [arn] = [r.inputs["arn"] for r in p.of_type("aws:iam/role:Role") if r.name == role]
        [sa] = [x for x in p.of_type("kubernetes:core/v1:ServiceAccount") if x.name == account]
        sa.inputs["metadata"]["annotations"] = {"eks.amazonaws.com/role-arn": arn}
    return mutate


FIC, GRANT = "azure-native:managedidentity:FederatedIdentityCredential", "azure-native:authorization:RoleAssignment"
WI_USER, BUCKET_GRANT = "gcp:serviceaccount/iAMMember:IAMMember", "gcp:storage/bucketIAMMember:BucketIAMMember"
EKS, NG = "aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
GKE, NP = "gcp:container/cluster:Cluster", "gcp:container/nodePool:NodePool"
AKS, AP = "azure-native:containerservice:ManagedCluster", "azure-native:containerservice:AgentPool"
BREACHES = {
    "eks": [
        Breach("endpoint_is_private_or_allow_listed", "open to 0.0.0.0/0",
               _edit(EKS, "vpcConfig.publicAccessCidrs", None)),
        Breach("endpoint_is_private_or_allow_listed", "whole internet",
               _edit(EKS, "vpcConfig.publicAccessCidrs", ["0.0.0.0/0"])),
        Breach("endpoint_is_private_or_allow_listed", "api-from-any: '0.0.0.0/0' opens the server to the whole", _add(
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "api-from-any",
            {"fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"})),
        Breach("secrets_are_encrypted_with_kms", "not envelope-encrypted", _edit(EKS, "encryptionConfig", None)),
        Breach("secrets_are_encrypted_with_kms", "key rotation is off",
               _edit("aws:kms/key:Key", "enableKeyRotation", False)),
        Breach("version_is_pinned_and_audited", "logs missing: ['audit']",
               _edit(EKS, "enabledClusterLogTypes", ["api", "authenticator", "controllerManager", "scheduler"])),
        Breach("version_is_pinned_and_audited", "pool-gpu: version not pinned", _edit(NG, "version", None, "pool-gpu")),
        Breach("version_is_pinned_and_audited", "aws-auth",
               _edit(EKS, "accessConfig.authenticationMode", "CONFIG_MAP")),
        Breach("network_policies_are_enforced", "does not enforce",
               _edit("aws:eks/addon:Addon", "configurationValues", "{}")),
        Breach("gpu_pools_are_tainted", "pool-gpu: GPU nodes are not tainted", _edit(NG, "taints", [], "pool-gpu")),
        Breach("gpu_pools_are_tainted", "pool-gpu: the autoscaler cannot tell its nodes carry GPUs",
               _edit(NG, "labels", {"mlstack.dev/pool": "gpu"}, "pool-gpu")),
        Breach("no_static_keys_and_roles_scoped", "creates IAM access keys",
               _add("aws:iam/accessKey:AccessKey", "key", {"user": "ci"})),
        Breach("no_static_keys_and_roles_scoped", "ebs-csi-role: any service account",
               _trust("ebs-csi-role", "system:serviceaccount:kube-system:*")),
        Breach("volumes_are_encrypted", "storage-class: volumes not encrypted",
               _edit("kubernetes:storage.k8s.io/v1:StorageClass", "parameters.encrypted", "false")),
        Breach("volumes_are_encrypted", "no EBS CSI driver with a role of its own",
               _edit("aws:eks/addon:Addon", "serviceAccountRoleArn", None)),
        Breach("no_static_keys_and_roles_scoped", "beyond what EKS needs",
               _edit("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "policyArn",
                     "arn:aws:iam::aws:policy/AdministratorAccess")),
        # the s3 and ecr flavors: each service account's role reaches the stack's buckets and nothing else
        Breach("no_static_keys_and_roles_scoped", "arn:aws:s3:::someone-elses-bucket/* is not one of the stack's",
               _statement("tracking-identity-buckets", 1, "Resource", ["arn:aws:s3:::someone-elses-bucket/*"])),
        Breach("no_static_keys_and_roles_scoped", "tracking-identity-buckets: s3:* on arn:aws:s3:::mlops-eks-artifacts",
               _statement("tracking-identity-buckets", 0, "Action", ["s3:*"])),
        Breach("no_static_keys_and_roles_scoped", "s3:PutBucketPolicy on arn:aws:s3:::mlops-eks-artifacts/*",
               _statement("tracking-identity-buckets", 1, "Action", ["s3:GetObject", "s3:PutBucketPolicy"])),
        Breach("no_static_keys_and_roles_scoped", "tracking-identity: trusts arn:aws:iam::999999999999:oidc-provider/x",
               _principal("tracking-identity", "arn:aws:iam::999999999999:oidc-provider/x")),
        Breach("no_static_keys_and_roles_scoped", "tracking-identity: any audience",
               _condition("tracking-identity", ":aud", "any")),
        Breach("no_static_keys_and_roles_scoped", "tracking-identity: any service account",
               _trust("tracking-identity", "system:serviceaccount:mlops:*")),
        Breach("service_accounts_assume_their_own_roles", "orchestrator-step-account: orchestrator-zenml-pipelines-"
               "identity is assumable by system:serviceaccount:mlops:zenml-pipelines, not "
               "system:serviceaccount:mlops:zenml-steps",
               _annotate("orchestrator-step-account", "orchestrator-zenml-pipelines-identity")),
        Breach("service_accounts_assume_their_own_roles", "a role the stack does not create",
               _edit("kubernetes:core/v1:ServiceAccount", "metadata.annotations",
                     {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/admin"}, "tracking-service-account")),
        Breach("buckets_are_private_encrypted_versioned_tls_only", "public access not blocked",
               _edit("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "blockPublicPolicy", False)),
        Breach("registries_scan_on_push_and_are_immutable", "mutable tags",
               _edit("aws:ecr/repository:Repository", "imageTagMutability", "MUTABLE")),
        Breach("no_wildcard_action_on_every_resource", "wildcard action on every resource",
               _statement("tracking-identity-buckets", 0, None, {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})),
        Breach("databases_are_private_encrypted_with_generated_passwords", "tracking-db: public or unencrypted",
               _edit("aws:rds/instance:Instance", "storageEncrypted", False)),
        Breach("the_database_admits_the_cluster_alone", "tracking-db-from-cluster: tracking-db admits more than "
               "PostgreSQL from the cluster's security group",
               _edit(INGRESS, "referencedSecurityGroupId", "sg-ffffffffffffffff", "tracking-db-from-cluster")),
        Breach("the_database_admits_the_cluster_alone", "tracking-db admits more than PostgreSQL",
               _edit(INGRESS, "toPort", 65535, "tracking-db-from-cluster")),
        Breach("the_database_admits_the_cluster_alone", "0 RDS instances, where the recipe asks for 1",
               _drop("aws:rds/instance:Instance")),
        Breach("the_database_admits_the_cluster_alone", "behind sg-0external, a security group the stack does not create",
               _edit("aws:rds/instance:Instance", "vpcSecurityGroupIds", ["tracking-database-id", "sg-0external"])),
        Breach("the_database_admits_the_cluster_alone", "tracking-database: inline rules",
               _edit("aws:ec2/securityGroup:SecurityGroup", "ingress",
                     [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}], "tracking-database")),
        Breach("the_database_admits_the_cluster_alone", "tracking-db: admits by legacy-rule, beyond its ingress rules",
               _add("aws:ec2/securityGroupRule:SecurityGroupRule", "legacy-rule",
                    {"type": "ingress", "securityGroupId": "tracking-database-id", "cidrBlocks": ["0.0.0.0/0"]})),
        Breach("the_database_admits_the_cluster_alone", "tracking-db: its subnets (subnet-0123456789abcdef0) are not "
               "the cluster's",
               _edit("aws:rds/subnetGroup:SubnetGroup", "subnetIds", ["subnet-0123456789abcdef0"])),
    ],
    "gke": [
        Breach("endpoint_is_private_or_allow_listed", "whole internet",
               _edit(GKE, "masterAuthorizedNetworksConfig.cidrBlocks", [{"cidrBlock": "0.0.0.0/0"}])),
        Breach("endpoint_is_private_or_allow_listed", "nodes have public addresses",
               _edit(GKE, "privateClusterConfig.enablePrivateNodes", False)),
        Breach("endpoint_is_private_or_allow_listed", "the private endpoint takes any address",
               _edit(GKE, "masterAuthorizedNetworksConfig.privateEndpointEnforcementEnabled", False)),
        Breach("version_is_pinned_and_logged", "is not of the recipe's 1.35",
               _edit(GKE, "minMasterVersion", "1.34.5-gke.100")),
        Breach("secrets_are_encrypted_with_kms", "not KMS-encrypted",
               _edit(GKE, "databaseEncryption.state", "DECRYPTED")),
        Breach("version_is_pinned_and_logged", "a release channel upgrades it",
               _edit(GKE, "releaseChannel.channel", "RAPID")),
        Breach("version_is_pinned_and_logged", "pool-gpu: auto-upgraded",
               _edit(NP, "management.autoUpgrade", True, "pool-gpu")),
        Breach("network_policies_are_enforced", "not enforced", _edit(GKE, "datapathProvider", "LEGACY_DATAPATH")),
        Breach("nodes_use_workload_identity", "pool-gpu: node SA",
               _edit(NP, "nodeConfig.workloadMetadataConfig.mode", "GCE_METADATA", "pool-gpu")),
        Breach("nodes_use_workload_identity", "service account keys",
               _add("gcp:serviceaccount/key:Key", "key", {"serviceAccountId": "nodes"})),
        Breach("gpu_pools_are_tainted", "pool-gpu: GPU nodes are not tainted",
               _edit(NP, "nodeConfig.taints", [], "pool-gpu")),
        # the gcs and artifact_registry flavors: one Google account per Kubernetes account, scoped to the buckets
        Breach("workload_identities_are_one_account_each_and_scoped",
               "tracking-service-account: mlops-gke-mlflow@my-ml-project.iam.gserviceaccount.com may be acted as by "
               "serviceAccount:my-ml-project.svc.id.goog[default/mlflow]",
               _edit(WI_USER, "member", "serviceAccount:my-ml-project.svc.id.goog[default/mlflow]",
                     "tracking-identity-user")),
        Breach("workload_identities_are_one_account_each_and_scoped", "tracking-identity-user: grants roles/owner",
               _edit(WI_USER, "role", "roles/owner", "tracking-identity-user")),
        Breach("workload_identities_are_one_account_each_and_scoped",
               "tracking-identity-artifacts: roles/storage.admin",
               _edit(BUCKET_GRANT, "role", "roles/storage.admin", "tracking-identity-artifacts")),
        Breach("workload_identities_are_one_account_each_and_scoped", "someone-elses is not one of the stack's",
               _edit(BUCKET_GRANT, "bucket", "someone-elses", "tracking-identity-artifacts")),
        Breach("workload_identities_are_one_account_each_and_scoped", "registry-models-nodes: roles/artifactregistry.writer",
               _edit("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember", "role",
                     "roles/artifactregistry.writer")),
        Breach("workload_identities_are_one_account_each_and_scoped",
               "tracking-identity-artifacts: to serviceAccount:mlops-gke-nodes@my-ml-project.iam.gserviceaccount.com, "
               "not a bound service account",
               _edit(BUCKET_GRANT, "member", "serviceAccount:mlops-gke-nodes@my-ml-project.iam.gserviceaccount.com",
                     "tracking-identity-artifacts")),
        Breach("workload_identities_are_one_account_each_and_scoped",
               "registry-models-nodes: to serviceAccount:mlops-gke-mlflow@my-ml-project.iam.gserviceaccount.com",
               _edit("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember", "member",
                     "serviceAccount:mlops-gke-mlflow@my-ml-project.iam.gserviceaccount.com")),
        Breach("buckets_are_uniform_private_and_versioned", "public access not prevented",
               _edit("gcp:storage/bucket:Bucket", "publicAccessPrevention", "inherited")),
        Breach("artifact_registries_are_immutable_and_scanned", "mutable tags",
               _edit("gcp:artifactregistry/repository:Repository", "dockerConfig.immutableTags", False)),
        # MLflow's Cloud SQL (`database: managed`), given a public IP
        Breach("managed_databases_are_private_and_tls_only", "a public IP",
               _edit("gcp:sql/databaseInstance:DatabaseInstance", "settings.ipConfiguration.ipv4Enabled", True)),
    ],
    "aks": [
        Breach("endpoint_is_private_or_allow_listed", "open to every address",
               _edit(AKS, "apiServerAccessProfile.authorizedIPRanges", None)),
        Breach("endpoint_is_private_or_allow_listed", "pool-gpu: nodes have public addresses",
               _edit(AP, "enableNodePublicIP", True, "pool-gpu")),
        Breach("secrets_are_encrypted_with_kms", "cluster-secrets-crypto: grants",
               _edit("azure-native:authorization:RoleAssignment", "roleDefinitionId",
                     "/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/owner", "cluster-secrets-crypto")),
        Breach("secrets_are_encrypted_with_kms", "not encrypted with a Key Vault key",
               _edit(AKS, "securityProfile.azureKeyVaultKms.enabled", False)),
        Breach("sign_in_is_entra_only", "local accounts", _edit(AKS, "disableLocalAccounts", False)),
        Breach("sign_in_is_entra_only", "cluster-admin-deployer: cluster admin beyond the cluster",
               _edit("azure-native:authorization:RoleAssignment", "scope", "/subscriptions/x", "cluster-admin-deployer")),
        Breach("sign_in_is_entra_only", "Workload Identity is off",
               _edit(AKS, "securityProfile.workloadIdentity.enabled", False)),
        Breach("version_is_pinned_and_audited", "an upgrade channel moves it",
               _edit(AKS, "autoUpgradeProfile.upgradeChannel", "stable")),
        Breach("version_is_pinned_and_audited", "audit logs missing",
               _edit("azure-native:monitor:DiagnosticSetting", "logs", [])),
        Breach("network_policies_are_enforced", "not enforced", _edit(AKS, "networkProfile.networkPolicy", None)),
        Breach("gpu_pools_are_tainted", "pool-gpu: GPU nodes are not tainted", _edit(AP, "nodeTaints", [], "pool-gpu")),
        # the azure_blob and acr flavors: a managed identity per Kubernetes account, federated for it alone
        Breach("workload_identities_are_federated_to_one_account_and_scoped",
               "tracking-service-account: tracking-identity is federated with system:serviceaccount:mlops:zenml-steps "
               "(issuer https://westeurope.oic.prod-aks.azure.com/, audiences api://AzureADTokenExchange), not "
               "system:serviceaccount:mlops:mlflow of the cluster's issuer alone",
               _edit(FIC, "subject", "system:serviceaccount:mlops:zenml-steps", "tracking-identity-federation")),
        Breach("workload_identities_are_federated_to_one_account_and_scoped",
               "orchestrator-step-account: tracking-identity is federated with system:serviceaccount:mlops:mlflow",
               _edit("kubernetes:core/v1:ServiceAccount", "metadata.annotations",
                     {"azure.workload.identity/client-id": "tracking-identity-client-id"}, "orchestrator-step-account")),
        Breach("workload_identities_are_federated_to_one_account_and_scoped",
               "tracking-identity-artifacts: grants 8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
               _edit(GRANT, "roleDefinitionId", "/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/"
                     "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "tracking-identity-artifacts")),
        Breach("workload_identities_are_federated_to_one_account_and_scoped",
               "tracking-identity-artifacts: on /subscriptions/x, not one of the stack's containers",
               _edit(GRANT, "scope", "/subscriptions/x", "tracking-identity-artifacts")),
        Breach("workload_identities_are_federated_to_one_account_and_scoped", "registry-nodes-pull: AcrPull beyond",
               _edit(GRANT, "principalId", "someone", "registry-nodes-pull")),
        Breach("workload_identities_are_federated_to_one_account_and_scoped",
               "federated, yet no service account of the stack's acts as it: mlops-aks-aks",
               _add(FIC, "stray-federation", {"resourceName": "mlops-aks-aks", "issuer": "https://x",
                                              "subject": "system:serviceaccount:kube-system:default"})),
        Breach("workload_identities_are_federated_to_one_account_and_scoped",
               "cluster-secrets-crypto: grants 8e3af657-a8ff-443c-a75c-2fe8c4bcb635, a role mlstack never grants",
               _edit(GRANT, "roleDefinitionId", "/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/"
                     "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "cluster-secrets-crypto")),
        # the nodes and MLflow's flexible server in the recipe's network
        Breach("the_cluster_and_its_database_keep_to_the_recipes_network", "tracking-db: public access",
               _edit("azure-native:dbforpostgresql:Server", "network.publicNetworkAccess", "Enabled")),
        Breach("the_cluster_and_its_database_keep_to_the_recipes_network",
               "tracking-db-tls: the server takes connections without TLS",
               _add("azure-native:dbforpostgresql:Configuration", "tracking-db-tls",
                    {"configurationName": "require_secure_transport", "value": "OFF", "source": "user-override"})),
        Breach("the_cluster_and_its_database_keep_to_the_recipes_network", "pool-gpu: nodes in /subscriptions/x",
               _edit(AP, "vnetSubnetID", "/subscriptions/x", "pool-gpu")),
        Breach("the_cluster_and_its_database_keep_to_the_recipes_network",
               "cluster-subnet-network: Network Contributor on /subscriptions/x",
               _edit(GRANT, "scope", "/subscriptions/x", "cluster-subnet-network")),
        Breach("storage_is_https_tls12_private_and_entra_only", "public blobs or shared keys allowed",
               _edit("azure-native:storage:StorageAccount", "allowSharedKeyAccess", True)),
        Breach("registries_have_no_admin_user_or_anonymous_pull", "admin user or anonymous pull",
               _edit("azure-native:containerregistry:Registry", "adminUserEnabled", True)),
    ],
}
PLANTED = [pytest.param(cloud, b, id=f"{cloud}-{b.rule}-{b.reason}") for cloud in MANAGED for b in BREACHES[cloud]]


@each
def test_every_cluster_rule_has_a_planted_breach(cloud):
    placement = load_recipe(RECIPES / f"{cloud}.yaml").target
    provisioner = clusters.of(placement)
    rules = {r.__name__ for r in provisioner.RULES} | set(provisioner.STORAGE_RULES)  # the cloud's store's too
    assert rules == {b.rule for b in BREACHES[cloud]}
    enrolled = {r.__name__ for r in registry.target("kubernetes").policy_rules(placement)}
    assert enrolled >= rules


@pytest.mark.parametrize(("cloud", "breach"), PLANTED)
def test_cluster_rule_catches_its_planted_breach(cloud, breach):
    recipe = load_recipe(RECIPES / f"{cloud}.yaml")
    [rule] = [r for r in registry.target("kubernetes").policy_rules(recipe.target) if r.__name__ == breach.rule]
    rule(planned(cloud), recipe)  # the shipped recipe passes
    weakened = copy.deepcopy(planned(cloud))
    breach.mutate(weakened)
    with pytest.raises(PolicyViolation, match=re.escape(breach.reason)):
        rule(weakened, recipe)


@each
def test_destroy_asks_for_purge_before_it_deletes_the_cluster_and_the_stacks_volumes(engine_home, cloud):
    done = subprocess.run([MLSTACK, "destroy", str(RECIPES / f"{cloud}.yaml"), "--json"], capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stdout + done.stderr
    [error] = json.loads(done.stdout)["errors"]
    assert "target: the cluster, and with it the volumes of the stack's data" in error["message"]
    assert "--purge" in error["hint"]


@each
def test_doctor_names_the_kubeconfigs_credential_plugin(cloud):
    [(what, ok, detail)] = [c for c in clusters.of(load_recipe(RECIPES / f"{cloud}.yaml").target).doctor()]
    assert what == cloud and (EXEC[cloud] in detail)


@each
def test_cost_names_the_control_plane_and_each_pool_from_min_to_max_nodes(home, cloud):
    result = CliRunner().invoke(app, ["cost", str(RECIPES / f"{cloud}.yaml"), "--json"])
    assert result.exit_code == 0, result.stdout
    r = json.loads(result.stdout)["result"]
    placement = load_recipe(RECIPES / f"{cloud}.yaml").target
    assert r["region"] == (getattr(placement.cluster, "region", None) or placement.cluster.location)
    found = {line["resource"]: line for line in r["lines"]}
    assert found["cluster"]["quantity"] == 730 and found["cluster"]["price_key"].endswith(f"{cloud}.cluster_hour")
    for pool in clusters.of(placement).pools(placement).values():
        line = found[f"pool-{pool.name}"]
        assert (line["quantity"], line["quantity_range"]) == (pool.min * 730, [pool.min * 730, pool.max * 730])
        assert line["price_key"].endswith(pool.machine_type + (".spot" if pool.spot else ""))
    from mlstack.cost.prices import SHIPPED

    prices = json.loads(SHIPPED.read_text())["prices"]
    for name, line in found.items():  # each the snapshot's price for the region, times the hours of its nodes
        if name == "cluster" or name.startswith("pool-"):
            usd = prices[line["price_key"]]["regions"][r["region"]]["usd"]
            assert line["unpriced"] is None and line["usd_per_unit"] == usd, line
            assert line["monthly_usd"] == round(line["quantity"] * usd, 2)
            assert line["monthly_usd_range"] == [round(q * usd, 2) for q in (line["quantity_range"][0],
                                                                             line["quantity_range"][1])]
            assert line["source"].startswith("https://") and line["read"]
    assert "hours_up" in r["assumptions"] and r["capacity"]


def test_the_clouds_own_store_and_registry_beside_an_eks_cluster_are_priced_as_the_aws_target_prices_them(home):
    from mlstack.cost.prices import SHIPPED

    snapshot = json.loads(SHIPPED.read_text())
    result = CliRunner().invoke(app, ["cost", str(RECIPES / "eks.yaml"), "--json"])
    assert result.exit_code == 0, result.stdout
    r = json.loads(result.stdout)["result"]
    p = lambda key: snapshot["prices"][key]["regions"]["eu-west-1"]["usd"]  # noqa: E731
    expected = {  # the usage defaults: 100 GB stored, 50k writes, 500k reads, 10 GB out, 20 GB of images
        ("cluster", "eks control plane"): 730 * p("aws.eks.cluster_hour"),
        ("cluster", "pool system: 2-4 x m6i.xlarge"): 2 * 730 * p("aws.eks.node.m6i.xlarge"),  # at min nodes
        ("cluster", "pool gpu: 0-2 x g5.xlarge (spot)"): 0.0,
        ("object_store", "S3 Standard storage"): 100 * p("aws.s3.storage"),
        ("object_store", "PUT, COPY, POST, LIST requests"): 50 * p("aws.s3.write_requests"),
        ("object_store", "GET requests"): 500 * p("aws.s3.read_requests"),
        ("object_store", "data out to the internet"): 10 * p("aws.transfer.out"),
        ("registry", "ECR storage"): 20 * p("aws.ecr.storage"),
    }
    got = {(line["component"], line["item"]): line for line in r["lines"] if not line["unpriced"]}
    assert set(got) == set(expected)
    for key, amount in expected.items():
        assert got[key]["monthly_usd"] == round(amount, 2), key
    assert r["total_usd"] == round(sum(expected.values()), 2)
    # the snapshot has no eu-west-1 price for RDS: its lines are named unpriced, not counted as 0
    assert {(line["component"], line["item"]) for line in r["lines"] if line["unpriced"]} == {
        ("tracking", "RDS PostgreSQL db.t4g.micro (Single-AZ)"), ("tracking", "RDS gp3 storage")}
    assert {"storage_gb", "registry_gb", "hours_up"} <= set(r["assumptions"])


def test_a_stack_on_a_cluster_of_yours_has_no_kubeconfig_of_its_own():
    from mlstack.clients.models import StackClients
    from mlstack.clients.render import render
    from mlstack.errors import UsageError

    clients = StackClients(stack="s", target="kubernetes", components={})
    with pytest.raises(UsageError, match="did not create its cluster"):
        render(clients, {}, "kubeconfig")
    config = json.loads(planned("eks").outputs["mlstack"]["cluster"]["kubeconfig"])
    managed = StackClients.model_validate(planned("eks").outputs["mlstack"])
    assert json.loads(render(managed, {}, "kubeconfig")) == config


@pytest.mark.parametrize(("kind", "flavor"), [("serving", "kserve"), ("orchestrator", "kubeflow")])
def test_a_flavor_whose_add_ons_come_before_the_stack_is_refused_on_a_cluster_it_creates(home, tmp_path, kind, flavor):
    """Add-ons are a stack of their own, deployed first: on a cluster the same deploy creates, they could not be."""
    lines = _bad(home, tmp_path, "eks", f"  {kind}:\n    flavor: {'mlserver' if kind == 'serving' else 'kubernetes'}\n",
                 f"  {kind}:\n    flavor: {flavor}\n    #\n")
    assert any(re.fullmatch(rf"\d+: components\.{kind}\.flavor: {flavor}'s cluster add-ons are installed before the "
                            r"stack, when the eks cluster this stack creates does not exist yet: .*", line)
               for line in lines), lines


def test_without_the_stacks_kubeconfig_the_hint_says_how_to_write_it(tmp_path, monkeypatch):
    from mlstack.components.kubernetes import access
    from mlstack.errors import CredentialsError

    other = tmp_path / "kubeconfig"
    other.write_text(json.dumps({"apiVersion": "v1", "kind": "Config", "current-context": "mine",
                                 "clusters": [{"name": "mine", "cluster": {"server": "https://127.0.0.1:1"}}],
                                 "users": [{"name": "mine", "user": {}}],
                                 "contexts": [{"name": "mine", "context": {"cluster": "mine", "user": "mine"}}]}))
    monkeypatch.setenv("KUBECONFIG", str(other))
    placement = load_recipe(RECIPES / "eks.yaml").target
    with pytest.raises(CredentialsError) as raised:
        access.connect(clusters.context_of("mlops-eks", placement))
    assert "'mlstack-mlops-eks' is not in the kubeconfig" in raised.value.message
    assert raised.value.hint and "mlstack output --stack mlops-eks --format kubeconfig" in raised.value.hint


@each
def test_every_in_cluster_object_depends_on_the_cluster_and_its_pools_so_a_destroy_deletes_it_first(cloud):
    """Pulumi deletes a resource before what it depends on: the in-cluster objects hang from the provider made from
    the cluster's kubeconfig, and that provider from the cluster and every node pool."""
    p = planned(cloud)
    by_urn = {r.urn: r for r in p.resources}

    def reaches(resource, wanted: str, seen: frozenset = frozenset()) -> bool:
        return any(d == wanted or (d in by_urn and d not in seen and reaches(by_urn[d], wanted, seen | {d}))
                   for d in resource.dependencies)

    [provider] = p.of_type("pulumi:providers:kubernetes")
    cluster_type = {"eks": EKS, "gke": GKE, "aks": AKS}[cloud]
    pool_type = {"eks": NG, "gke": NP, "aks": AP}[cloud]
    for needed in [*p.of_type(cluster_type), *p.of_type(pool_type)]:
        assert reaches(provider, needed.urn), needed.name
    in_cluster = [r for r in p.resources if r.custom and r.type.startswith("kubernetes:")]
    assert in_cluster and all(provider.urn in r.dependencies for r in in_cluster)


@each
def test_nvidia_device_plugin_runs_on_the_gpu_pools_where_the_cloud_installs_only_the_driver(cloud):
    from mlstack.versions import KUBERNETES_IMAGES

    agents = [r for r in planned(cloud).of_type("kubernetes:apps/v1:DaemonSet")
              if r.inputs["metadata"]["name"] == "nvidia-device-plugin"]
    if cloud == "gke":  # GKE installs its own with the driver
        assert agents == []
        return
    [agent] = agents
    assert agent.inputs["metadata"]["namespace"] == "kube-system"
    pod = agent.inputs["spec"]["template"]["spec"]
    [term] = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term["matchExpressions"] == [{"key": m.POOL_LABEL, "operator": "In", "values": ["gpu"]}]
    keys = {t["key"] for t in pod["tolerations"]}
    assert keys == ({"nvidia.com/gpu", "kubernetes.azure.com/scalesetpriority"} if cloud == "aks" else {"nvidia.com/gpu"})
    assert pod["containers"][0]["image"] == KUBERNETES_IMAGES["nvidia-device-plugin"]
    assert [v["hostPath"]["path"] for v in pod["volumes"]] == ["/var/lib/kubelet/device-plugins"]


def test_a_cluster_without_gpu_pools_gets_no_device_plugin(tmp_path):
    text = (RECIPES / "eks.yaml").read_text()
    start = text.index("    pools:\n")
    end = text.index("tags:", start)
    path = tmp_path / "eks.yaml"
    path.write_text((text[:start] + text[end:]).replace("    node_pool: gpu\n", ""))
    p = plan(load_recipe(path))
    assert [r for r in p.of_type("kubernetes:apps/v1:DaemonSet")] == []


# What mlstack runs in kube-system of an EKS cluster (its cluster autoscaler, NVIDIA's device plugin): each breach of
# the node-agent rule, and of the autoscaler role's scope.
def _rbac(name: str, change: Callable[[dict], None]) -> Callable[[Plan], None]:
    def mutate(p: Plan) -> None:
        change(next(r for r in p.resources if r.name == name).inputs)
    return mutate


def _impostor(p: Plan) -> None:
    """A Deployment of the stack's namespace that takes the autoscaler's name and label (to escape the workload
    rules), placed before the real one."""
    real = next(r for r in p.resources if r.name == "cluster-autoscaler")
    inputs = copy.deepcopy(real.inputs)
    inputs["metadata"]["namespace"] = "mlops"
    inputs["spec"]["template"]["spec"].update(hostNetwork=True, volumes=[{"name": "root", "hostPath": {"path": "/"}}])
    p.resources.insert(0, type(real)(real.urn + "-impostor", real.type, "cluster-autoscaler-impostor", None, True, inputs))


AGENT_BREACHES = [
    Breach("node_agents_are_pinned_and_confined", "cluster-autoscaler-cluster-role: create, delete, patch on events",
           _rbac("cluster-autoscaler-cluster-role", lambda i: i["rules"][0]["verbs"].append("delete"))),
    Breach("node_agents_are_pinned_and_confined", "cluster-autoscaler-cluster-role: {'apiGroups': [''], 'resources': "
           "['secrets']",
           _rbac("cluster-autoscaler-cluster-role", lambda i: i["rules"].append(
               {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}))),
    Breach("node_agents_are_pinned_and_confined", "cluster-autoscaler/cluster-autoscaler: as root",
           _rbac("cluster-autoscaler", lambda i: i["spec"]["template"]["spec"]["containers"][0]["securityContext"].update(
               runAsUser=0))),
    Breach("node_agents_are_pinned_and_confined", "nvidia-device-plugin: runs beyond the GPU pools",
           _rbac("nvidia-device-plugin", lambda i: i["spec"]["template"]["spec"].update(nodeSelector={"a": "b"}))),
    Breach("node_agents_are_pinned_and_confined", "node agents ['cluster-autoscaler', 'cluster-autoscaler', ",
           lambda p: _impostor(p)),
    Breach("node_agents_are_pinned_and_confined", "cluster-autoscaler-cluster-binding: bound to",
           _rbac("cluster-autoscaler-cluster-binding",
                 lambda i: i["subjects"].append({"kind": "ServiceAccount", "name": "default", "namespace": "mlops"}))),
    Breach("node_agents_are_pinned_and_confined", "cluster-autoscaler/cluster-autoscaler: image",
           _rbac("cluster-autoscaler", lambda i: i["spec"]["template"]["spec"]["containers"][0].update(
               image="registry.k8s.io/autoscaling/cluster-autoscaler:latest"))),
    Breach("node_agents_are_pinned_and_confined", "cluster-autoscaler: mounts host paths",
           _rbac("cluster-autoscaler", lambda i: i["spec"]["template"]["spec"].update(
               volumes=[{"name": "certs", "hostPath": {"path": "/etc/ssl/certs"}}]))),
    Breach("node_agents_are_pinned_and_confined", "nvidia-device-plugin: runs beyond the GPU pools",
           _rbac("nvidia-device-plugin", lambda i: i["spec"]["template"]["spec"].pop("affinity") and
                 i["spec"]["template"]["spec"].update(affinity={"nodeAffinity": {
                     "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}}))),
    Breach("node_agents_are_pinned_and_confined", "node agents ['nvidia-device-plugin'], where the cluster needs",
           lambda p: p.resources.remove(next(r for r in p.resources if r.name == "cluster-autoscaler"))),
    Breach("no_static_keys_and_roles_scoped", "autoscaler-role-policy: beyond the autoscaler's",
           _statement("autoscaler-role-policy", 1, "Condition", {})),
    Breach("no_static_keys_and_roles_scoped", "autoscaler-role-policy: beyond the autoscaler's (iam:PassRole)",
           _statement("autoscaler-role-policy", 0, "Action", ["iam:PassRole"])),
]


@pytest.mark.parametrize("breach", AGENT_BREACHES, ids=lambda b: b.reason)
def test_the_eks_node_agents_rules_catch_their_breaches(breach):
    recipe = load_recipe(RECIPES / "eks.yaml")
    [rule] = [r for r in registry.target("kubernetes").policy_rules(recipe.target) if r.__name__ == breach.rule]
    rule(planned("eks"), recipe)
    weakened = copy.deepcopy(planned("eks"))
    breach.mutate(weakened)
    with pytest.raises(PolicyViolation, match=re.escape(breach.reason)):
        rule(weakened, recipe)


def test_the_eks_cluster_autoscaler_scales_this_clusters_node_groups_by_irsa():
    from mlstack.components.kubernetes import autoscaler

    p = planned("eks")
    [deployment] = [r for r in p.of_type("kubernetes:apps/v1:Deployment") if r.name == "cluster-autoscaler"]
    pod = deployment.inputs["spec"]["template"]["spec"]
    assert pod["containers"][0]["command"] == autoscaler.command("mlops-eks")
    assert "k8s.io/cluster-autoscaler/mlops-eks" in " ".join(pod["containers"][0]["command"])
    [account] = [r for r in p.of_type("kubernetes:core/v1:ServiceAccount") if r.name == "cluster-autoscaler-account"]
    arn = account.inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    [role] = [r for r in p.of_type("aws:iam/role:Role") if r.inputs["arn"] == arn]
    [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    subjects = [v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    assert subjects == ["system:serviceaccount:kube-system:cluster-autoscaler"]
    [policy] = [r for r in p.of_type("aws:iam/rolePolicy:RolePolicy") if r.parent == role.urn]
    writes = json.loads(policy.inputs["policy"])["Statement"][1]
    assert writes["Condition"] == {"StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/mlops-eks": "owned"}}
    # each group starts at its min (then the size is the autoscaler's: the program ignores later changes, which
    # the offline plan does not record, and `drift` does not report them: tests/engine/test_drift_ignores.py)
    for group in p.of_type("aws:eks/nodeGroup:NodeGroup"):
        assert group.inputs["scalingConfig"]["desiredSize"] == group.inputs["scalingConfig"]["minSize"]
    # the autoscaler knows GPU nodes by their accelerator label
    [gpu] = [g for g in p.of_type("aws:eks/nodeGroup:NodeGroup") if g.name == "pool-gpu"]
    assert gpu.inputs["labels"]["k8s.amazonaws.com/accelerator"] == "nvidia-a10g"
    [system] = [g for g in p.of_type("aws:eks/nodeGroup:NodeGroup") if g.name == "pool-system"]
    assert "k8s.amazonaws.com/accelerator" not in system.inputs["labels"]
