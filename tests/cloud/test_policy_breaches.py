"""Every policy rule of the cloud targets (aws, gcp, azure) can fail, and fails for the reason it exists.

tests/test_policy.py proves the shipped recipes pass their target's rules; a rule that never fails would pass too.
Here each rule of `components/<target>/policy.py: RULES` meets a realistic careless edit planted into a deep copy of
its shipped recipe's offline plan (a bucket made public, an ingress from 0.0.0.0/0, a password as a plain value, a
grant beyond the stack...): the unmodified plan passes, and every weakened one raises `PolicyViolation` with the
message of the check the edit breaks. A new rule without a planted breach fails here until it is given one.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from mlstack import registry
from mlstack.engine.offline import Plan, PlannedResource, plan
from mlstack.policy import REDACTED, PolicyViolation
from mlstack.recipe.loader import load_recipe
from mlstack.recipe.model import Recipe
from tests.conftest import RECIPES

TARGETS = ("aws", "gcp", "azure")

Mutation = Callable[[Plan], None]


class Breach(NamedTuple):
    edit: str  # the careless edit, as a reviewer would describe it
    reason: str  # the rule's message for it (the whole message, or the part that names the broken check)
    mutate: Mutation


@cache
def _recipe(path: Path) -> Recipe:
    return load_recipe(path)


@cache
def planned(path: Path) -> Plan:
    return plan(_recipe(path))


def _path(target: str) -> Path:
    return RECIPES / f"{target}.yaml"


def _weakened(target: str, mutate: Mutation) -> Plan:
    """The target's recipe plan with one careless edit; the cached plan is never touched."""
    p = copy.deepcopy(planned(_path(target)))
    mutate(p)
    return p


def _resource(p: Plan, name: str) -> PlannedResource:
    for r in p.resources:
        if r.name == name:
            return r
    raise LookupError(f"no resource {name!r} in the {p.target} plan: a breach names a resource that was renamed")


def _walk(node: Any, path: str) -> Any:
    """The node at a dotted path ("settings.ipConfiguration", "template.containers.0"); None under a redacted
    secret (the plan's redacted view of a secret input has nothing to change)."""
    for key in path.split(".") if path else ():
        if node == REDACTED:
            return None
        node = node[int(key)] if isinstance(node, list) else node[key]
    return None if node == REDACTED else node


def _edit(name: str, at: str, change: Callable[[Any], object]) -> Mutation:
    """`change` the node at `at` in one resource's inputs, in the redacted view and the raw one alike (as an edit
    of the component would: a secret input changes in the raw view only)."""

    def mutate(p: Plan) -> None:
        r = _resource(p, name)
        for view in (r.inputs, r.raw):
            node = _walk(view, at)
            if node is not None:
                change(node)

    return mutate


def _set(name: str, path: str, value: Any) -> Mutation:
    at, _, key = path.rpartition(".")
    return _edit(name, at, lambda node: node.__setitem__(int(key) if isinstance(node, list) else key, value))


def _edit_json(name: str, key: str, change: Callable[[Any], object]) -> Mutation:
    """`change` a JSON document held in a string input (an IAM policy, ECS container definitions)."""

    def mutate(p: Plan) -> None:
        r = _resource(p, name)
        for view in (r.inputs, r.raw):
            document = json.loads(view[key])
            change(document)
            view[key] = json.dumps(document)

    return mutate


def _add(typ: str, name: str, inputs: dict[str, Any]) -> Mutation:
    """A resource the component now also creates."""

    def mutate(p: Plan) -> None:
        urn = f"urn:pulumi:{p.stack}::mlstack::{typ}::{name}"
        p.resources.append(PlannedResource(urn, typ, name, None, True, dict(inputs), copy.deepcopy(inputs)))

    return mutate


