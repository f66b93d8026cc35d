"""MLflow's database in the cloud's managed PostgreSQL beside a cluster the stack creates (`tracking: {database:
managed}`; gke: Cloud SQL, eks: RDS, aks: a PostgreSQL flexible server), offline: the instance is the cloud target's
own (private only, TLS only, backed up, a final backup or snapshot kept when `destroy --purge` deletes it), MLflow
connects to it with TLS and the generated password read from its Secret, its egress reaches that address (gke) or
the database subnets' ranges (eks, aks) alone on 5432, RDS admits the cluster's security group alone, the flexible
server is in the recipe's delegated subnet of the nodes' network, and no in-cluster PostgreSQL is made; careless
settings are exit 2 naming the line and field.

The same on the real test control plane: test_real_managed_clusters.py (a stand-in address; no instance is made)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlstack.cli import app
from mlstack.engine.offline import Plan, plan
from mlstack.recipe.loader import load_recipe, load_recipe_text
from tests.conftest import RECIPES, state_files
from tests.kube.test_keyless import _refused  # `validate` is exit 2: its lines, without the file name

GKE = RECIPES / "gke.yaml"
EKS = RECIPES / "eks.yaml"
AKS = RECIPES / "aks.yaml"
FLEXIBLE = "azure-native:dbforpostgresql:Server"
SQL = "gcp:sql/databaseInstance:DatabaseInstance"
RDS = "aws:rds/instance:Instance"


@cache
def planned(path: Path = GKE) -> Plan:
    return plan(load_recipe(path))


def _tracking_env(p: Plan) -> dict[str, dict]:
    [deployment] = [r for r in p.resources if r.name == "tracking-deployment"]
    return {e["name"]: e for e in deployment.raw["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_mlflow_keeps_its_runs_in_cloud_sql_reached_on_its_private_address_with_tls():
    p = planned()
    [instance] = p.of_type(SQL)
    assert instance.parent.endswith("mlstack:kubernetes:Tracking::tracking")
    assert instance.inputs["name"] == "mlops-gke-tracking"
    ip = instance.inputs["settings"]["ipConfiguration"]
    assert ip == {"ipv4Enabled": False, "privateNetwork": "projects/my-ml-project/global/networks/ml-vpc",
                  "sslMode": "ENCRYPTED_ONLY"}
    assert instance.inputs["settings"]["tier"] == "db-custom-1-3840"  # the gcp target's default
    assert instance.inputs["settings"]["backupConfiguration"]["pointInTimeRecoveryEnabled"] is True
    [user] = p.of_type("gcp:sql/user:User")
    assert user.inputs["password"] == "[secret]" and user.inputs["name"] == "mlflow"
    env = _tracking_env(p)
    assert env["DB_HOST"]["value"] == instance.raw["privateIpAddress"]
    assert "DB_SSLMODE" not in env  # the start script's default: require
    assert env["DB_PASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": "mlflow-secrets", "key": "db-password"}}
    # the generated password the Secret holds is the one the instance's user is given
    [secret] = [r for r in p.resources if r.name == "tracking-secrets"]
    assert secret.raw["stringData"]["db-password"] == user.raw["password"]
    # no PostgreSQL of its own in the cluster: no StatefulSet, claim or Service for it
    assert not p.of_type("kubernetes:apps/v1:StatefulSet")
    assert not [r for r in p.resources if r.name.startswith("tracking-db-") and r.type.startswith("kubernetes:")]
    # MLflow waits for the instance, its database and its owner (its start script connects as that owner)
    [deployment] = [r for r in p.resources if r.name == "tracking-deployment"]
    [database] = p.of_type("gcp:sql/database:Database")
    assert {instance.urn, database.urn, user.urn} <= set(deployment.dependencies)


def test_on_eks_mlflow_keeps_its_runs_in_rds_which_admits_the_cluster_s_security_group_alone():
    from mlstack.components.aws.offline import subnet_range

    p = planned(EKS)
    [instance] = p.of_type(RDS)
    assert instance.parent.endswith("mlstack:kubernetes:Tracking::tracking")
    i = instance.inputs
    assert (i["identifier"], i["instanceClass"], i["engine"]) == ("mlops-eks-tracking", "db.t4g.micro", "postgres")
    assert i["publiclyAccessible"] is False and i["storageEncrypted"] is True and i["password"] == "[secret]"
    # a final snapshot named after the stack and this instance: a stack destroyed twice does not reuse a name
    assert i["skipFinalSnapshot"] is False and re.fullmatch(r"mlops-eks-tracking-final-[a-z0-9]{8}",
                                                            i["finalSnapshotIdentifier"])
    # in the cluster's own subnets, behind a group of its own in the cluster's VPC
    [subnets] = p.of_type("aws:rds/subnetGroup:SubnetGroup")
    [cluster] = p.of_type("aws:eks/cluster:Cluster")
    assert subnets.inputs["subnetIds"] == cluster.inputs["vpcConfig"]["subnetIds"]
    assert i["dbSubnetGroupName"] == subnets.inputs["name"]
    [group] = [g for g in p.of_type("aws:ec2/securityGroup:SecurityGroup") if g.name == "tracking-database"]
    assert i["vpcSecurityGroupIds"] == [f"{group.name}-id"] and group.raw["vpcId"] == cluster.raw["vpcConfig"]["vpcId"]
    [rule] = [r for r in p.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
              if r.inputs["securityGroupId"] == f"{group.name}-id"]
    assert (rule.inputs["fromPort"], rule.inputs["toPort"], rule.inputs["ipProtocol"]) == (5432, 5432, "tcp")
    assert rule.raw["referencedSecurityGroupId"] == cluster.raw["vpcConfig"]["clusterSecurityGroupId"]
    assert "cidrIpv4" not in rule.inputs
    env = _tracking_env(p)
    assert env["DB_HOST"]["value"] == instance.raw["address"] and "DB_SSLMODE" not in env  # TLS: `require`
    [secret] = [r for r in p.resources if r.name == "tracking-secrets"]
    assert secret.raw["stringData"]["db-password"] == instance.raw["password"]
    assert not p.of_type("kubernetes:apps/v1:StatefulSet")
    [deployment] = [r for r in p.resources if r.name == "tracking-deployment"]
    assert instance.urn in deployment.dependencies
    # MLflow's egress: the database subnets' ranges on 5432, each as the plan's subnet lookup answered it
    [egress] = [n for n in p.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
                if n.inputs["metadata"]["name"] == "allow-mlflow-egress"]
    database = [r for r in egress.inputs["spec"]["egress"] if {"port": 5432, "protocol": "TCP"} in r["ports"]]
    assert database == [{"ports": [{"port": 5432, "protocol": "TCP"}], "to": [{"ipBlock": {"cidr": subnet_range(s)}}]}
                        for s in subnets.inputs["subnetIds"]]
    assert len({subnet_range(s) for s in subnets.inputs["subnetIds"]}) == 2


def test_on_eks_the_policy_holds_the_database_to_the_cluster_and_the_egress_to_its_subnets():
    import copy

    from mlstack.components.aws.policy import databases_are_private_encrypted_with_generated_passwords as db_rule
    from mlstack.components.kubernetes.clusters.eks import endpoint_is_private_or_allow_listed
    from mlstack.components.kubernetes.policy import network_is_default_deny_with_one_allow_per_flow as net_rule
    from mlstack.policy import PolicyViolation

    from mlstack.components.aws.offline import subnet_range

    p, recipe = planned(EKS), load_recipe(EKS)
    db_rule(p, recipe), net_rule(p, recipe), endpoint_is_private_or_allow_listed(p, recipe)
    subnets = p.of_type("aws:rds/subnetGroup:SubnetGroup")[0].inputs["subnetIds"]
    opened = copy.deepcopy(p)  # the database's group admits an address range, not the cluster's group
    [rule] = [r for r in opened.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
              if r.name == "tracking-db-from-cluster"]
    rule.inputs["cidrIpv4"] = "10.0.0.0/8"
    with pytest.raises(PolicyViolation, match="must admit only the server's security group"):
        db_rule(opened, recipe)
    public = copy.deepcopy(p)
    public.of_type(RDS)[0].inputs["publiclyAccessible"] = True
    with pytest.raises(PolicyViolation, match="tracking-db: public or unencrypted"):
        db_rule(public, recipe)
    others = copy.deepcopy(p)  # the database's subnets are MLflow's to reach alone, not the pipelines'
    [egress] = [n for n in others.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
                if n.inputs["metadata"]["name"] == "allow-pipelines-egress"]
    egress.inputs["spec"]["egress"].append({"to": [{"ipBlock": {"cidr": subnet_range(subnets[0])}}],
                                            "ports": [{"port": 5432, "protocol": "TCP"}]})
    with pytest.raises(PolicyViolation, match=r"orchestrator-egress: reaches 192\.0\.2\.\d+/28 on \[5432\], not an "
                       r"address this cluster declares \(none\)"):
        net_rule(others, recipe)
    wider = copy.deepcopy(p)  # the egress reaches more than the database subnets
    [egress] = [n for n in wider.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
                if n.inputs["metadata"]["name"] == "allow-mlflow-egress"]
    next(r for r in egress.inputs["spec"]["egress"] if r["ports"][0]["port"] == 5432)["to"][0]["ipBlock"][
        "cidr"] = "0.0.0.0/0"
    with pytest.raises(PolicyViolation, match=r"reaches 0\.0\.0\.0/0 on \[5432\]"):
        net_rule(wider, recipe)


def test_its_egress_reaches_the_database_s_address_alone_and_the_network_rule_holds_it_to_that():
    import copy

    from mlstack.components.kubernetes.policy import network_is_default_deny_with_one_allow_per_flow as rule
    from mlstack.policy import PolicyViolation

    p, recipe = planned(), load_recipe(GKE)
    [instance] = p.of_type(SQL)
    [egress] = [n for n in p.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
                if n.inputs["metadata"]["name"] == "allow-mlflow-egress"]
    database = [r for r in egress.inputs["spec"]["egress"] if {"port": 5432, "protocol": "TCP"} in r["ports"]]
    assert database == [{"ports": [{"port": 5432, "protocol": "TCP"}],
                         "to": [{"ipBlock": {"cidr": f"{instance.raw['privateIpAddress']}/32"}}]}]
    rule(p, recipe)
    weakened = copy.deepcopy(p)
    [egress] = [n for n in weakened.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
                if n.inputs["metadata"]["name"] == "allow-mlflow-egress"]
    next(r for r in egress.inputs["spec"]["egress"] if r["ports"][0]["port"] == 5432)["to"][0]["ipBlock"][
        "cidr"] = "10.0.0.0/8"
    with pytest.raises(PolicyViolation, match=r"reaches 10\.0\.0\.0/8 on \[5432\]"):
        rule(weakened, recipe)


@pytest.mark.parametrize("path, named", [
    (GKE, "its Cloud SQL instance with the runs (Cloud SQL keeps a final backup for 30 days)"),
    (EKS, "its RDS instance with the runs (RDS keeps a final snapshot, named after the stack)"),
    (AKS, "its PostgreSQL flexible server with the runs (Azure keeps its backups for 7 days, restorable as a new "
          "server)"),
])
def test_destroy_asks_for_purge_naming_the_instance_and_cost_names_it(home, tmp_path, path, named):
    if path == GKE:
        [instance] = planned().of_type(SQL)
        assert instance.inputs.get("deletionProtection") is False  # `destroy --purge` deletes it: the backup stays
        assert instance.inputs["settings"]["finalBackupConfig"] == {"enabled": True, "retentionDays": 30}
    # a plain destroy is refused before anything runs, naming what --purge would delete with the cluster
    result = CliRunner().invoke(app, ["destroy", str(path), "--yes"])
    assert result.exit_code == 2, result.output
    assert named in " ".join(result.output.split())
    assert "with --purge" in result.output and state_files(home) == []
    result = CliRunner().invoke(app, ["cost", str(path), "--json"])
    assert result.exit_code == 0, result.output
    named = json.dumps(json.loads(result.stdout)["result"])
    assert "tracking-db" in named  # priced, or named as unpriced: never left out


def test_the_in_cluster_database_is_unchanged_where_the_recipe_does_not_ask():
    p = planned(RECIPES / "kubernetes.yaml")
    assert not p.of_type(SQL) and not p.of_type(RDS) and not p.of_type(FLEXIBLE)
    assert [r.name for r in p.of_type("kubernetes:apps/v1:StatefulSet") if r.name == "tracking-database"]
    env = _tracking_env(p)
    assert env["DB_SSLMODE"]["value"] == "disable" and env["DB_HOST"]["value"].endswith(".svc.cluster.local")


def _line(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


@pytest.mark.parametrize("recipe, cluster", [("kubernetes.yaml", "existing"), ("kind.yaml", "kind")])
def test_a_managed_database_is_refused_on_a_cluster_the_stack_does_not_create(home, tmp_path, recipe, cluster):
    text = (RECIPES / recipe).read_text().replace("    flavor: mlflow\n", "    flavor: mlflow\n    database: managed\n")
    assert lines_of(_refused(home, tmp_path, text)) == [
        (_line(text, "database: managed"), "components.tracking.database",
         f"a managed PostgreSQL is the cloud's, beside a cluster the stack creates (`cluster: {{type: aks | eks | gke}}`); on "
         f"this {cluster} cluster leave it `in_cluster`")
    ]


def test_on_aks_a_managed_database_needs_a_delegated_subnet_of_the_nodes_network(home, tmp_path):
    text = AKS.read_text()
    database = next(ln for ln in text.splitlines() if "database_subnet_id:" in ln)
    nodes = next(ln for ln in text.splitlines() if "  subnet_id:" in ln)
    without = text.replace(database + "\n", "")
    assert lines_of(_refused(home, tmp_path, without)) == [
        (_line(without, "database: managed"), "components.tracking.database",
         "a managed PostgreSQL beside an aks cluster lives in a delegated subnet of the nodes' network: set the "
         "cluster's subnet_id and database_subnet_id")
    ]
    alone = text.replace(nodes + "\n", "")
    assert lines_of(_refused(home, tmp_path, alone)) == [
        (_line(alone, "  cluster:"), "target.cluster",
         "database_subnet_id needs subnet_id: the database is reached from the nodes' virtual network")
    ]
    elsewhere = text.replace(database, database.replace("/ml-vnet/", "/other-vnet/"))
    assert lines_of(_refused(home, tmp_path, elsewhere)) == [
        (_line(elsewhere, "  cluster:"), "target.cluster",
         "database_subnet_id is not in subnet_id's virtual network: the nodes could not reach it")
    ]
    shared = text.replace(database, database.replace("mlflow-db", "AKS-NODES"))
    assert lines_of(_refused(home, tmp_path, shared)) == [
        (_line(shared, "  cluster:"), "target.cluster",
         "database_subnet_id is the nodes' subnet: give the database a delegated subnet of its own")
    ]
    other = text.replace("    subnet_id:", "    subscription_id: 11111111-1111-1111-1111-111111111111\n    subnet_id:", 1)
    assert lines_of(_refused(home, tmp_path, other)) == [
        (_line(other, "  cluster:"), "target.cluster",
         "a subnet of another subscription than subscription_id: the cluster, its database and their network are in "
         "one subscription")
    ]
    ranges = text.replace("    subnet_id:", "    pod_cidr: 172.20.128.0/17\n    subnet_id:", 1)
    assert lines_of(_refused(home, tmp_path, ranges)) == [
        (_line(ranges, "  cluster:"), "target.cluster",
         "service_cidr 172.20.0.0/16 overlaps pod_cidr 172.20.128.0/17")
    ]
    public = text.replace("    subnet_id:", "    service_cidr: 8.8.0.0/16\n    subnet_id:", 1)
    assert lines_of(_refused(home, tmp_path, public)) == [
        (_line(public, "service_cidr"), "target.cluster.service_cidr", "8.8.0.0/16 is not a private range of /8 to /24")
    ]
    size = text.replace("    database: managed\n", "    database: managed\n    database_storage_gb: 50\n")
    assert lines_of(_refused(home, tmp_path, size)) == [
        (_line(size, "database_storage_gb"), "components.tracking.database_storage_gb",
         "Azure's flexible server offers 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384 GiB; got 50")
    ]
    tier = text.replace("    database: managed\n", "    database: managed\n    database_tier: db.t4g.micro\n")
    assert lines_of(_refused(home, tmp_path, tier)) == [
        (_line(tier, "database_tier"), "components.tracking.database_tier",
         "not a tier of azure's managed PostgreSQL (e.g. Standard_B1ms)")
    ]


def test_on_aks_mlflow_keeps_its_runs_in_a_flexible_server_in_the_recipe_s_delegated_subnet():
    from mlstack.components.azure.offline import subnet_range
    from mlstack.components.kubernetes.clusters.aks import NETWORK_CONTRIBUTOR

    p, spec = planned(AKS), load_recipe(AKS).target.cluster
    [server] = p.of_type(FLEXIBLE)
    assert server.parent.endswith("mlstack:kubernetes:Tracking::tracking")
    i = server.inputs
    assert (i["serverName"], i["version"], i["sku"]) == ("mlops-aks-tracking", "17",
                                                         {"name": "Standard_B1ms", "tier": "Burstable"})
    assert i["network"] == {"publicNetworkAccess": "Disabled", "delegatedSubnetResourceId": spec.database_subnet_id,
                            "privateDnsZoneArmResourceId": "tracking-db-dns-id"}
    assert i["administratorLoginPassword"] == "[secret]" and i["backup"]["backupRetentionDays"] == 7
    # the recipe's size, grown by raising it: Azure's auto-grow would put the disk above it, and every later update
    # of the server (its body holds the size) would be refused as a shrink
    assert i["storage"] == {"storageSizeGB": 32, "autoGrow": "Disabled"}
    assert i["resourceGroupName"] == "mlops-aks-aks"  # the cluster's group: destroyed with it
    [zone] = p.of_type("azure-native:privatedns:PrivateZone")
    [link] = p.of_type("azure-native:privatedns:VirtualNetworkLink")
    assert zone.inputs["privateZoneName"] == "mlops-aks-tracking.private.postgres.database.azure.com"
    assert link.inputs["virtualNetwork"] == {"id": spec.subnet_id.rsplit("/subnets/", 1)[0]}
    assert link.inputs["privateZoneName"] == zone.inputs["privateZoneName"] and link.urn in server.dependencies
    # the nodes in the recipe's subnet, which the cluster's own identity alone may manage
    [cluster] = p.of_type("azure-native:containerservice:ManagedCluster")
    pools = [*cluster.inputs["agentPoolProfiles"], *(a.inputs for a in p.of_type(
        "azure-native:containerservice:AgentPool"))]
    assert [x["vnetSubnetID"] for x in pools] == [spec.subnet_id] * 2
    # Service and pod ranges of the cluster's own, not AKS' 10.0.0.0/16, which many networks are
    network = cluster.inputs["networkProfile"]
    assert (network["serviceCidr"], network["dnsServiceIP"], network["podCidr"]) == (
        "172.20.0.0/16", "172.20.0.10", "10.244.0.0/16")
    [grant] = [g for g in p.of_type("azure-native:authorization:RoleAssignment")
               if g.inputs["roleDefinitionId"].endswith(NETWORK_CONTRIBUTOR)]
    assert grant.inputs["scope"] == spec.subnet_id and grant.inputs["principalId"] == "cluster-identity-principal-id"
    assert grant.urn in cluster.dependencies
    env = _tracking_env(p)
    assert env["DB_HOST"]["value"] == server.raw["fullyQualifiedDomainName"] and "DB_SSLMODE" not in env
    [secret] = [r for r in p.resources if r.name == "tracking-secrets"]
    assert secret.raw["stringData"]["db-password"] == server.raw["administratorLoginPassword"]
    assert not p.of_type("kubernetes:apps/v1:StatefulSet")
    [deployment] = [r for r in p.resources if r.name == "tracking-deployment"]
    [database] = p.of_type("azure-native:dbforpostgresql:Database")
    assert {server.urn, database.urn} <= set(deployment.dependencies)
    # MLflow's egress: the delegated subnet's range on 5432, as the plan's subnet lookup answered it
    [egress] = [n for n in p.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
                if n.inputs["metadata"]["name"] == "allow-mlflow-egress"]
    reached = [r for r in egress.raw["spec"]["egress"] if {"port": 5432, "protocol": "TCP"} in r["ports"]]
    lookup = {"resourceGroupName": "network-rg", "virtualNetworkName": "ml-vnet", "subnetName": "mlflow-db"}
    assert reached == [{"ports": [{"port": 5432, "protocol": "TCP"}], "to": [{"ipBlock": {"cidr": subnet_range(lookup)}}]}]


def test_on_aks_the_policy_holds_the_database_and_the_nodes_to_the_recipe_s_network():
    import copy

    from mlstack.components.kubernetes.clusters.aks import (
        PROVISIONER,
        the_cluster_and_its_database_keep_to_the_recipes_network as rule,
        workload_identities_are_federated_to_one_account_and_scoped as roles,
    )
    from mlstack.components.kubernetes.policy import network_is_default_deny_with_one_allow_per_flow as net_rule
    from mlstack.policy import PolicyViolation

    p, recipe = planned(AKS), load_recipe(AKS)
    rule(p, recipe), roles(p, recipe), net_rule(p, recipe)

    def broken(change, message):
        changed = copy.deepcopy(p)
        change(changed)
        with pytest.raises(PolicyViolation, match=message):
            rule(changed, recipe)

    def public(plan):
        plan.of_type(FLEXIBLE)[0].inputs["network"]["publicNetworkAccess"] = "Enabled"

    def moved(plan):
        plan.of_type(FLEXIBLE)[0].inputs["network"]["delegatedSubnetResourceId"] = recipe.target.cluster.subnet_id

    def linked_elsewhere(plan):
        plan.of_type("azure-native:privatedns:VirtualNetworkLink")[0].inputs["virtualNetwork"]["id"] = "/other"

    def wider(plan):
        [grant] = [g for g in plan.of_type("azure-native:authorization:RoleAssignment") if g.name ==
                   "cluster-subnet-network"]
        grant.inputs["scope"] = recipe.target.cluster.subnet_id.rsplit("/subnets/", 1)[0]

    def off_network(plan):
        plan.of_type("azure-native:containerservice:AgentPool")[0].inputs.pop("vnetSubnetID")

    broken(public, "tracking-db: public access")
    broken(moved, "tracking-db: in .*/subnets/aks-nodes, not the recipe's database subnet")
    broken(linked_elsewhere, "tracking-db: its zone is linked to /other, not the nodes'")
    broken(wider, "cluster-subnet-network: Network Contributor on .*/virtualNetworks/ml-vnet, beyond the cluster's")
    broken(off_network, "pool-gpu: nodes in None")
    # the database's subnet is MLflow's to reach alone
    others = copy.deepcopy(p)
    [egress] = [n for n in others.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
                if n.inputs["metadata"]["name"] == "allow-pipelines-egress"]
    [(cidr, _)] = PROVISIONER.database_blocks(p)
    egress.inputs["spec"]["egress"].append({"to": [{"ipBlock": {"cidr": cidr}}],
                                            "ports": [{"port": 5432, "protocol": "TCP"}]})
    with pytest.raises(PolicyViolation, match=r"orchestrator-egress: reaches 198\.51\.100\.\d+/28 on \[5432\]"):
        net_rule(others, recipe)


def test_a_tier_of_another_cloud_or_without_a_managed_database_is_refused(home, tmp_path):
    text = GKE.read_text().replace("    database: managed\n", "    database: managed\n    database_tier: db.t4g.micro\n")
    assert lines_of(_refused(home, tmp_path, text)) == [
        (_line(text, "database_tier"), "components.tracking.database_tier",
         "not a tier of gcp's managed PostgreSQL (e.g. db-custom-1-3840)")
    ]
    text = EKS.read_text().replace("    database: managed", "    database_tier: db-custom-1-3840\n    database: managed")
    assert lines_of(_refused(home, tmp_path, text)) == [
        (_line(text, "database_tier"), "components.tracking.database_tier",
         "not a tier of aws's managed PostgreSQL (e.g. db.t4g.micro)")
    ]
    text = GKE.read_text().replace("    database: managed\n", "    database_tier: db-custom-2-7680\n")
    assert lines_of(_refused(home, tmp_path, text)) == [
        (_line(text, "database_tier"), "components.tracking.database_tier",
         "sizes the cloud's managed database: set `database: managed` with it, or leave it out")
    ]


def test_airflow_is_refused_beside_a_managed_database(home, tmp_path):
    """Airflow keeps its metadata in the tracking component's in-cluster PostgreSQL."""
    text = GKE.read_text()
    start, end = text.index("  object_store:\n"), text.index("\n  registry:")
    text = text[:start] + "  object_store:\n    flavor: seaweedfs\n    buckets: [mlstack]" + text[end:]
    text = text.replace("    flavor: kubernetes\n", "    flavor: airflow\n")
    text = "\n".join(ln for ln in text.splitlines() if "node_pool: gpu" not in ln or "serving" in ln) + "\n"
    assert lines_of(_refused(home, tmp_path, text)) == [
        (_line(text, "flavor: airflow"), "components.orchestrator.flavor",
         "Airflow keeps its metadata in the tracking component's in-cluster PostgreSQL: with it, leave "
         "components.tracking.database `in_cluster`")
    ]


