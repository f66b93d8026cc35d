"""Security policy every cloud recipe in recipes/ must pass, checked on its offline plan (Pulumi mocks).

A new cloud recipe is enrolled by existing: the recipes are discovered, not listed.
"""

from __future__ import annotations

import importlib
import inspect
import json
from functools import cache
from pathlib import Path

import pytest

from mlstack.engine.offline import Plan, plan
from mlstack.recipe.loader import load_recipe
from tests.conftest import RECIPES

CLOUDS = ("aws", "gcp", "azure")


def cloud_recipes() -> list[Path]:
    from ruamel.yaml import YAML

    found = []
    for path in sorted(RECIPES.glob("*.yaml")):
        target = YAML(typ="safe").load(path.read_text()).get("target")
        if (target.get("type") if isinstance(target, dict) else target) in CLOUDS:
            found.append(path)
    return found


@cache
def planned(path: Path) -> Plan:
    return plan(load_recipe(path))


RECIPE_PATHS = cloud_recipes()
pytestmark = pytest.mark.parametrize("path", RECIPE_PATHS, ids=[p.name for p in RECIPE_PATHS])


def test_there_is_a_cloud_recipe_to_check(path):
    assert planned(path).resources


def test_resource_names_are_unique_in_the_plan(path):
    """Pulumi allows one name for two types; a reader of the plan (or of the state) should not have to."""
    names = [r.name for r in planned(path).resources]
    assert sorted({n for n in names if names.count(n) > 1}) == []


def _sdk_class(typ: str):
    """`aws:s3/bucket:Bucket` -> pulumi_aws.s3.Bucket (None for providers and components)."""
    package, _, rest = typ.partition(":")
    module, _, name = rest.partition(":")
    if package in ("pulumi", "mlstack", "pulumi-python") or not name:  # providers, components, dynamic resources
        return None
    sdk = {"aws": "pulumi_aws", "gcp": "pulumi_gcp", "azure-native": "pulumi_azure_native"}[package]
    return getattr(importlib.import_module(f"{sdk}.{module.split('/')[0]}"), name)


def test_recipe_tags_land_on_every_taggable_resource(path):
    p = planned(path)
    wanted = load_recipe(path).tags
    untagged = []
    for r in p.resources:
        cls = _sdk_class(r.type) if r.custom else None
        if cls is not None and ("tags" in inspect.signature(cls._internal_init).parameters
                                or "labels" in inspect.signature(cls._internal_init).parameters):
            got = r.inputs.get("tags") or r.inputs.get("labels") or {}
            if not wanted.items() <= got.items():
                untagged.append(r.name)
    assert untagged == []


def test_no_bucket_is_public_and_all_are_encrypted_versioned_tls_only(path):
    p = planned(path)
    for bucket in p.of_type("aws:s3/bucket:Bucket"):
        related = [r for r in p.resources if r.inputs.get("bucket") == f"{bucket.name}-id"]
        by_type = {r.type.rsplit(":", 1)[-1]: r.inputs for r in related}
        block = by_type["BucketPublicAccessBlock"]
        assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                              "restrictPublicBuckets")), bucket.name
        assert by_type["BucketOwnershipControls"]["rule"]["objectOwnership"] == "BucketOwnerEnforced"
        sse = by_type["BucketServerSideEncryptionConfiguration"]["rules"][0]["applyServerSideEncryptionByDefault"]
        assert sse["sseAlgorithm"] in ("AES256", "aws:kms")
        assert by_type["BucketVersioning"]["versioningConfiguration"]["status"] == "Enabled"
        statements = json.loads(by_type["BucketPolicy"]["policy"])["Statement"]
        assert any(s["Effect"] == "Deny" and s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
                   for s in statements), "bucket must refuse plain HTTP"
        assert bucket.inputs.get("acl") in (None, "private")


def test_registries_scan_on_push_and_are_immutable(path):
    for repo in planned(path).of_type("aws:ecr/repository:Repository"):
        assert repo.inputs["imageScanningConfiguration"]["scanOnPush"] is True
        assert repo.inputs["imageTagMutability"] == "IMMUTABLE"
        assert repo.inputs["encryptionConfigurations"][0]["encryptionType"] == "KMS"