def _copy(name: str, new_name: str, **changes: Any) -> Mutation:
    """A sibling of an existing resource (e.g. a second ingress rule), with some inputs changed."""

    def mutate(p: Plan) -> None:
        twin = copy.deepcopy(_resource(p, name))
        twin.name, twin.urn = new_name, twin.urn.rsplit("::", 1)[0] + f"::{new_name}"
        for view in (twin.inputs, twin.raw):
            view.update(changes)
            for key in [k for k, v in changes.items() if v is None]:  # None: the input is left out
                del view[key]
        p.resources.append(twin)

    return mutate


def _remove(name: str) -> Mutation:
    return lambda p: p.resources.remove(_resource(p, name))


def _retype(name: str, typ: str) -> Mutation:
    return lambda p: setattr(_resource(p, name), "type", typ)


# --- aws ---------------------------------------------------------------------------------------------------------

BUCKET = "object_store-artifacts"


def _db_password_in_plain_env(containers: list[dict]) -> None:
    """DB_PASSWORD moved from the task's secrets to its environment (e.g. to debug a connection)."""
    (container,) = containers
    container["secrets"] = [s for s in container["secrets"] if s["name"] != "DB_PASSWORD"]
    container["environment"].append({"name": "DB_PASSWORD", "value": "hunter2"})


def _trust_account_root(policy: dict) -> None:
    policy["Statement"][0]["Principal"] = {"AWS": "arn:aws:iam::123456789012:root"}


def _every_protocol(rule: dict) -> None:
    """A security group rule widened to "all traffic": protocol -1, which has no ports."""
    rule.update(ipProtocol="-1")
    rule.pop("fromPort")
    rule.pop("toPort")


