"""The offline plan: run the recipe's whole program under Pulumi's mocks — no credentials, engine or network.

Resources are recorded as the program registers them (type, name, parent, inputs); the mocks answer with the
computed attributes a cloud would (ARNs, URLs), so client outputs can be rendered as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from mlstack.recipe.model import Recipe

ACCOUNT = "123456789012"  # placeholder account/project in computed attributes of the offline plan
TENANT = "00000000-0000-0000-0000-000000000000"


@dataclass
class PlannedResource:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]  # secrets redacted: what `preview --offline` prints
    raw: dict[str, Any] = field(default_factory=dict, repr=False)  # secrets in clear, for policy checks only


@dataclass
class Plan:
    stack: str
    target: str
    resources: list[PlannedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    generated: list[str] = field(default_factory=list)  # credentials generated for the plan (never printed)

    def of_type(self, typ: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == typ]

    def children(self, urn: str | None) -> list[PlannedResource]:
        return [r for r in self.resources if r.parent == urn]

    def to_dict(self) -> dict[str, Any]:
        return {"stack": self.stack, "target": self.target,
                "outputs": {k: v for k, v in self.outputs.items() if k != "secrets"},
                "resources": [{"urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent, "inputs": r.inputs}
                              for r in self.resources]}


def _computed(typ: str, name: str, inputs: dict[str, Any], placement: dict[str, Any]) -> dict[str, Any]:
    """Attributes the cloud computes, as the mocks report them."""
    computed = _computed_by_type(typ, name, inputs, placement)
    identity = inputs.get("identity") or {}
    if typ.startswith("azure-native:") and isinstance(identity.get("userAssignedIdentities"), list):
        # Azure takes identity ids and answers {id: details}
        computed["identity"] = {**identity, "userAssignedIdentities": {i: {} for i in identity["userAssignedIdentities"]}}
    return computed


def _computed_by_type(typ: str, name: str, inputs: dict[str, Any], placement: dict[str, Any]) -> dict[str, Any]:
    region = placement.get("region") or placement.get("location") or "region"
    if typ == "aws:s3/bucket:Bucket":
        bucket = inputs.get("bucket") or name
        return {"arn": f"arn:aws:s3:::{bucket}", "bucket": bucket}
    if typ == "aws:ecr/repository:Repository":
        repo = inputs.get("name") or name
        return {"arn": f"arn:aws:ecr:{region}:{ACCOUNT}:repository/{repo}",
                "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{repo}", "name": repo}
    if typ == "aws:iam/role:Role":
        return {"arn": f"arn:aws:iam::{ACCOUNT}:role/{name}", "name": name}
    if typ == "aws:rds/instance:Instance":
        host = f"{inputs.get('identifier') or name}.abcdefghijkl.{region}.rds.amazonaws.com"
        return {"address": host, "endpoint": f"{host}:5432", "arn": f"arn:aws:rds:{region}:{ACCOUNT}:db:{name}"}
    if typ == "aws:lb/loadBalancer:LoadBalancer":
        lb = inputs.get("name") or name
        return {"dnsName": f"internal-{lb}-1234567890.{region}.elb.amazonaws.com", "zoneId": "Z32O12XQLNTSW2",
                "arn": f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:loadbalancer/app/{lb}/0123456789abcdef"}
    if typ == "aws:secretsmanager/secret:Secret":
        secret = f"{inputs.get('namePrefix') or name}AbCdEf"
        return {"arn": f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{secret}", "name": secret}
    if typ == "aws:cloudwatch/logGroup:LogGroup":
        return {"arn": f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{inputs.get('name') or name}"}
    if typ.startswith("aws:") and "arn" not in inputs:  # every other AWS resource: an ARN in its service
        service, _, kind = typ.split(":")[1].partition("/")
        return {"arn": f"arn:aws:{service}:{region}:{ACCOUNT}:{kind}/{inputs.get('name') or name}"}
    if typ == "gcp:sql/databaseInstance:DatabaseInstance":
        return {"privateIpAddress": "10.10.0.5",
                "connectionName": f"{placement.get('project')}:{region}:{inputs.get('name') or name}"}
    if typ == "gcp:secretmanager/secret:Secret":
        return {"name": f"projects/{placement.get('project')}/secrets/{inputs.get('secretId')}"}
    if typ == "gcp:cloudrunv2/service:Service":
        return {"uri": f"https://{inputs.get('name') or name}-a1b2c3d4e5-ew.a.run.app"}
    if typ == "gcp:serviceaccount/account:Account":
        return {"email": f"{inputs.get('accountId')}@{placement.get('project')}.iam.gserviceaccount.com"}
    if typ == "gcp:storage/bucket:Bucket":
        bucket = inputs.get("name") or name
        return {"name": bucket, "url": f"gs://{bucket}", "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}"}
    if typ == "gcp:artifactregistry/repository:Repository":
        return {"name": f"projects/{placement.get('project')}/locations/{region}/repositories/{inputs.get('repositoryId')}"}
    if typ == "azure-native:resources:ResourceGroup":
        return {"name": inputs.get("resourceGroupName") or name}
    if typ == "azure-native:storage:StorageAccount":
        account = inputs.get("accountName") or name
        return {"name": account, "primaryEndpoints": {"blob": f"https://{account}.blob.core.windows.net/"}}
    if typ == "azure-native:managedidentity:UserAssignedIdentity":
        return {"principalId": TENANT, "clientId": TENANT, "name": inputs.get("resourceName") or name}
    if typ in ("azure-native:machinelearningservices:Workspace", "azure-native:machinelearningservices:OnlineEndpoint"):
        key = "endpointName" if typ.endswith("OnlineEndpoint") else "workspaceName"
        return {"name": inputs.get(key) or name}
    if typ == "azure-native:dbforpostgresql:Server":
        return {"fullyQualifiedDomainName": f"{inputs.get('serverName') or name}.postgres.database.azure.com"}
    if typ == "azure-native:app:ManagedEnvironment":
        return {"defaultDomain": f"purplesky-1a2b3c4d.{region}.azurecontainerapps.io"}
    if typ == "azure-native:containerregistry:Registry":
        registry = inputs.get("registryName") or name
        return {"name": registry, "loginServer": f"{registry}.azurecr.io"}
    return {}


DYNAMIC = "pulumi-python:dynamic:Resource"
REDACTED = "[secret]"


def _dynamic(name: str, inputs: dict[str, Any]) -> tuple[str, dict]:
    """A dynamic resource whose provider is pure (e.g. a generated password) runs its own `create`; others are
    planned with their inputs only (a local process is never started by a plan)."""
    import base64

    import dill

    from pulumi.runtime.rpc import is_rpc_secret

    serialized = inputs["__provider"]
    serialized = serialized["value"] if is_rpc_secret(serialized) else serialized
    provider = dill.loads(base64.b64decode(serialized))
    if not getattr(provider, "offline", False):
        return f"{name}-id", dict(inputs)
    result = provider.create({k: v for k, v in inputs.items() if k != "__provider"})
    return result.id, {**inputs, **(result.outs or {})}


def _map_secrets(value: Any, secret: Callable[[Any], Any]) -> Any:
    """`value` with each secret (an Output.secret input, e.g. a database password) replaced by `secret(it)`, and
    whole numbers as integers."""
    from pulumi.runtime.rpc import is_rpc_secret

    if is_rpc_secret(value):
        return secret(value["value"])
    if isinstance(value, dict):
        return {k: _map_secrets(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_secrets(v, secret) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire format has only doubles: 443, not 443.0
    return value


def _redact(value: Any) -> Any:
    return _map_secrets(value, lambda _: REDACTED)


def _unwrap(value: Any) -> Any:
    return _map_secrets(value, _unwrap)


def plan(recipe: Recipe) -> Plan:
    """The plan, with the cyclic garbage collector paused: the cloud SDKs build thousands of classes and the
    program thousands of short-lived futures, and a plan is short-lived (a third of its time went to collections)."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        return _plan(recipe)
    finally:
        if enabled:
            gc.enable()


