"""Secure defaults every `aws` recipe's offline plan must show (run by tests/test_policy.py on recipes/)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from mlstack.components.mlflow_server import SECRET_ENV
from mlstack.policy import REDACTED, json_policies, open_to_the_internet, require

EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ROLE = "aws:iam/role:Role"
INTERNET = {"cidrIpv4": "0.0.0.0/0", "cidrIpv6": "::/0"}

# What a bucket needs beside it, by the companion resource's kind (without one, the bucket keeps AWS's default).
BUCKET_SETTINGS = {
    "BucketPublicAccessBlock": "public access block",
    "BucketOwnershipControls": "ownership controls (ACLs disabled)",
    "BucketServerSideEncryptionConfiguration": "default encryption",
    "BucketVersioning": "versioning configuration",
    "BucketPolicy": "bucket policy (TLS only)",
}

# Policy documents a role may hold, by the type holding them: an inline policy (RolePolicy) or a customer-managed one.
POLICY_DOCUMENTS = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy")
# Managed policies attached to a role: an AWS-managed policy (AdministratorAccess, AmazonS3FullAccess...) is
# account-wide. The shipped components attach none, so none is allowed; an attachment a component comes to need
# is added here by its ARN, after review.
POLICY_ATTACHMENTS = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/policyAttachment:PolicyAttachment")
ATTACHABLE_POLICY_ARNS: frozenset[str] = frozenset()


def _as_list(value: Any) -> list:
    """IAM writes one element as itself and several as a list; None as nothing."""
    return [] if value is None else value if isinstance(value, list) else [value]


def _statements(document: str | dict) -> list[dict]:
    policy = json.loads(document) if isinstance(document, str) else document
    return _as_list(policy.get("Statement"))


def _allows_everyone(statement: dict) -> bool:
    """An Allow to Principal "*" (or {"AWS": "*"}, or every principal but some: NotPrincipal)."""
    if statement.get("Effect") != "Allow":
        return False
    principal = statement.get("Principal")
    if principal == "*" or "NotPrincipal" in statement:
        return True
    return isinstance(principal, dict) and any("*" in _as_list(v) for v in principal.values())


def _refuses_plain_http(statement: dict) -> bool:
    condition = statement.get("Condition", {}).get("Bool", {})
    return statement.get("Effect") == "Deny" and condition.get("aws:SecureTransport") == "false"


def buckets_are_private_encrypted_versioned_tls_only(plan, recipe) -> None:
    for bucket in plan.of_type("aws:s3/bucket:Bucket"):
        related = [r for r in plan.resources if r.inputs.get("bucket") == f"{bucket.name}-id"]
        by_type = {r.type.rsplit(":", 1)[-1]: r.inputs for r in related}
        for kind, what in BUCKET_SETTINGS.items():
            require(kind in by_type, f"{bucket.name}: no {what} resource for the bucket")
        block = by_type["BucketPublicAccessBlock"]
        require(
            all(
                block.get(k) is True
                for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
            ),
            f"{bucket.name}: public access not blocked",
        )
        require(
            by_type["BucketOwnershipControls"].get("rule", {}).get("objectOwnership") == "BucketOwnerEnforced",
            f"{bucket.name}: ACLs not disabled",
        )
        sse_rules = by_type["BucketServerSideEncryptionConfiguration"].get("rules") or []
        algorithms = [(r.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm") for r in sse_rules]
        require(
            algorithms and all(a in ("AES256", "aws:kms") for a in algorithms), f"{bucket.name}: not encrypted at rest"
        )
        require(
            by_type["BucketVersioning"].get("versioningConfiguration", {}).get("status") == "Enabled",
            f"{bucket.name}: not versioned",
        )
        statements = _statements(by_type["BucketPolicy"].get("policy") or "{}")
        require(any(_refuses_plain_http(s) for s in statements), f"{bucket.name}: must refuse plain HTTP")
        require(
            not any(_allows_everyone(s) for s in statements),
            f"{bucket.name}: the bucket policy allows everyone (Principal '*')",
        )
        require(bucket.inputs.get("acl") in (None, "private"), f"{bucket.name}: public ACL")


def registries_scan_on_push_and_are_immutable(plan, recipe) -> None:
    for repo in plan.of_type("aws:ecr/repository:Repository"):
        require(repo.inputs["imageScanningConfiguration"]["scanOnPush"] is True, f"{repo.name}: no scan on push")
        require(repo.inputs["imageTagMutability"] == "IMMUTABLE", f"{repo.name}: mutable tags")
        require(repo.inputs["encryptionConfigurations"][0]["encryptionType"] == "KMS", f"{repo.name}: not KMS")


def no_wildcard_action_on_every_resource(plan, recipe) -> None:
    for name, policy in json_policies(plan):
        for s in _statements(policy):
            if s.get("Effect") != "Allow":
                continue
            require(
                "NotAction" not in s and "NotResource" not in s,
                f"{name}: an Allow with NotAction or NotResource (every action or resource but those listed)",
            )
            actions, resources = _as_list(s.get("Action")), _as_list(s.get("Resource"))
            require(
                not (any(a == "*" or a.endswith(":*") for a in actions) and "*" in resources),
                f"{name}: wildcard action on every resource",
            )


def _traffic(rule: dict) -> str:
    """A security group rule's protocol and ports, in words."""
    if str(rule.get("ipProtocol")) == "-1":
        return "every protocol and port"
    low, high = rule.get("fromPort"), rule.get("toPort")
    return f"{rule.get('ipProtocol')} port {low}" if low == high else f"{rule.get('ipProtocol')} ports {low}-{high}"