def lines_of(lines: list[str]) -> list[tuple[int, str, str]]:
    """`LINE: FIELD: MESSAGE` lines as tuples."""
    found = []
    for line in lines:
        number, field, message = line.split(": ", 2)
        found.append((int(number), field, message))
    return found


def test_on_aks_a_deploy_in_another_subscription_or_to_a_subnet_of_several_ranges_fails_clearly():
    """What only a deploy can tell (the subscription signed in to, the subnet's ranges as Azure answers them) fails
    the deploy with what to do, before the cluster or the database is made."""
    from mlstack.components.kubernetes.cloud.aks import _address_range, _same

    ours = "00000000-0000-0000-0000-000000000000"
    assert _same(ours.upper(), ours) == ours.upper()
    with pytest.raises(ValueError, match=f"subscription {ours}, and the deploy runs in 1111"):
        _same("11111111-1111-1111-1111-111111111111", ours)
    subnet = "/subscriptions/x/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v/subnets/db"
    assert _address_range({"addressPrefix": "10.1.2.0/24"}, subnet) == "10.1.2.0/24"
    assert _address_range({"addressPrefixes": ["10.1.2.0/24", "fd00::/64"]}, subnet) == "10.1.2.0/24"
    with pytest.raises(ValueError, match=r"has 2 IPv4 address ranges \(10\.1\.2\.0/24, 10\.1\.3\.0/24\)"):
        _address_range({"addressPrefixes": ["10.1.2.0/24", "10.1.3.0/24"]}, subnet)
    with pytest.raises(ValueError, match="has 0 IPv4 address ranges"):
        _address_range({}, subnet)


def test_azure_subnet_ids_are_read_whatever_their_case():
    from mlstack.components.azure.settings import virtual_network

    text = AKS.read_text()
    spec = load_recipe(AKS).target.cluster
    upper = spec.database_subnet_id.replace("/subnets/", "/Subnets/")
    assert virtual_network(upper) == virtual_network(spec.subnet_id)
    assert load_recipe_text(text.replace(spec.database_subnet_id, upper)).target.cluster.database_subnet_id == upper


def test_on_aks_a_recipe_of_another_subscription_s_network_plans_offline():
    """The offline plan answers as a deploy signed in to the subscription of the recipe's subnets would (a deploy
    signed in to another fails before the cluster is made)."""
    other = "11111111-2222-3333-4444-555555555555"
    text = AKS.read_text().replace("/subscriptions/00000000-0000-0000-0000-000000000000/", f"/subscriptions/{other}/")
    p = plan(load_recipe_text(text, str(AKS)))
    [grant] = [g for g in p.of_type("azure-native:authorization:RoleAssignment") if g.name == "cluster-subnet-network"]
    assert grant.inputs["roleDefinitionId"].startswith(f"/subscriptions/{other}/providers/")
    assert grant.inputs["scope"].startswith(f"/subscriptions/{other}/")