def _plan(recipe: Recipe) -> Plan:
    import pulumi
    from pulumi.runtime import mocks

    from mlstack.stacks.program import make_program

    result = Plan(recipe.name, recipe.target.type)
    placement = recipe.target.model_dump(exclude={"type"})

    class Monitor(mocks.MockMonitor):
        def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
            response = super().RegisterResource(request)
            if request.type != "pulumi:pulumi:Stack":
                state = self.resources[response.urn].state if response.urn in self.resources else {}
                hidden = set(request.additionalSecretOutputs) | {"__provider"}
                result.resources.append(PlannedResource(response.urn, request.type, request.name,
                                                        request.parent or None, bool(request.custom),
                                                        {k: REDACTED if k in hidden else _redact(v)
                                                         for k, v in state.items()},
                                                        {k: _unwrap(v) for k, v in state.items() if k != "__provider"}))
            return response

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
            if args.typ == DYNAMIC:
                id_, outs = _dynamic(args.name, args.inputs)
                if isinstance(outs.get("value"), str):
                    result.generated.append(outs["value"])
                return id_, outs
            return f"{args.name}-id", {**args.inputs, **_computed(args.typ, args.name, args.inputs, placement)}

        def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
            return {"accountId": ACCOUNT, "region": placement.get("region"), "tenantId": TENANT,
                    "subscriptionId": placement.get("subscription_id") or TENANT, "clientId": TENANT, "objectId": TENANT}

    monitor = Monitor(Mocks())
    pulumi.runtime.set_mocks(monitor.mocks, project="mlstack", stack=recipe.name, preview=False, monitor=monitor)
    program = make_program(recipe, stack_dir=_no_dir(), on_outputs=result.outputs.update)
    pulumi.runtime.test(program)()
    return result


def _no_dir() -> Any:
    from pathlib import Path

    return Path("/nonexistent/mlstack-offline-plan")
