"""The cloud's own store and registry beside a managed cluster (eks: s3 and ecr), offline: each Kubernetes service
account that reaches the buckets is bound (IRSA) to a role only it may assume, allowed the object verbs on the
stack's buckets alone; no key is generated or stored anywhere; the flavors are refused where no identity of the
cluster can reach them, and Airflow (whose S3 connection takes keys) is refused beside them.

The same bindings on the real test control plane: test_real_managed_clusters.py."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlstack.cli import app
from mlstack.components.kubernetes.clusters.eks import IRSA_ANNOTATION
from mlstack.engine.offline import Plan, plan
from mlstack.recipe.loader import load_recipe
from tests.conftest import RECIPES, state_files

BOUND = {"mlflow", "zenml-pipelines", "zenml-steps"}  # MLflow's server, ZenML's orchestrator pod and steps
OBJECT_VERBS = {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts"}
BUCKET_VERBS = {"s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"}


@cache
def planned(path: Path = RECIPES / "eks.yaml") -> Plan:
    return plan(load_recipe(path))


def _roles(p: Plan) -> dict[str, dict]:
    """Role ARN -> its trust and inline policy documents."""
    found = {}
    for role in p.of_type("aws:iam/role:Role"):
        policies = [
            json.loads(rp.inputs["policy"])
            for rp in p.of_type("aws:iam/rolePolicy:RolePolicy")
            if rp.parent == role.urn or rp.name == f"{role.name}-buckets"
        ]
        found[role.inputs["arn"]] = {"trust": json.loads(role.inputs["assumeRolePolicy"]), "policies": policies}
    return found


def test_each_account_that_reaches_the_buckets_assumes_a_role_of_its_own_scoped_to_them():
    p = planned()
    roles, namespace = _roles(p), load_recipe(RECIPES / "eks.yaml").target.namespace
    [bucket] = [b.inputs["arn"] for b in p.of_type("aws:s3/bucket:Bucket")]
    assert bucket == "arn:aws:s3:::mlops-eks-artifacts"
    accounts = {  # the stack's own (kube-system's cluster autoscaler has a role of its own, not on the buckets)
        sa.inputs["metadata"]["name"]: sa.inputs["metadata"].get("annotations", {}).get(IRSA_ANNOTATION)
        for sa in p.of_type("kubernetes:core/v1:ServiceAccount")
        if sa.inputs["metadata"]["namespace"] == namespace
    }
    assert {name for name, arn in accounts.items() if arn} == BOUND
    assert len({accounts[a] for a in BOUND}) == len(BOUND)  # one role each
    for account in BOUND:
        role = roles[accounts[account]]
        [statement] = role["trust"]["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        [oidc] = [o.inputs["arn"] for o in p.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")]
        assert statement["Principal"] == {"Federated": oidc}  # the cluster's own OIDC provider
        subjects = {k.rsplit(":", 1)[1]: v for k, v in statement["Condition"]["StringEquals"].items()}
        assert subjects == {"sub": f"system:serviceaccount:{namespace}:{account}", "aud": "sts.amazonaws.com"}
        [policy] = role["policies"]
        granted = {(tuple(sorted(s["Action"])), tuple(s["Resource"])) for s in policy["Statement"]}
        assert granted == {
            (tuple(sorted(BUCKET_VERBS)), (bucket,)),
            (tuple(sorted(OBJECT_VERBS)), (f"{bucket}/*",)),
        }


def test_no_key_is_generated_stored_or_handed_to_a_pod():
    p = planned()
    assert not p.of_type("aws:iam/accessKey:AccessKey")
    secrets = {s.inputs["metadata"]["name"] for s in p.of_type("kubernetes:core/v1:Secret")}
    assert secrets == {"mlflow-secrets"}  # MLflow's own: its database and admin passwords; no store or pull keys
    [mlflow] = [d for d in p.of_type("kubernetes:apps/v1:Deployment") if d.inputs["metadata"]["name"] == "mlflow"]
    pod = mlflow.inputs["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "mlflow" and pod["automountServiceAccountToken"] is False
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MLFLOW_S3_ENDPOINT_URL"} & set(env)
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["ARTIFACTS_DESTINATION"] == "s3://mlops-eks-artifacts/mlflow"
    clients = p.outputs["mlstack"]["components"]
    assert "pull_secret" not in clients["registry"] and "image_pull_secrets" not in clients["orchestrator"]
    assert not {"access_key", "secret_key", "endpoint_url"} & set(clients["object_store"])


def test_mlflow_reaches_the_clouds_https_endpoints_and_nothing_else_new():
    p = planned()
    [egress] = [
        n for n in p.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if n.inputs["metadata"]["name"] == "allow-mlflow-egress"
    ]
    anywhere = [rule for rule in egress.inputs["spec"]["egress"] if "to" not in rule]
    assert anywhere == [{"ports": [{"port": 443, "protocol": "TCP"}]}]


def test_a_kms_key_given_to_the_buckets_is_the_only_key_the_roles_may_use(tmp_path):
    key = "arn:aws:kms:eu-west-1:111122223333:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    text = (RECIPES / "eks.yaml").read_text().replace("buckets: [artifacts]", f"buckets: [artifacts]\n    kms_key_arn: {key}")
    path = tmp_path / "eks.yaml"
    path.write_text(text)
    policies = [  # the roles of the accounts that reach the buckets (not the cluster autoscaler's)
        policy
        for role in _roles(planned(path)).values()
        if "cluster-autoscaler" not in json.dumps(role["trust"])
        for policy in role["policies"]
    ]
    assert len(policies) == len(BOUND)
    for policy in policies:
        kms = [s for s in policy["Statement"] if any(a.startswith("kms:") for a in s["Action"])]
        assert kms == [{"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": [key]}]


def _refused(home, tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and state_files(home) == []
    return [line.removeprefix(f"{path}:") for line in result.stderr.splitlines() if line.strip()]


@pytest.mark.parametrize(("cluster", "shown"), [("{type: kind}", "kind"), ("{type: existing}", "existing")])
def test_the_clouds_flavors_are_refused_where_no_identity_of_the_cluster_reaches_them(home, tmp_path, cluster, shown):
    text = (
        "apiVersion: mlstack/v1\nname: mixed\ntarget:\n  type: kubernetes\n"
        f"  cluster: {cluster}\ncomponents:\n  object_store:\n    flavor: s3\n  registry:\n    flavor: ecr\n"
    )
    lines = _refused(home, tmp_path, text)
    assert lines == [
        f"8: components.object_store.flavor: s3 is aws's own, reached keylessly from a cluster the stack creates "
        f"there (`cluster: {{type: eks}}`); on this {shown} cluster pick an in-cluster flavor",
        f"10: components.registry.flavor: ecr is aws's own, reached keylessly from a cluster the stack creates "
        f"there (`cluster: {{type: eks}}`); on this {shown} cluster pick an in-cluster flavor",
    ]


def test_s3_is_refused_on_another_clouds_cluster(home, tmp_path):
    text = (RECIPES / "gke.yaml").read_text()
    start = text.index("  object_store:\n")
    end = text.index("\n  registry:", start)
    lines = _refused(home, tmp_path, text[:start] + "  object_store:\n    flavor: s3" + text[end:])
    assert len(lines) == 1 and "components.object_store.flavor: s3 is aws's own" in lines[0]
    assert "on this gke cluster pick an in-cluster flavor" in lines[0]


def test_airflow_beside_s3_is_refused_naming_why(home, tmp_path):
    text = (RECIPES / "eks.yaml").read_text().replace("flavor: kubernetes\n", "flavor: airflow\n")
    # (its in-cluster PostgreSQL: Airflow keeps its metadata there, and is refused beside a managed one too)
    text = "\n".join(ln for ln in text.splitlines()
                     if ("node_pool: gpu" not in ln or "serving" in ln) and "database: managed" not in ln) + "\n"
    lines = _refused(home, tmp_path, text)
    line_no = text.splitlines().index("    flavor: airflow") + 1
    assert lines == [
        f"{line_no}: components.orchestrator: flavor 'airflow' works with components.object_store of flavor minio "
        "or seaweedfs, not 's3': its S3 connection (task logs, DAG bundles) logs in with the in-cluster store's "
        "keys; it does not take a cloud identity yet"
    ]


def test_gke_pods_reach_the_metadata_server_and_no_other_address_block():
    from mlstack.components.kubernetes.clusters.gke import METADATA_SERVER
    from mlstack.components.kubernetes.policy import network_is_default_deny_with_one_allow_per_flow as rule
    from mlstack.policy import PolicyViolation

    recipe = load_recipe(RECIPES / "gke.yaml")
    p = planned(RECIPES / "gke.yaml")
    [database] = p.of_type("gcp:sql/databaseInstance:DatabaseInstance")  # MLflow's (`database: managed`)
    for name, more in (("allow-mlflow-egress", {(f"{database.raw['privateIpAddress']}/32", 5432)}),
                       ("allow-pipelines-egress", set())):
        [egress] = [n for n in p.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
                    if n.inputs["metadata"]["name"] == name]
        blocks = {(peer["ipBlock"]["cidr"], r["ports"][0]["port"]) for r in egress.inputs["spec"]["egress"]
                  for peer in r.get("to", []) if "ipBlock" in peer}
        assert blocks == set(METADATA_SERVER) | more, name
    rule(p, recipe)
    weakened = copy.deepcopy(p)
    [egress] = [n for n in weakened.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
                if n.inputs["metadata"]["name"] == "allow-mlflow-egress"]
    next(peer for r in egress.inputs["spec"]["egress"] for peer in r.get("to", []) if "ipBlock" in peer)[
        "ipBlock"]["cidr"] = "0.0.0.0/0"
    with pytest.raises(PolicyViolation, match="reaches 0.0.0.0/0 on .80., not an address this cluster declares"):
        rule(weakened, recipe)
    # on EKS the same address is the instance metadata (the node's role): no cluster but GKE declares it
    eks = load_recipe(RECIPES / "eks.yaml")
    on_eks = copy.deepcopy(planned())
    [egress] = [n for n in on_eks.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
                if n.inputs["metadata"]["name"] == "allow-mlflow-egress"]
    egress.inputs["spec"]["egress"].append({"to": [{"ipBlock": {"cidr": "169.254.169.254/32"}}],
                                            "ports": [{"port": 80, "protocol": "TCP"}]})
    with pytest.raises(PolicyViolation, match=r"reaches 169.254.169.254/32 on \[80\], not an address this cluster "
                       r"declares \(192\.0\.2\.\d+/28:5432, 192\.0\.2\.\d+/28:5432\)"):  # its database's subnets alone
        rule(on_eks, eks)


ANNOTATIONS = {"eks.yaml": IRSA_ANNOTATION, "gke.yaml": "iam.gke.io/gcp-service-account",
               "aks.yaml": "azure.workload.identity/client-id"}


@pytest.mark.parametrize("recipe", sorted(ANNOTATIONS))
def test_on_every_cloud_each_bound_account_has_an_identity_of_its_own_and_no_key_exists(recipe):
    p = planned(RECIPES / recipe)
    accounts = {sa.inputs["metadata"]["name"]: (sa.inputs["metadata"].get("annotations") or {}).get(ANNOTATIONS[recipe])
                for sa in p.of_type("kubernetes:core/v1:ServiceAccount") if sa.inputs["metadata"]["namespace"] == "mlops"}
    assert {a for a, identity in accounts.items() if identity} == BOUND
    assert len({accounts[a] for a in BOUND}) == len(BOUND)
    assert {s.inputs["metadata"]["name"] for s in p.of_type("kubernetes:core/v1:Secret")} == {"mlflow-secrets"}
    [mlflow] = [d for d in p.of_type("kubernetes:apps/v1:Deployment") if d.inputs["metadata"]["name"] == "mlflow"]
    template = mlflow.inputs["spec"]["template"]
    assert template["spec"]["serviceAccountName"] == "mlflow"
    clients = p.outputs["mlstack"]["components"]
    assert "image_pull_secrets" not in clients["orchestrator"] and "pull_secret" not in clients["registry"]
    if recipe == "aks.yaml":  # AKS' webhook projects the token only into pods carrying its label
        assert template["metadata"]["labels"]["azure.workload.identity/use"] == "true"
        assert clients["orchestrator"]["pod_labels"]["azure.workload.identity/use"] == "true"
    else:
        assert "azure.workload.identity/use" not in template["metadata"]["labels"]


def _depends(p: Plan, resource: str, on: str) -> bool:
    """`resource` waits for `on` (directly or through what it waits for)."""
    by_name = {r.name: r for r in p.resources}
    by_urn = {r.urn: r for r in p.resources}
    todo, seen = [by_name[resource].urn], set()
    while todo:
        urn = todo.pop()
        if urn in seen:
            continue
        seen.add(urn)
        found = by_urn.get(urn)
        todo += list(found.dependencies) if found else []
    return by_name[on].urn in seen


def test_a_gke_binding_waits_for_the_cluster_whose_pool_it_names():
    """The project's Workload Identity pool exists once a cluster with Workload Identity does: GCP refuses a
    binding to it before."""
    p = planned(RECIPES / "gke.yaml")
    for binding in ("tracking-identity-user", "orchestrator-zenml-steps-identity-user"):
        assert _depends(p, binding, "cluster"), binding


def test_an_aks_grant_waits_for_its_container():
    p = planned(RECIPES / "aks.yaml")
    [grant] = [r for r in p.of_type("azure-native:authorization:RoleAssignment") if r.name == "tracking-identity-artifacts"]
    assert grant.inputs["scope"] == "object_store-azure-blob-artifacts-id"  # the container's own id
    assert _depends(p, "tracking-identity-artifacts", "object_store-azure-blob-artifacts")


def test_aks_pipelines_and_mlflow_know_the_storage_account_their_az_paths_do_not_name():
    p = planned(RECIPES / "aks.yaml")
    account = next(iter(p.of_type("azure-native:storage:StorageAccount"))).inputs["accountName"]
    [mlflow] = [d for d in p.of_type("kubernetes:apps/v1:Deployment") if d.inputs["metadata"]["name"] == "mlflow"]
    env = {e["name"]: e.get("value") for e in mlflow.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["AZURE_STORAGE_ACCOUNT_NAME"] == account
    orchestrator = p.outputs["mlstack"]["components"]["orchestrator"]
    assert orchestrator["pod_env"] == {"AZURE_STORAGE_ACCOUNT_NAME": account}


def test_the_aks_client_files_name_the_storage_account():
    from ruamel.yaml import YAML

    from mlstack.clients.models import StackClients
    from mlstack.clients.render import render

    p = planned(RECIPES / "aks.yaml")
    account = next(iter(p.of_type("azure-native:storage:StorageAccount"))).inputs["accountName"]
    clients = StackClients.model_validate(p.outputs["mlstack"])
    env = render(clients, {}, "env")
    assert f"export AZURE_STORAGE_ACCOUNT_NAME={account}\n" in env and "AWS_ENDPOINT_URL_S3" not in env
    stack = YAML(typ="safe").load(render(clients, {}, "zenml"))
    [orchestrator] = stack["components"]["orchestrator"]
    for pods in ("pod_settings", "orchestrator_pod_settings"):
        assert orchestrator["configuration"][pods]["env"] == [{"name": "AZURE_STORAGE_ACCOUNT_NAME", "value": account}]
