"""`mlstack verify`: a smoke test of every deployed component through its real client.

Each check works from the typed client config and the stack's secrets, so the same code checks a cloud
target given credentials. Each cleans up after itself; where a service only soft-deletes (MLflow runs and
experiments) or keeps empty repositories (distribution), the detail says so.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from mlstack.clients.models import (
    ObjectStoreClient,
    OrchestratorClient,
    RegistryClient,
    ServingClient,
    StackClients,
    TrackingClient,
)
from mlstack.clients.render import typed

SCRATCH = "mlstack-verify"


@dataclass
class CheckResult:
    kind: str
    flavor: str
    ok: bool
    detail: str
    seconds: float
    checked: bool = True  # False: the flavor cannot be checked by verify (the detail says why); ok stays True


def _client_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OSError, ValueError, KeyError, RuntimeError, TimeoutError]
    try:
        from botocore.exceptions import BotoCoreError, ClientError

        errors += [BotoCoreError, ClientError]
    except ImportError:
        pass
    return tuple(errors)


def verify(
    clients: StackClients,
    secrets: dict[str, str],
    platform: dict[str, Callable[[Any, dict[str, str]], str]] | None = None,
) -> list[CheckResult]:
    """Each component through the check its flavor names in the registry (`platform`: the target's own checks,
    `TargetHooks.checks`); a flavor that declares it cannot be checked is reported with its reason, never probed
    with another flavor's protocol."""
    from mlstack.registry import KINDS, Unsupported, lookup

    checks = {**CHECKS, **(platform or {})}
    results = []
    for kind, client in sorted(typed(clients).items(), key=lambda kv: KINDS.index(kv[0])):
        flavor = lookup(clients.target, kind, client.flavor)
        how = flavor.verify if flavor else Unsupported(f"flavor {client.flavor!r} is unknown to this mlstack")
        if isinstance(how, Unsupported):
            results.append(CheckResult(kind, client.flavor, True, f"not checked: {how.reason}", 0.0, checked=False))
            continue
        check = checks[how]
        start = time.monotonic()
        try:
            detail = check(client, secrets)
            ok = True
        except _client_errors() as exc:  # a failed check is a result, not a crash
            ok, detail = False, cause(exc, client)
        results.append(CheckResult(kind, client.flavor, ok, detail, round(time.monotonic() - start, 2)))
    return results


def _where(client: Any) -> str:
    for field in ("endpoint_url", "tracking_uri", "base_url", "uri"):
        if value := getattr(client, field, None):
            return str(value)
    return "its address"


def cause(exc: BaseException, client: Any) -> str:
    """Why a check failed, in words, naming where it looked: a refused connection is a service that does not run,
    a reset one an address where something else answers."""
    reason = getattr(exc, "reason", None)
    root = reason if isinstance(reason, BaseException) else exc
    where = _where(client)
    if isinstance(root, ConnectionRefusedError) or "Connection refused" in str(exc):
        return (
            f"nothing listens at {where} (connection refused): the service is not running; `mlstack deploy` starts it"
        )
    if isinstance(root, ConnectionResetError | BrokenPipeError) or "Connection reset" in str(exc):
        return (
            f"the connection to {where} was reset: something answers there, but not as {client.flavor} "
            "(another program on its port?)"
        )
    if isinstance(root, TimeoutError) or "timed out" in str(exc).lower():
        return f"no answer from {where} in time: the service hangs or the address is unreachable from here"
    return f"{type(exc).__name__} from {where}: {exc}"


def as_dicts(results: list[CheckResult]) -> list[dict]:
    return [asdict(r) for r in results]


# -- object store: put, get, delete in a scratch prefix -----------------------------------------------------
def s3_client(c: ObjectStoreClient, secrets: dict[str, str]) -> Any:
    """boto3's S3 client of the stack's store, with the keys its client config names (bounded timeouts, no retry
    loop: a check reports what it met)."""
    import boto3
    from botocore.config import Config

    secret = secrets.get(c.secret_access_key.output) if c.secret_access_key else None
    return boto3.client(
        "s3",
        endpoint_url=c.endpoint_url,
        region_name=c.region,
        aws_access_key_id=c.access_key_id,
        aws_secret_access_key=secret,
        config=Config(signature_version="s3v4", connect_timeout=5, read_timeout=15, retries={"max_attempts": 1}),
    )