def _policies(p: Plan):
    for r in p.resources:
        for value in r.inputs.values():
            if isinstance(value, str) and value.lstrip().startswith("{") and '"Statement"' in value:
                yield r.name, json.loads(value)


def test_no_wildcard_iam_action_on_every_resource(path):
    for name, policy in _policies(planned(path)):
        for s in policy["Statement"]:
            if s["Effect"] != "Allow":
                continue
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            resources = s.get("Resource", [])
            resources = resources if isinstance(resources, list) else [resources]
            assert not (any(a == "*" or a.endswith(":*") for a in actions) and "*" in resources), name


EGRESS = ("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",)


def test_no_ingress_open_to_the_internet(path):
    """Anywhere in the plan but an egress rule (tasks pull their image over HTTPS through NAT)."""
    p = planned(path)
    text = json.dumps([r.inputs for r in p.resources if r.type not in EGRESS])
    assert "0.0.0.0/0" not in text and "::/0" not in text
    for rule in p.of_type(EGRESS[0]):
        if rule.inputs.get("cidrIpv4") == "0.0.0.0/0":
            assert (rule.inputs["fromPort"], rule.inputs["toPort"], rule.inputs["ipProtocol"]) == (443, 443, "tcp")


def test_generated_secrets_never_appear_in_plaintext(path):
    """Every generated credential reaches resources only as a Pulumi secret (the plan redacts those)."""
    p = planned(path)
    text = json.dumps(p.to_dict())
    assert p.generated, "the plan generated no credential to check"
    assert all(len(value) >= 20 and value not in text for value in p.generated)


def test_databases_are_private_encrypted_tls_only_with_generated_passwords(path):
    p = planned(path)
    databases = 0
    for db in p.of_type("aws:rds/instance:Instance"):
        databases += 1
        i = db.inputs
        assert i["publiclyAccessible"] is False and i["storageEncrypted"] is True
        assert i["password"] == "[secret]" and i["skipFinalSnapshot"] is False and i["backupRetentionPeriod"] >= 7
        groups = set(i["vpcSecurityGroupIds"])
        rules = [r.inputs for r in p.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
                 if r.inputs["securityGroupId"] in groups]
        assert rules and all(r.get("referencedSecurityGroupId") and not r.get("cidrIpv4") for r in rules), \
            "the database admits only the server's security group"
    for db in p.of_type("gcp:sql/databaseInstance:DatabaseInstance"):
        databases += 1
        ip = db.inputs["settings"]["ipConfiguration"]
        assert ip["ipv4Enabled"] is False and ip["sslMode"] == "ENCRYPTED_ONLY" and not ip.get("authorizedNetworks")
        assert ip["privateNetwork"].startswith("projects/")
        assert db.inputs["settings"]["backupConfiguration"]["enabled"] is True
    for user in p.of_type("gcp:sql/user:User"):
        assert user.inputs["password"] == "[secret]"
    for db in p.of_type("azure-native:dbforpostgresql:Server"):
        databases += 1
        i = db.inputs
        assert i["network"]["publicNetworkAccess"] == "Disabled" and i["network"]["delegatedSubnetResourceId"]
        assert i["administratorLoginPassword"] == "[secret]"
    assert databases == len(planned(path).of_type("mlstack:" + load_recipe(path).target.type + ":Tracking"))


