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


def _sdk_class(typ: str):
    """`aws:s3/bucket:Bucket` -> pulumi_aws.s3.Bucket (None for providers and components)."""
    package, _, rest = typ.partition(":")
    module, _, name = rest.partition(":")
    if package in ("pulumi", "mlstack") or not name:
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


def test_no_ingress_open_to_the_internet(path):
    text = json.dumps([r.inputs for r in planned(path).resources])
    assert "0.0.0.0/0" not in text and "::/0" not in text


def test_gcs_buckets_are_uniform_private_and_versioned(path):
    for bucket in planned(path).of_type("gcp:storage/bucket:Bucket"):
        assert bucket.inputs["uniformBucketLevelAccess"] is True
        assert bucket.inputs["publicAccessPrevention"] == "enforced"
        assert bucket.inputs["versioning"]["enabled"] is True
        assert bucket.inputs.get("forceDestroy") is False


def test_artifact_registries_are_immutable_and_scanned(path):
    for repo in planned(path).of_type("gcp:artifactregistry/repository:Repository"):
        assert repo.inputs["format"] == "DOCKER"
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
                    assert ":log-group:/aws/sagemaker/" in resource
                else:
                    assert resource.removesuffix("/*") in stack_arns, resource


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