def bucket_of(url: str) -> str:
    return url.removeprefix("s3://").split("/")[0]


def check_object_store(c: ObjectStoreClient, secrets: dict[str, str]) -> str:
    s3 = s3_client(c, secrets)
    bucket = bucket_of(c.buckets[0])
    key = f"{SCRATCH}/{uuid.uuid4().hex}"
    body = uuid.uuid4().bytes
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    try:
        if s3.get_object(Bucket=bucket, Key=key)["Body"].read() != body:
            raise ValueError("object read back differs from what was written")
    finally:
        s3.delete_object(Bucket=bucket, Key=key)
    if s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount", 0):
        raise ValueError(f"s3://{bucket}/{key} still exists after delete")
    return f"put, get, delete s3://{bucket}/{SCRATCH}/… at {c.endpoint_url or 'default endpoint'}"


# -- tracking: an MLflow run created and deleted through the REST API the MLflow client uses -----------------
def _http(
    method: str,
    url: str,
    body: dict | None = None,
    auth: tuple[str, str] | None = None,
    headers: dict | None = None,
    timeout: float = 15,
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - URL from the stack's outputs
            raw = resp.read()
            return resp.status, json.loads(raw) if raw.strip() else {}
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"{method} {url} -> HTTP {exc.code}") from None


def _reachable(url: str) -> None:
    """Any HTTP answer (401 included) means the server is up; a refused or timed-out connection raises."""
    try:
        urllib.request.urlopen(url, timeout=5).close()  # noqa: S310 - URL from the stack's outputs
    except urllib.error.HTTPError:
        return


def check_tracking(c: TrackingClient, secrets: dict[str, str]) -> str:
    auth = (c.username, secrets[c.password.output]) if c.username and c.password else None
    api = c.tracking_uri.rstrip("/") + "/api/2.0/mlflow"
    _, exp = _http("POST", f"{api}/experiments/create", {"name": f"{SCRATCH}-{uuid.uuid4().hex}"}, auth)
    experiment_id = exp["experiment_id"]
    try:
        _, run = _http("POST", f"{api}/runs/create", {"experiment_id": experiment_id}, auth)
        run_id = run["run"]["info"]["run_id"]
        _http(
            "POST",
            f"{api}/runs/log-metric",
            {"run_id": run_id, "key": "verify", "value": 1.0, "timestamp": int(time.time() * 1000)},
            auth,
        )
        _, got = _http("GET", f"{api}/runs/get?run_id={run_id}", None, auth)
        if not any(m["key"] == "verify" for m in got["run"]["data"].get("metrics", [])):
            raise ValueError("logged metric not read back")
        _http("POST", f"{api}/runs/delete", {"run_id": run_id}, auth)
    finally:
        _http("POST", f"{api}/experiments/delete", {"experiment_id": experiment_id}, auth)
    return f"run created, metric logged and read, run and experiment deleted (MLflow soft-deletes) at {c.tracking_uri}"


# -- registry: a tiny OCI artifact pushed, pulled and deleted ------------------------------------------------
def check_registry(c: RegistryClient, secrets: dict[str, str]) -> str:
    import tempfile
    from pathlib import Path

    import oras.client

    _reachable(("http://" if c.insecure else "https://") + c.uri + "/v2/")  # oras retries for minutes otherwise
    client = oras.client.OrasClient(hostname=c.uri, insecure=c.insecure, auth_backend="basic")
    if c.username and c.password:
        client.login(username=c.username, password=secrets[c.password.output], hostname=c.uri, tls_verify=False)
    target = f"{c.uri}/{SCRATCH}/probe:{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "probe.txt").write_text(uuid.uuid4().hex)
        cwd = Path.cwd()
        try:
            import os

            os.chdir(tmp)  # oras names layers by their relative path
            client.push(target=target, files=["probe.txt"], disable_path_validation=True, quiet=True)
        finally:
            os.chdir(cwd)
        pulled = client.pull(target=target, outdir=str(Path(tmp) / "out"))
        if not pulled or Path(pulled[0]).read_text() != (Path(tmp) / "probe.txt").read_text():
            raise ValueError("artifact pulled back differs from what was pushed")
    manifest = client.get_manifest(target)
    client.delete_tag(target.rsplit(":", 1)[0], target.rsplit(":", 1)[1])
    for blob in [manifest["config"], *manifest["layers"]]:  # the blobs too, not just the tag
        client.do_request(f"{client.prefix}://{c.uri}/v2/{SCRATCH}/probe/blobs/{blob['digest']}", "DELETE")
    return f"OCI artifact pushed, pulled and deleted at {c.uri} (repository {SCRATCH}/probe stays, empty)"