def test_tracking_servers_take_tls_only_from_allowed_networks(path):
    p = planned(path)
    settings = load_recipe(path).components.tracking
    for lb in p.of_type("aws:lb/loadBalancer:LoadBalancer"):
        assert lb.inputs["internal"] is True and lb.inputs["dropInvalidHeaderFields"] is True
        groups = set(lb.inputs["securityGroups"])
        rules = [r.inputs for r in p.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
                 if r.inputs["securityGroupId"] in groups]
        assert {(r["fromPort"], r["toPort"]) for r in rules} == {(443, 443)}
        assert sorted(r.get("cidrIpv4") or r.get("cidrIpv6") for r in rules) == sorted(settings.allowed_cidrs)
    for listener in p.of_type("aws:lb/listener:Listener"):
        assert listener.inputs["protocol"] == "HTTPS" and listener.inputs["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    for service in p.of_type("gcp:cloudrunv2/service:Service"):
        assert service.inputs["ingress"] in ("INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER")
    for app in p.of_type("azure-native:app:ContainerApp"):
        ingress = app.raw["configuration"]["ingress"]  # the whole configuration is secret: it holds the app's secrets
        assert ingress["allowInsecure"] is False
        restrictions = ingress["ipSecurityRestrictions"]
        assert restrictions and all(r["action"] == "Allow" for r in restrictions)
        assert sorted(r["ipAddressRange"] for r in restrictions) == sorted(settings.allowed_cidrs)


def test_tracking_servers_get_their_secrets_from_the_clouds_secret_store(path):
    """Passwords reach the container by reference, never as a plain environment value."""
    from mlstack.components.mlflow_server import SECRET_ENV

    p = planned(path)
    for task in p.of_type("aws:ecs/taskDefinition:TaskDefinition"):
        (container,) = json.loads(task.inputs["containerDefinitions"])
        assert {e["name"] for e in container["environment"]}.isdisjoint(SECRET_ENV.values())
        assert {s["name"] for s in container["secrets"]} == set(SECRET_ENV.values())
        assert all(s["valueFrom"].startswith("arn:aws:secretsmanager:") for s in container["secrets"])
    for service in p.of_type("gcp:cloudrunv2/service:Service"):
        envs = service.inputs["template"]["containers"][0]["envs"]
        secret = {e["name"] for e in envs if "valueSource" in e}
        assert secret == set(SECRET_ENV.values()) and all("value" not in e for e in envs if e["name"] in secret)
    for app in p.of_type("azure-native:app:ContainerApp"):
        env = app.inputs["template"]["containers"][0]["env"]
        assert {e["name"] for e in env if "secretRef" in e} == set(SECRET_ENV.values())
        assert {s["name"] for s in app.raw["configuration"]["secrets"]} == {e["secretRef"] for e in env if "secretRef" in e}


def test_gcs_buckets_are_uniform_private_and_versioned(path):
    for bucket in planned(path).of_type("gcp:storage/bucket:Bucket"):
        assert bucket.inputs["uniformBucketLevelAccess"] is True
        assert bucket.inputs["publicAccessPrevention"] == "enforced"
        assert bucket.inputs["versioning"]["enabled"] is True
        assert bucket.inputs.get("forceDestroy") is False


def test_artifact_registries_are_immutable_and_scanned(path):
    for repo in planned(path).of_type("gcp:artifactregistry/repository:Repository"):
        assert repo.inputs["format"] == "DOCKER"
        if repo.inputs.get("mode") == "REMOTE_REPOSITORY":  # a read-only pull-through cache of a public registry
            assert repo.inputs["remoteRepositoryConfig"]["dockerRepository"]["customRepository"]["uri"].startswith("https://")
            continue
        assert repo.inputs["dockerConfig"]["immutableTags"] is True
        assert repo.inputs["vulnerabilityScanningConfig"]["enablementConfig"] == "INHERITED"


def test_azure_storage_is_https_tls12_private_and_entra_only(path):
    p = planned(path)
    for account in p.of_type("azure-native:storage:StorageAccount"):
        i = account.inputs
        assert i["enableHttpsTrafficOnly"] is True and i["minimumTlsVersion"] == "TLS1_2"
        assert i["allowBlobPublicAccess"] is False and i["allowSharedKeyAccess"] is False
        assert i["encryption"]["services"]["blob"]["enabled"] is True
        assert 3 <= len(i["accountName"]) <= 24 and i["accountName"].isalnum() and i["accountName"].islower()
    for container in p.of_type("azure-native:storage:BlobContainer"):
        assert container.inputs["publicAccess"] == "None"


def test_azure_registries_have_no_admin_user_or_anonymous_pull(path):
    for registry in planned(path).of_type("azure-native:containerregistry:Registry"):
        assert registry.inputs["adminUserEnabled"] is False and registry.inputs["anonymousPullEnabled"] is False


def test_execution_roles_are_scoped_to_this_stack(path):
    p = planned(path)
    stack_arns = {r.inputs["arn"] for r in p.resources if r.type in ("aws:s3/bucket:Bucket", "aws:ecr/repository:Repository")}
    secret_arns = {r.inputs["arn"] for r in p.of_type("aws:secretsmanager/secret:Secret")}
    for role in p.of_type("aws:iam/role:Role"):
        principals = [s["Principal"] for s in json.loads(role.inputs["assumeRolePolicy"])["Statement"]]
        assert all(set(pr) == {"Service"} and pr["Service"].endswith(".amazonaws.com") for pr in principals)
    for policy in p.of_type("aws:iam/rolePolicy:RolePolicy"):
        for s in json.loads(policy.inputs["policy"])["Statement"]:
            resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
            for resource in resources:
                if resource == "*":
                    assert s["Action"] == "ecr:GetAuthorizationToken", s  # IAM defines it only on "*"
                elif resource.startswith("arn:aws:logs:"):
                    assert ":log-group:/aws/sagemaker/" in resource or f":log-group:/mlstack/{p.stack}/" in resource
                elif resource.startswith("arn:aws:secretsmanager:"):
                    assert resource in secret_arns, resource
                else:
                    bucket_or_repo = resource.removesuffix("/*").split("/")[0] if resource.startswith(
                        "arn:aws:s3:::") else resource
                    assert bucket_or_repo in stack_arns, resource


def test_gcp_grants_are_additive_scoped_and_to_this_stack_only(path):
    p = planned(path)
    authoritative = [r.type for r in p.resources if r.type.startswith("gcp:") and
                     (r.type.endswith("IAMBinding") or r.type.endswith("IAMPolicy") or r.type.endswith("IamBinding")
                      or r.type.endswith("IamPolicy"))]
    assert authoritative == [], "bindings and policies replace other members; only *IAMMember grants"
    accounts = {f"serviceAccount:{r.inputs['email']}" for r in p.of_type("gcp:serviceaccount/account:Account")}
    buckets = {r.inputs["name"] for r in p.of_type("gcp:storage/bucket:Bucket")}
    for r in p.resources:
        if r.type.startswith("gcp:") and r.type.rsplit(":", 1)[-1].lower().endswith("iammember"):
            assert r.inputs["member"] in accounts, r.name
            if r.type == "gcp:projects/iAMMember:IAMMember":
                assert r.inputs["role"] in ("roles/aiplatform.user", "roles/logging.logWriter"), r.inputs["role"]
            if r.type == "gcp:storage/bucketIAMMember:BucketIAMMember":
                assert r.inputs["bucket"] in buckets
            if r.type == "gcp:secretmanager/secretIamMember:SecretIamMember":
                assert r.inputs["role"] == "roles/secretmanager.secretAccessor"
    assert "allUsers" not in json.dumps([r.inputs for r in p.resources])


def test_azure_role_assignments_are_scoped_to_single_stack_resources(path):
    from mlstack.components.azure.identity import SCOPED_ROLES

    p = planned(path)
    stack_ids = {f"{r.name}-id" for r in p.resources if r.type in (
        "azure-native:storage:StorageAccount", "azure-native:containerregistry:Registry")}
    for assignment in p.of_type("azure-native:authorization:RoleAssignment"):
        i = assignment.inputs
        assert i["scope"] in stack_ids, "never a subscription or resource-group scope"
        assert i["roleDefinitionId"].rsplit("/", 1)[-1] in SCOPED_ROLES
        assert i["principalType"] == "ServicePrincipal"


def test_azure_ml_uses_entra_id_and_protected_vaults(path):
    p = planned(path)
    for vault in p.of_type("azure-native:keyvault:Vault"):
        props = vault.inputs["properties"]
        assert props["enableRbacAuthorization"] is True and props["enablePurgeProtection"] is True
    for endpoint in p.of_type("azure-native:machinelearningservices:OnlineEndpoint"):
        assert endpoint.inputs["properties"]["authMode"] == "AADToken"
    for insights in p.of_type("azure-native:applicationinsights:Component"):
        assert insights.inputs["disableLocalAuth"] is True
