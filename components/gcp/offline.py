"""How the offline plan fakes the gcp provider: the attributes GCP computes for a resource (ARNs, URLs, names), so
client outputs render and policy checks see realistic values. Pure functions; the engine's mocks call them."""

from __future__ import annotations

from typing import Any

from mlstack.components.gcp import settings as s

# What the plan answers for values GCP assigns on deploy: shown as `<known after deploy>`.
PLACEHOLDERS = ("192.0.2.10", "a1b2c3d4e5")  # 192.0.2.0/24: TEST-NET-1, never a real address


def attributes(typ: str, name: str, inputs: dict[str, Any], placement: s.GcpTarget) -> dict[str, Any]:
    region = placement.region or "region"
    if typ == "gcp:sql/databaseInstance:DatabaseInstance":
        return {
            "privateIpAddress": "192.0.2.10",
            "connectionName": f"{placement.project}:{region}:{inputs.get('name') or name}",
        }
    if typ == "gcp:secretmanager/secret:Secret":
        return {"name": f"projects/{placement.project}/secrets/{inputs.get('secretId')}"}
    if typ == "gcp:cloudrunv2/service:Service":
        return {"uri": f"https://{inputs.get('name') or name}-a1b2c3d4e5-ew.a.run.app"}
    if typ == "gcp:serviceaccount/account:Account":
        return {"email": f"{inputs.get('accountId')}@{placement.project}.iam.gserviceaccount.com"}
    if typ == "gcp:storage/bucket:Bucket":
        bucket = inputs.get("name") or name
        return {
            "name": bucket,
            "url": f"gs://{bucket}",
            "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}",
        }
    if typ == "gcp:artifactregistry/repository:Repository":
        return {"name": f"projects/{placement.project}/locations/{region}/repositories/{inputs.get('repositoryId')}"}
    return {}


def call(placement: s.GcpTarget, token: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"region": placement.region}