def _is_https(rule: dict) -> bool:
    return (rule.get("ipProtocol"), rule.get("fromPort"), rule.get("toPort")) == ("tcp", 443, 443)


def no_ingress_open_to_the_internet(plan, recipe) -> None:
    """Anywhere in the plan but an egress rule (tasks pull their image over HTTPS through NAT), which may reach the
    internet (0.0.0.0/0 or ::/0) on HTTPS only."""
    require(open_to_the_internet(plan, except_types=(EGRESS,)) == [], "a resource is open to the internet")
    for rule in plan.of_type(EGRESS):
        if any(rule.inputs.get(key) == cidr for key, cidr in INTERNET.items()):
            require(
                _is_https(rule.inputs),
                f"{rule.name}: egress to the internet beyond HTTPS ({_traffic(rule.inputs)})",
            )


def databases_are_private_encrypted_with_generated_passwords(plan, recipe) -> None:
    databases = plan.of_type("aws:rds/instance:Instance")
    for db in databases:
        i = db.inputs
        require(i["publiclyAccessible"] is False and i["storageEncrypted"] is True, f"{db.name}: public or unencrypted")
        require(
            i["password"] == REDACTED and i["skipFinalSnapshot"] is False and i["backupRetentionPeriod"] >= 7,
            f"{db.name}: password not secret, no final snapshot or short backups",
        )
        groups = set(i["vpcSecurityGroupIds"])
        rules = [r.inputs for r in plan.of_type(INGRESS) if r.inputs["securityGroupId"] in groups]
        require(
            rules and all(r.get("referencedSecurityGroupId") and not r.get("cidrIpv4") for r in rules),
            f"{db.name}: the database must admit only the server's security group",
        )
    if recipe.target.type == "aws":  # (beside an eks cluster, the kubernetes tracking server's, when it asks)
        require(len(databases) == len(plan.of_type("mlstack:aws:Tracking")), "a tracking server without its database")


def tracking_servers_take_tls_only_from_allowed_networks(plan, recipe) -> None:
    settings = recipe.components.tracking
    for lb in plan.of_type("aws:lb/loadBalancer:LoadBalancer"):
        require(
            lb.inputs["internal"] is True and lb.inputs["dropInvalidHeaderFields"] is True,
            f"{lb.name}: internet-facing or keeps invalid headers",
        )
        groups = set(lb.inputs["securityGroups"])
        rules = [r.inputs for r in plan.of_type(INGRESS) if r.inputs["securityGroupId"] in groups]
        require(rules, f"{lb.name}: no ingress rule")
        for r in rules:
            require(_is_https(r), f"{lb.name}: admits {_traffic(r)}, beyond tcp port 443")
        require(
            sorted(r.get("cidrIpv4") or r.get("cidrIpv6") or "" for r in rules) == sorted(settings.allowed_cidrs),
            f"{lb.name}: admits networks the recipe did not list",
        )
    for listener in plan.of_type("aws:lb/listener:Listener"):
        require(
            listener.inputs["protocol"] == "HTTPS"
            and listener.inputs["sslPolicy"].startswith("ELBSecurityPolicy-TLS13"),
            f"{listener.name}: not HTTPS with a TLS 1.3 policy",
        )