# -- serving: ready, and a V2 inference if a model is loaded -------------------------------------------------
_ZERO = {"BOOL": False, "BYTES": ""}


def check_serving(c: ServingClient, secrets: dict[str, str]) -> str:
    base = c.base_url.rstrip("/")
    _http("GET", f"{base}/v2/health/ready")
    _, index = _http("POST", f"{base}/v2/repository/index", {})
    ready = [m["name"] for m in index if m.get("state") == "READY"]
    if not ready:
        return f"ready at {base}, no model loaded (inference not tried)"
    _, meta = _http("GET", f"{base}/v2/models/{ready[0]}")
    inputs = meta.get("inputs") or []
    if not inputs:
        return f"ready at {base}, {len(ready)} model(s) loaded; {ready[0]} publishes no input metadata to infer with"
    request = {
        "inputs": [
            {
                "name": i["name"],
                "datatype": i["datatype"],
                "shape": [max(int(d), 1) for d in i["shape"]],
                "data": [_ZERO.get(i["datatype"], 0)] * _size(i["shape"]),
            }
            for i in inputs
        ]
    }
    _, answer = _http("POST", f"{base}/v2/models/{ready[0]}/infer", request)
    return f"ready at {base}; V2 inference on {ready[0]} returned {len(answer.get('outputs', []))} output(s)"


def _size(shape: list) -> int:
    n = 1
    for d in shape:
        n *= max(int(d), 1)
    return n


# -- orchestrator ----------------------------------------------------------------------------------------
def check_api_url(c: OrchestratorClient, secrets: dict[str, str]) -> str:
    if not c.url:
        raise ValueError("the stack output names no URL to check")
    _http("GET", c.url)
    return f"answering at {c.url}"


AIRFLOW_PARTS = ("metadatabase", "scheduler", "dag_processor")  # what runs a pipeline: its DAG is read, then run


def check_airflow(c: OrchestratorClient, secrets: dict[str, str]) -> str:
    """Airflow's health endpoint (no login needed): its database, scheduler and DAG processor (which reads the DAGs
    from the object store) answer healthy, and its triggerer too where one reports."""
    if not c.url:
        raise ValueError("the stack output names no URL to check")
    _, health = _http("GET", c.url.rstrip("/") + "/api/v2/monitor/health")
    status = {part: (health.get(part) or {}).get("status") for part in health}
    parts = [*AIRFLOW_PARTS, *(["triggerer"] if status.get("triggerer") is not None else [])]
    unhealthy = [f"{p}: {status.get(p) or 'not reported'}" for p in parts if status.get(p) != "healthy"]
    if unhealthy:
        raise RuntimeError("Airflow answers but is not healthy (" + "; ".join(unhealthy) + ")")
    return f"{', '.join(parts)} healthy at {c.url}"


def check_kubeflow(c: OrchestratorClient, secrets: dict[str, str]) -> str:
    """KFP's API server health call, the one `kfp.Client().get_kfp_healthz()` makes (GET /apis/v2beta1/healthz):
    it answers once its database and object store are reached."""
    if not c.url:
        raise ValueError("the stack output names no URL to check")
    _, health = _http("GET", c.url.rstrip("/") + "/apis/v2beta1/healthz")
    if not isinstance(health, dict):
        raise RuntimeError(f"KFP's health call at {c.url} answered no JSON object")
    mode = "multi-user" if health.get("multi_user") or health.get("multiUser") else "single-user"
    return f"Kubeflow Pipelines' API server healthy at {c.url} ({mode})"


def check_nothing_deployed(c: OrchestratorClient, secrets: dict[str, str]) -> str:
    return "runs pipelines in the caller's process: nothing deployed to check"


# The checks a flavor can name in the registry (`Flavor.verify`), by the protocol they speak.
CHECKS: dict[str, Callable[[Any, dict[str, str]], str]] = {
    "s3": check_object_store,
    "mlflow": check_tracking,
    "oci": check_registry,
    "v2": check_serving,
    "api_url": check_api_url,
    "airflow": check_airflow,
    "kubeflow": check_kubeflow,
    "nothing_deployed": check_nothing_deployed,
}