def _public_read(principal: Any) -> Mutation:
    return _edit_json(
        f"{BUCKET}-tls-only",
        "policy",
        lambda d: d["Statement"].append(
            {
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": principal,
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::mlops-aws-artifacts/*",
            }
        ),
    )


NOT_ACTION = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}


AWS = {
    "buckets_are_private_encrypted_versioned_tls_only": [
        Breach("bucket made public-read", f"{BUCKET}: public ACL", _set(BUCKET, "acl", "public-read")),
        Breach(
            "public bucket policies allowed",
            f"{BUCKET}: public access not blocked",
            _set(f"{BUCKET}-public-access", "blockPublicPolicy", False),
        ),
        Breach(
            "ACLs re-enabled",
            f"{BUCKET}: ACLs not disabled",
            _set(f"{BUCKET}-ownership", "rule.objectOwnership", "ObjectWriter"),
        ),
        Breach(
            "versioning suspended",
            f"{BUCKET}: not versioned",
            _set(f"{BUCKET}-versioning", "versioningConfiguration.status", "Suspended"),
        ),
        Breach(
            "TLS-only statement turned into an Allow",
            f"{BUCKET}: must refuse plain HTTP",
            _edit_json(f"{BUCKET}-tls-only", "policy", lambda d: d["Statement"][0].update(Effect="Allow")),
        ),
        Breach(
            "public-read statement added to the bucket policy",
            f"{BUCKET}: the bucket policy allows everyone",
            _public_read("*"),
        ),
        Breach(
            'public-read statement to {"AWS": "*"}',
            f"{BUCKET}: the bucket policy allows everyone",
            _public_read({"AWS": "*"}),
        ),
        Breach(
            "default encryption resource removed",
            f"{BUCKET}: no default encryption resource for the bucket",
            _remove(f"{BUCKET}-encryption"),
        ),
        Breach(
            "versioning resource removed",
            f"{BUCKET}: no versioning configuration resource for the bucket",
            _remove(f"{BUCKET}-versioning"),
        ),
        Breach(
            "ownership controls removed",
            f"{BUCKET}: no ownership controls (ACLs disabled) resource for the bucket",
            _remove(f"{BUCKET}-ownership"),
        ),
    ],
    "registries_scan_on_push_and_are_immutable": [
        Breach(
            "mutable tags", "registry-models: mutable tags", _set("registry-models", "imageTagMutability", "MUTABLE")
        ),
        Breach(
            "scan on push off",
            "registry-models: no scan on push",
            _set("registry-models", "imageScanningConfiguration.scanOnPush", False),
        ),
        Breach(
            "AES256 instead of KMS",
            "registry-models: not KMS",
            _set("registry-models", "encryptionConfigurations.0.encryptionType", "AES256"),
        ),
    ],
    "no_wildcard_action_on_every_resource": [
        Breach(
            'Action "*" on Resource "*"',
            "tracking-task-scoped: wildcard action on every resource",
            _edit_json(
                "tracking-task-scoped",
                "policy",
                lambda d: d["Statement"].append({"Effect": "Allow", "Action": "*", "Resource": "*"}),
            ),
        ),
        Breach(
            '"s3:*" on Resource "*"',
            "orchestrator-execution-role-scoped: wildcard action on every resource",
            _edit_json(
                "orchestrator-execution-role-scoped",
                "policy",
                lambda d: d["Statement"].append({"Effect": "Allow", "Action": ["s3:*"], "Resource": ["*"]}),
            ),
        ),
        Breach(
            'NotAction "iam:*" on Resource "*"',
            "tracking-task-scoped: an Allow with NotAction or NotResource",
            _edit_json("tracking-task-scoped", "policy", lambda d: d["Statement"].append(NOT_ACTION)),
        ),
    ],
    "no_ingress_open_to_the_internet": [
        Breach(
            "load balancer ingress from 0.0.0.0/0",
            "a resource is open to the internet",
            _set("tracking-https-from-0", "cidrIpv4", "0.0.0.0/0"),
        ),
        Breach(
            "database ingress from ::/0",
            "a resource is open to the internet",
            _copy(
                "tracking-db-from-tasks", "tracking-db-from-anywhere", referencedSecurityGroupId=None, cidrIpv6="::/0"
            ),
        ),
        Breach(
            "tasks' internet egress widened to every TCP port",
            "tracking-tasks-https-out: egress to the internet beyond HTTPS",
            _edit("tracking-tasks-https-out", "", lambda i: i.update(fromPort=0, toPort=65535)),
        ),
        Breach(
            "IPv6 egress to ::/0 on every port",
            "tracking-tasks-out-v6: egress to the internet beyond HTTPS (every protocol and port)",
            _copy("tracking-tasks-https-out", "tracking-tasks-out-v6", cidrIpv4=None, cidrIpv6="::/0", ipProtocol="-1"),
        ),
        Breach(
            "tasks' internet egress widened to all traffic (protocol -1, no ports)",
            "tracking-tasks-https-out: egress to the internet beyond HTTPS (every protocol and port)",
            _edit("tracking-tasks-https-out", "", _every_protocol),
        ),
    ],
    "databases_are_private_encrypted_with_generated_passwords": [
        Breach(
            "database publicly accessible",
            "tracking-db: public or unencrypted",
            _set("tracking-db", "publiclyAccessible", True),
        ),
        Breach(
            "storage unencrypted", "tracking-db: public or unencrypted", _set("tracking-db", "storageEncrypted", False)
        ),
        Breach(
            "literal password",
            "tracking-db: password not secret, no final snapshot or short backups",
            _set("tracking-db", "password", "hunter2"),
        ),
        Breach(
            "final snapshot skipped",
            "tracking-db: password not secret, no final snapshot or short backups",
            _set("tracking-db", "skipFinalSnapshot", True),
        ),
        Breach(
            "one day of backups",
            "tracking-db: password not secret, no final snapshot or short backups",
            _set("tracking-db", "backupRetentionPeriod", 1),
        ),
        Breach(
            "database ingress from the VPC's CIDR instead of the server's group",
            "tracking-db: the database must admit only the server's security group",
            _edit(
                "tracking-db-from-tasks",
                "",
                lambda i: i.update(referencedSecurityGroupId=None, cidrIpv4="10.0.0.0/8"),
            ),
        ),
        Breach(
            "tracking server without its database",
            "a tracking server without its database",
            _remove("tracking-db"),
        ),
    ],
    "tracking_servers_take_tls_only_from_allowed_networks": [
        Breach(
            "internet-facing load balancer",
            "tracking-lb: internet-facing or keeps invalid headers",
            _set("tracking-lb", "internal", False),
        ),
        Breach(
            "invalid headers kept",
            "tracking-lb: internet-facing or keeps invalid headers",
            _set("tracking-lb", "dropInvalidHeaderFields", False),
        ),
        Breach(
            "plain HTTP on port 80 also admitted",
            "tracking-lb: admits tcp port 80, beyond tcp port 443",
            _copy("tracking-https-from-0", "tracking-http-from-0", fromPort=80, toPort=80),
        ),
        Breach(
            "all traffic (protocol -1, no ports) from the allowed network",
            "tracking-lb: admits every protocol and port, beyond tcp port 443",
            _edit("tracking-https-from-0", "", _every_protocol),
        ),
        Breach(
            "a network the recipe did not list",
            "tracking-lb: admits networks the recipe did not list",
            _set("tracking-https-from-0", "cidrIpv4", "172.16.0.0/12"),
        ),
        Breach(
            "HTTP listener",
            "tracking-https: not HTTPS with a TLS 1.3 policy",
            _set("tracking-https", "protocol", "HTTP"),
        ),
        Breach(
            "TLS 1.0 policy",
            "tracking-https: not HTTPS with a TLS 1.3 policy",
            _set("tracking-https", "sslPolicy", "ELBSecurityPolicy-2016-08"),
        ),
    ],
    "server_secrets_come_from_secrets_manager": [
        Breach(
            "literal password in the task definition's environment",
            "tracking-task: a password as a plain environment value",
            _edit_json("tracking-task", "containerDefinitions", _db_password_in_plain_env),
        ),
        Breach(
            "a secret from SSM Parameter Store",
            "tracking-task: a secret not from Secrets Manager",
            _edit_json(
                "tracking-task",
                "containerDefinitions",
                lambda c: c[0]["secrets"][0].update(valueFrom="arn:aws:ssm:eu-west-1:123456789012:parameter/db"),
            ),
        ),
        Breach(
            "admin password dropped from the secrets",
            "tracking-task: secrets differ",
            _edit_json("tracking-task", "containerDefinitions", lambda c: c[0]["secrets"].pop(1)),
        ),
    ],
    "execution_roles_are_scoped_to_this_stack": [
        Breach(
            "role assumable by the whole account",
            "tracking-task-role: assumable by more than an AWS service",
            _edit_json("tracking-task-role", "assumeRolePolicy", _trust_account_root),
        ),
        Breach(
            "every bucket",
            "serving-execution-role-scoped: beyond this stack: arn:aws:s3:::*",
            _edit_json(
                "serving-execution-role-scoped", "policy", lambda d: d["Statement"][2].update(Resource="arn:aws:s3:::*")
            ),
        ),
        Breach(
            "another team's bucket",
            "tracking-task-scoped: beyond this stack: arn:aws:s3:::other-team-data/*",
            _edit_json(
                "tracking-task-scoped",
                "policy",
                lambda d: d["Statement"][1].update(Resource=["arn:aws:s3:::other-team-data/*"]),
            ),
        ),
        Breach(
            "every secret",
            "tracking-execution-scoped: another secret",
            _edit_json(
                "tracking-execution-scoped",
                "policy",
                lambda d: d["Statement"][0].update(Resource="arn:aws:secretsmanager:eu-west-1:123456789012:secret:*"),
            ),
        ),
        Breach(
            "every log group",
            "orchestrator-execution-role-scoped: logs of another service",
            _edit_json(
                "orchestrator-execution-role-scoped",
                "policy",
                lambda d: d["Statement"][0].update(Resource="arn:aws:logs:*:*:*"),
            ),
        ),
        Breach(
            "iam:PassRole on every resource",
            "tracking-task-scoped: iam:PassRole on every resource",
            _edit_json(
                "tracking-task-scoped",
                "policy",
                lambda d: d["Statement"].append({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}),
            ),
        ),
        Breach(
            "AdministratorAccess attached to the task role",
            "tracking-task-admin: attaches the managed policy arn:aws:iam::aws:policy/AdministratorAccess",
            _add(
                "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                "tracking-task-admin",
                {"role": "tracking-task-role-id", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
            ),
        ),
        Breach(
            "AmazonS3FullAccess in the task role's managedPolicyArns",
            "tracking-task-role: attaches the managed policy arn:aws:iam::aws:policy/AmazonS3FullAccess",
            _set("tracking-task-role", "managedPolicyArns", ["arn:aws:iam::aws:policy/AmazonS3FullAccess"]),
        ),
        Breach(
            "a customer-managed policy on another team's bucket",
            "tracking-task-extra: beyond this stack: arn:aws:s3:::other-team-data/*",
            _add(
                "aws:iam/policy:Policy",
                "tracking-task-extra",
                {
                    "policy": json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "s3:GetObject",
                                    "Resource": "arn:aws:s3:::other-team-data/*",
                                }
                            ],
                        }
                    )
                },
            ),
        ),
        Breach(
            'NotAction "iam:*" on Resource "*"',
            "tracking-task-scoped: a statement with NotAction or NotResource",
            _edit_json("tracking-task-scoped", "policy", lambda d: d["Statement"].append(NOT_ACTION)),
        ),
    ],
}


# --- gcp ---------------------------------------------------------------------------------------------------------

GCP_BUCKET = "object_store-artifacts"
TRACKING_SA = "serviceAccount:mlops-gcp-tracking@my-ml-project.iam.gserviceaccount.com"
ENVS = "template.containers.0.envs"


def _admin_password_as_literal(envs: list[dict]) -> None:
    entry = next(e for e in envs if e["name"] == "MLFLOW_ADMIN_PASSWORD")
    entry.pop("valueSource")
    entry["value"] = "hunter2"


GCP = {
    "buckets_are_uniform_private_and_versioned": [
        Breach(
            "fine-grained ACLs",
            f"{GCP_BUCKET}: ACLs on or public access not prevented",
            _set(GCP_BUCKET, "uniformBucketLevelAccess", False),
        ),
        Breach(
            "public access prevention inherited",
            f"{GCP_BUCKET}: ACLs on or public access not prevented",
            _set(GCP_BUCKET, "publicAccessPrevention", "inherited"),
        ),
        Breach(
            "versioning off",
            f"{GCP_BUCKET}: not versioned, or deletable with its objects",
            _set(GCP_BUCKET, "versioning.enabled", False),
        ),
        Breach(
            "force destroy",
            f"{GCP_BUCKET}: not versioned, or deletable with its objects",
            _set(GCP_BUCKET, "forceDestroy", True),
        ),
    ],
    "artifact_registries_are_immutable_and_scanned": [
        Breach(
            "mutable tags",
            "registry-models: mutable tags",
            _set("registry-models", "dockerConfig.immutableTags", False),
        ),
        Breach(
            "scanning disabled",
            "registry-models: no scan",
            _set("registry-models", "vulnerabilityScanningConfig.enablementConfig", "DISABLED"),
        ),
        Breach(
            "pull-through cache over plain HTTP",
            "tracking-ghcr: upstream not HTTPS",
            _set("tracking-ghcr", "remoteRepositoryConfig.dockerRepository.customRepository.uri", "http://ghcr.io"),
        ),
    ],
    "nothing_open_to_the_internet": [
        Breach(
            "Cloud SQL authorized network 0.0.0.0/0",
            "a resource is open to the internet",
            _set("tracking-db", "settings.ipConfiguration.authorizedNetworks", [{"name": "any", "value": "0.0.0.0/0"}]),
        ),
        Breach(
            "bucket readable by allUsers",
            "a grant to allUsers",
            _edit(
                "tracking-artifact-objects",
                "",
                lambda i: i.update(member="allUsers", role="roles/storage.objectViewer"),
            ),
        ),
        Breach(
            "Cloud Run invocable by allUsers",
            "a grant to allUsers",
            _add(
                "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
                "tracking-public-invoker",
                {
                    "name": "mlops-gcp-tracking",
                    "location": "europe-west1",
                    "role": "roles/run.invoker",
                    "member": "allUsers",
                },
            ),
        ),
    ],
    "databases_are_private_tls_only_with_generated_passwords": [
        Breach(
            "public IP",
            "tracking-db: has a public IP",
            _set("tracking-db", "settings.ipConfiguration.ipv4Enabled", True),
        ),
        Breach(
            "authorized network on the private instance",
            "tracking-db: has a public IP",
            _set("tracking-db", "settings.ipConfiguration.authorizedNetworks", [{"value": "203.0.113.0/24"}]),
        ),
        Breach(
            "plain connections accepted",
            "tracking-db: accepts plain connections",
            _set("tracking-db", "settings.ipConfiguration.sslMode", "ALLOW_UNENCRYPTED_AND_ENCRYPTED"),
        ),
        Breach(
            "private network by bare name",
            "tracking-db: no private network",
            _set("tracking-db", "settings.ipConfiguration.privateNetwork", "ml-vpc"),
        ),
        Breach(
            "backups off",
            "tracking-db: no backups",
            _set("tracking-db", "settings.backupConfiguration.enabled", False),
        ),
        Breach(
            "literal password", "tracking-db-user: password not secret", _set("tracking-db-user", "password", "hunter2")
        ),
        Breach(
            "tracking server without its database", "a tracking server without its database", _remove("tracking-db")
        ),
    ],
    "tracking_servers_are_internal": [
        Breach(
            "ingress from the internet",
            "tracking-service: ingress from the internet",
            _set("tracking-service", "ingress", "INGRESS_TRAFFIC_ALL"),
        ),
    ],
    "server_secrets_come_from_secret_manager": [
        Breach(
            "admin password as a literal env value",
            "tracking-service: secrets differ",
            _edit("tracking-service", ENVS, _admin_password_as_literal),
        ),
        Breach(
            "a plain DB_PASSWORD added beside the secret one",
            "tracking-service: a plain password",
            _edit("tracking-service", ENVS, lambda envs: envs.append({"name": "DB_PASSWORD", "value": "hunter2"})),
        ),
    ],
    "grants_are_additive_scoped_and_to_this_stack_only": [
        Breach(
            "authoritative project binding",
            "bindings and policies replace other members; only *IAMMember grants",
            _retype("orchestrator-aiplatform.user", "gcp:projects/iAMBinding:IAMBinding"),
        ),
        Breach(
            "project owner",
            "orchestrator-aiplatform.user: project role roles/owner",
            _set("orchestrator-aiplatform.user", "role", "roles/owner"),
        ),
        Breach(
            "a grant to a person",
            "serving-models-reader: a grant to an account of another stack",
            _set("serving-models-reader", "member", "user:alice@example.com"),
        ),
        Breach(
            "another stack's bucket",
            "orchestrator-artifacts-objects: a bucket of another stack",
            _set("orchestrator-artifacts-objects", "bucket", "other-team-data"),
        ),
        Breach(
            "secret admin instead of accessor",
            "tracking-db-password-reader: secret role roles/secretmanager.admin",
            _set("tracking-db-password-reader", "role", "roles/secretmanager.admin"),
        ),
        Breach(
            "storage admin on the artifacts bucket",
            "orchestrator-artifacts-objects: bucket role roles/storage.admin",
            _set("orchestrator-artifacts-objects", "role", "roles/storage.admin"),
        ),
        Breach(
            "organization owner for the tracking account",
            "tracking-org-owner: a gcp:organizations/iAMMember:IAMMember grant (roles/owner)",
            _add(
                "gcp:organizations/iAMMember:IAMMember",
                "tracking-org-owner",
                {"orgId": "123456789012", "role": "roles/owner", "member": TRACKING_SA},
            ),
        ),
    ],
}


# --- azure -------------------------------------------------------------------------------------------------------

ACCOUNT = "object_store-account"
OWNER = "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/" + (
    "8e3af657-a8ff-4c83-a5c4-86e9e6d57b1e"
)
INGRESS = "configuration.ingress"  # in the app's raw view only: the whole configuration is a secret
APP_ENV = "template.containers.0.env"

AZURE = {
    "storage_is_https_tls12_private_and_entra_only": [
        Breach("plain HTTP allowed", f"{ACCOUNT}: TLS", _set(ACCOUNT, "enableHttpsTrafficOnly", False)),
        Breach("TLS 1.0", f"{ACCOUNT}: TLS", _set(ACCOUNT, "minimumTlsVersion", "TLS1_0")),
        Breach(
            "public blobs allowed",
            f"{ACCOUNT}: public blobs or shared keys allowed",
            _set(ACCOUNT, "allowBlobPublicAccess", True),
        ),
        Breach(
            "shared keys allowed",
            f"{ACCOUNT}: public blobs or shared keys allowed",
            _set(ACCOUNT, "allowSharedKeyAccess", True),
        ),
        Breach(
            "name with hyphens", f"{ACCOUNT}: name Azure refuses", _set(ACCOUNT, "accountName", "mlops-azure-2c160a")
        ),
        Breach(
            "container made public",
            "object_store-artifacts: public",
            _set("object_store-artifacts", "publicAccess", "Blob"),
        ),
    ],
    "registries_have_no_admin_user_or_anonymous_pull": [
        Breach(
            "admin user enabled",
            "registry-acr: admin user or anonymous pull",
            _set("registry-acr", "adminUserEnabled", True),
        ),
        Breach(
            "anonymous pull enabled",
            "registry-acr: admin user or anonymous pull",
            _set("registry-acr", "anonymousPullEnabled", True),
        ),
    ],
    "nothing_open_to_the_internet": [
        Breach(
            "registry firewall allows 0.0.0.0/0",
            "a resource is open to the internet",
            _set(
                "registry-acr",
                "networkRuleSet",
                {"defaultAction": "Deny", "ipRules": [{"action": "Allow", "iPAddressOrRange": "0.0.0.0/0"}]},
            ),
        ),
        Breach(
            "storage firewall allows 0.0.0.0/0",
            "a resource is open to the internet",
            _set(
                ACCOUNT,
                "networkRuleSet",
                {"defaultAction": "Deny", "ipRules": [{"action": "Allow", "iPAddressOrRange": "0.0.0.0/0"}]},
            ),
        ),
        Breach(
            "tracking app's ingress allow-list gains 0.0.0.0/0",
            "a resource is open to the internet",
            _edit(
                "tracking-app",
                f"{INGRESS}.ipSecurityRestrictions",
                lambda rs: rs.append({"name": "anywhere", "action": "Allow", "ipAddressRange": "0.0.0.0/0"}),
            ),
        ),
    ],
    "databases_are_private_with_generated_passwords": [
        Breach(
            "public network access",
            "tracking-db: public access",
            _set("tracking-db", "network.publicNetworkAccess", "Enabled"),
        ),
        Breach(
            "literal password",
            "tracking-db: password not secret",
            _set("tracking-db", "administratorLoginPassword", "hunter2"),
        ),
        Breach(
            "tracking server without its database", "a tracking server without its database", _remove("tracking-db")
        ),
    ],
    "tracking_servers_take_tls_only_from_allowed_networks": [
        Breach(
            "plain HTTP allowed",
            "tracking-app: plain HTTP allowed",
            _set("tracking-app", f"{INGRESS}.allowInsecure", True),
        ),
        Breach(
            "IP allow-list dropped",
            "tracking-app: no IP allow-list",
            _set("tracking-app", f"{INGRESS}.ipSecurityRestrictions", []),
        ),
        Breach(
            "allow-list gains 0.0.0.0/0",
            "tracking-app: admits networks the recipe did not list",
            _edit(
                "tracking-app",
                f"{INGRESS}.ipSecurityRestrictions",
                lambda rs: rs.append({"name": "anywhere", "action": "Allow", "ipAddressRange": "0.0.0.0/0"}),
            ),
        ),
    ],
    "server_secrets_are_container_app_secrets": [
        Breach(
            "DB password as a literal env value",
            "tracking-app: secrets differ",
            _edit(
                "tracking-app",
                APP_ENV,
                lambda env: env.__setitem__(
                    [e["name"] for e in env].index("DB_PASSWORD"), {"name": "DB_PASSWORD", "value": "hunter2"}
                ),
            ),
        ),
        Breach(
            "secret renamed, reference left behind",
            "tracking-app: dangling secret refs",
            _set("tracking-app", "configuration.secrets.0.name", "database-password"),
        ),
        Breach(
            "a plain DB_PASSWORD added beside the secret one",
            "tracking-app: a plain password",
            _edit("tracking-app", APP_ENV, lambda env: env.append({"name": "DB_PASSWORD", "value": "hunter2"})),
        ),
    ],
    "role_assignments_are_scoped_to_single_stack_resources": [
        Breach(
            "assignment at subscription scope",
            "tracking-blob-data: a subscription or resource-group scope",
            _set("tracking-blob-data", "scope", "/subscriptions/00000000-0000-0000-0000-000000000000"),
        ),
        Breach(
            "assignment at resource-group scope",
            "serving-acr-pull: a subscription or resource-group scope",
            _set(
                "serving-acr-pull",
                "scope",
                "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/mlops-azure-rg",
            ),
        ),
        Breach(
            "Owner role",
            "orchestrator-blob-data: a broad role",
            _set("orchestrator-blob-data", "roleDefinitionId", OWNER),
        ),
        Breach(
            "assignment to a user",
            "orchestrator-acr-pull: not to a workload identity",
            _set("orchestrator-acr-pull", "principalType", "User"),
        ),
    ],
    "ml_uses_entra_id_and_protected_vaults": [
        Breach(
            "vault access policies",
            "orchestrator-vault: access policies or no purge protection",
            _set("orchestrator-vault", "properties.enableRbacAuthorization", False),
        ),
        Breach(
            "no purge protection",
            "orchestrator-vault: access policies or no purge protection",
            _set("orchestrator-vault", "properties.enablePurgeProtection", False),
        ),
        Breach(
            "endpoint key auth", "serving-endpoint: key auth", _set("serving-endpoint", "properties.authMode", "Key")
        ),
        Breach(
            "Application Insights local auth",
            "orchestrator-insights: local auth",
            _set("orchestrator-insights", "disableLocalAuth", False),
        ),
    ],
}

BREACHES: dict[str, dict[str, list[Breach]]] = {"aws": AWS, "gcp": GCP, "azure": AZURE}

RULES = [(t, rule) for t in TARGETS for rule in registry.target(t).policy_rules()]
PLANTED = [
    pytest.param(t, rule, breach, id=f"{t}-{rule.__name__}-{breach.edit}")
    for t, rule in RULES
    for breach in BREACHES[t].get(rule.__name__, [])
]


@pytest.mark.parametrize(("target", "rule"), RULES, ids=[f"{t}-{r.__name__}" for t, r in RULES])
def test_every_rule_has_a_planted_breach_it_catches(target, rule):
    breaches = BREACHES[target].get(rule.__name__)
    assert breaches, f"{target}: rule {rule.__name__} has no planted breach"
    rule(planned(_path(target)), _recipe(_path(target)))  # the shipped recipe passes


@pytest.mark.parametrize("target", TARGETS)
def test_every_planted_breach_names_a_rule_of_its_target(target):
    assert sorted(BREACHES[target].keys() - {r.__name__ for r in registry.target(target).policy_rules()}) == []


@pytest.mark.parametrize(("target", "rule", "breach"), PLANTED)
def test_rule_catches_its_planted_breach(target, rule, breach):
    recipe = _recipe(_path(target))
    rule(planned(_path(target)), recipe)  # the shipped recipe passes
    with pytest.raises(PolicyViolation, match=re.escape(breach.reason)):
        rule(_weakened(target, breach.mutate), recipe)