def server_secrets_come_from_secrets_manager(plan, recipe) -> None:
    """Passwords reach the container by reference, never as a plain environment value."""
    for task in plan.of_type("aws:ecs/taskDefinition:TaskDefinition"):
        (container,) = json.loads(task.inputs["containerDefinitions"])
        require(
            {e["name"] for e in container["environment"]}.isdisjoint(SECRET_ENV.values()),
            f"{task.name}: a password as a plain environment value",
        )
        require({s["name"] for s in container["secrets"]} == set(SECRET_ENV.values()), f"{task.name}: secrets differ")
        require(
            all(s["valueFrom"].startswith("arn:aws:secretsmanager:") for s in container["secrets"]),
            f"{task.name}: a secret not from Secrets Manager",
        )


def _role_policies(plan) -> Iterator[tuple[str, str]]:
    """(resource name, policy document) of every policy a role may hold: inline (RolePolicy, or a role's
    inlinePolicies) and customer-managed (Policy)."""
    for r in plan.resources:
        if r.type in POLICY_DOCUMENTS:
            yield r.name, r.inputs.get("policy") or "{}"
    for role in plan.of_type(ROLE):
        for inline in role.inputs.get("inlinePolicies") or []:
            yield role.name, inline.get("policy") or "{}"


def _attached_policies(plan) -> Iterator[tuple[str, Any]]:
    """(resource name, policy ARN) of every managed policy the plan attaches: by a role's managedPolicyArns, or by
    an attachment resource."""
    for role in plan.of_type(ROLE):
        for arn in role.inputs.get("managedPolicyArns") or []:
            yield role.name, arn
    for r in plan.resources:
        if r.type in POLICY_ATTACHMENTS:
            yield r.name, r.inputs.get("policyArn")


def execution_roles_are_scoped_to_this_stack(plan, recipe) -> None:
    """Roles are assumable by AWS services only, hold no managed policy beyond ATTACHABLE_POLICY_ARNS, and every
    statement of their policies names its actions and this stack's resources (no NotAction, no NotResource)."""
    stack_arns = {
        r.inputs["arn"] for r in plan.resources if r.type in ("aws:s3/bucket:Bucket", "aws:ecr/repository:Repository")
    }
    secret_arns = {r.inputs["arn"] for r in plan.of_type("aws:secretsmanager/secret:Secret")}
    for role in plan.of_type(ROLE):
        principals = [s.get("Principal") for s in _statements(role.inputs["assumeRolePolicy"])]
        require(
            all(
                isinstance(pr, dict)
                and set(pr) == {"Service"}
                and all(str(service).endswith(".amazonaws.com") for service in _as_list(pr["Service"]))
                for pr in principals
            ),
            f"{role.name}: assumable by more than an AWS service",
        )
    for name, arn in _attached_policies(plan):
        require(
            arn in ATTACHABLE_POLICY_ARNS,
            f"{name}: attaches the managed policy {arn}, beyond this stack's scoped inline policies",
        )
    for name, document in _role_policies(plan):
        for s in _statements(document):
            require(
                "NotAction" not in s and "NotResource" not in s,
                f"{name}: a statement with NotAction or NotResource (every action or resource but those listed)",
            )
            actions, resources = _as_list(s.get("Action")), _as_list(s.get("Resource"))
            require(actions and resources, f"{name}: a statement without its Action or Resource")
            for resource in resources:
                if resource == "*":  # IAM has ecr:GetAuthorizationToken on "*" only
                    require(
                        actions == ["ecr:GetAuthorizationToken"],
                        f"{name}: {', '.join(map(str, actions))} on every resource ('*')",
                    )
                elif resource.startswith("arn:aws:logs:"):
                    require(
                        ":log-group:/aws/sagemaker/" in resource or f":log-group:/mlstack/{plan.stack}/" in resource,
                        f"{name}: logs of another service: {resource}",
                    )
                elif resource.startswith("arn:aws:secretsmanager:"):
                    require(resource in secret_arns, f"{name}: another secret: {resource}")
                else:
                    bucket_or_repo = (
                        resource.removesuffix("/*").split("/")[0] if resource.startswith("arn:aws:s3:::") else resource
                    )
                    require(bucket_or_repo in stack_arns, f"{name}: beyond this stack: {resource}")


RULES = (
    buckets_are_private_encrypted_versioned_tls_only,
    registries_scan_on_push_and_are_immutable,
    no_wildcard_action_on_every_resource,
    no_ingress_open_to_the_internet,
    databases_are_private_encrypted_with_generated_passwords,
    tracking_servers_take_tls_only_from_allowed_networks,
    server_secrets_come_from_secrets_manager,
    execution_roles_are_scoped_to_this_stack,
)
