"""The offline plan: run the recipe's whole program under Pulumi's mocks — no credentials, engine or network.

Resources are recorded as the program registers them (type, name, parent, inputs); the mocks answer with the
computed attributes a cloud would (ARNs, URLs), so client outputs can be rendered as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
    inputs: dict[str, Any]


@dataclass
class Plan:
    stack: str
    target: str
    resources: list[PlannedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

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
        computed: dict[str, Any] = {"name": inputs.get(key) or name}
        identity = inputs.get("identity") or {}
        if isinstance(identity.get("userAssignedIdentities"), list):  # input: ids; output: {id: details}
            computed["identity"] = {**identity, "userAssignedIdentities": {i: {} for i in identity["userAssignedIdentities"]}}
        return computed
    if typ == "azure-native:containerregistry:Registry":
        registry = inputs.get("registryName") or name
        return {"name": registry, "loginServer": f"{registry}.azurecr.io"}
    return {}


def plan(recipe: Recipe) -> Plan:
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
                result.resources.append(PlannedResource(response.urn, request.type, request.name,
                                                        request.parent or None, bool(request.custom),
                                                        {k: v for k, v in state.items()}))
            return response

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
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
