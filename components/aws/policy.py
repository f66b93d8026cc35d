"""Secure defaults every `aws` recipe's offline plan must show (run by tests/test_policy.py on recipes/)."""

from __future__ import annotations

import json

from mlstack.components.mlflow_server import SECRET_ENV
from mlstack.policy import REDACTED, json_policies, open_to_the_internet, require

EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def buckets_are_private_encrypted_versioned_tls_only(plan, recipe) -> None:
    for bucket in plan.of_type("aws:s3/bucket:Bucket"):
        related = [r for r in plan.resources if r.inputs.get("bucket") == f"{bucket.name}-id"]
        by_type = {r.type.rsplit(":", 1)[-1]: r.inputs for r in related}
        block = by_type["BucketPublicAccessBlock"]
        require(
            all(
                block[k] is True
                for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
            ),
            f"{bucket.name}: public access not blocked",
        )
        require(
            by_type["BucketOwnershipControls"]["rule"]["objectOwnership"] == "BucketOwnerEnforced",
            f"{bucket.name}: ACLs not disabled",
        )
        sse = by_type["BucketServerSideEncryptionConfiguration"]["rules"][0]["applyServerSideEncryptionByDefault"]
        require(sse["sseAlgorithm"] in ("AES256", "aws:kms"), f"{bucket.name}: not encrypted at rest")
        require(
            by_type["BucketVersioning"]["versioningConfiguration"]["status"] == "Enabled",
            f"{bucket.name}: not versioned",
        )
        statements = json.loads(by_type["BucketPolicy"]["policy"])["Statement"]
        require(
            any(s["Effect"] == "Deny" and s["Condition"]["Bool"]["aws:SecureTransport"] == "false" for s in statements),
            f"{bucket.name}: must refuse plain HTTP",
        )
        require(bucket.inputs.get("acl") in (None, "private"), f"{bucket.name}: public ACL")


def registries_scan_on_push_and_are_immutable(plan, recipe) -> None:
    for repo in plan.of_type("aws:ecr/repository:Repository"):
        require(repo.inputs["imageScanningConfiguration"]["scanOnPush"] is True, f"{repo.name}: no scan on push")
        require(repo.inputs["imageTagMutability"] == "IMMUTABLE", f"{repo.name}: mutable tags")
        require(repo.inputs["encryptionConfigurations"][0]["encryptionType"] == "KMS", f"{repo.name}: not KMS")


def no_wildcard_action_on_every_resource(plan, recipe) -> None:
    for name, policy in json_policies(plan):
        for s in policy["Statement"]:
            if s["Effect"] != "Allow":
                continue
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            resources = s.get("Resource", [])
            resources = resources if isinstance(resources, list) else [resources]
            require(
                not (any(a == "*" or a.endswith(":*") for a in actions) and "*" in resources),
                f"{name}: wildcard action on every resource",
            )


def no_ingress_open_to_the_internet(plan, recipe) -> None:
    """Anywhere in the plan but an egress rule (tasks pull their image over HTTPS through NAT)."""
    require(open_to_the_internet(plan, except_types=(EGRESS,)) == [], "a resource is open to the internet")
    for rule in plan.of_type(EGRESS):
        if rule.inputs.get("cidrIpv4") == "0.0.0.0/0":
            require(
                (rule.inputs["fromPort"], rule.inputs["toPort"], rule.inputs["ipProtocol"]) == (443, 443, "tcp"),
                f"{rule.name}: egress to the internet beyond HTTPS",
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
        require({(r["fromPort"], r["toPort"]) for r in rules} == {(443, 443)}, f"{lb.name}: a port beyond 443")
        require(
            sorted(r.get("cidrIpv4") or r.get("cidrIpv6") for r in rules) == sorted(settings.allowed_cidrs),
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


def execution_roles_are_scoped_to_this_stack(plan, recipe) -> None:
    stack_arns = {
        r.inputs["arn"] for r in plan.resources if r.type in ("aws:s3/bucket:Bucket", "aws:ecr/repository:Repository")
    }
    secret_arns = {r.inputs["arn"] for r in plan.of_type("aws:secretsmanager/secret:Secret")}
    for role in plan.of_type("aws:iam/role:Role"):
        principals = [s["Principal"] for s in json.loads(role.inputs["assumeRolePolicy"])["Statement"]]
        require(
            all(set(pr) == {"Service"} and pr["Service"].endswith(".amazonaws.com") for pr in principals),
            f"{role.name}: assumable by more than an AWS service",
        )
    for policy in plan.of_type("aws:iam/rolePolicy:RolePolicy"):
        for s in json.loads(policy.inputs["policy"])["Statement"]:
            for resource in s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]:
                if resource == "*":
                    require(s["Action"] == "ecr:GetAuthorizationToken", f"{policy.name}: {s}")  # IAM has it on "*" only
                elif resource.startswith("arn:aws:logs:"):
                    require(
                        ":log-group:/aws/sagemaker/" in resource or f":log-group:/mlstack/{plan.stack}/" in resource,
                        f"{policy.name}: logs of another service: {resource}",
                    )
                elif resource.startswith("arn:aws:secretsmanager:"):
                    require(resource in secret_arns, f"{policy.name}: another secret: {resource}")
                else:
                    bucket_or_repo = (
                        resource.removesuffix("/*").split("/")[0] if resource.startswith("arn:aws:s3:::") else resource
                    )
                    require(bucket_or_repo in stack_arns, f"{policy.name}: beyond this stack: {resource}")


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
