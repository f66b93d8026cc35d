"""`verify` of `serving: kserve`: KServe makes a Deployment per InferenceService, so the check deploys a model, as a
user would, and asks it one question.

1. A tiny XGBoost model (one tree, two leaves, written here as XGBoost's JSON model format) is put into the stack's
   model repository, under `mlstack-verify-<id>/`.
2. An InferenceService of that name (Standard mode, the stack's MLServer runtime and its read-only service account)
   serves it; the check waits for its `Ready` condition.
3. Through a port-forward to its `<name>-predictor` Service: the V2 model-ready call, then one inference whose
   answer only that model gives ([0.25, 0.75] for the inputs [0, 1]).
4. The InferenceService and the model are deleted, whatever happened.

The first check on a cluster pulls MLServer's image (several GB): READY_TIMEOUT allows for it."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from mlstack.clients.models import ObjectStoreClient, ServingClient
from mlstack.clients.verify import _http, bucket_of, s3_client
from mlstack.components.kubernetes import clusters
from mlstack.components.kubernetes.addons.kserve import MODE
from mlstack.components.kubernetes.kserve import FORMATS, UID
from mlstack.components.kubernetes.settings import KubernetesTarget
from mlstack.errors import MlstackError

NAME = "mlstack-verify-"
GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
READY_TIMEOUT = 600.0  # the first predictor on a node pulls MLServer's image
POLL = 2.0
FORMAT = "xgboost"
# (inputs, what the tiny model answers): base score 0.5, then -0.25 below the split at 0.5 and +0.25 above it
PROBE = ((0.0, 1.0), (0.25, 0.75))


def tiny_model() -> bytes:
    """XGBoost's JSON model format (the 2.0 layout, which XGBoost 2 and 3 load): a regressor of one feature."""
    tree = {
        "tree_param": {"num_deleted": "0", "num_feature": "1", "num_nodes": "3", "size_leaf_vector": "1"},
        "id": 0,
        "loss_changes": [1.0, 0.0, 0.0],
        "sum_hessian": [2.0, 1.0, 1.0],
        "base_weights": [0.0, -0.25, 0.25],
        "left_children": [1, -1, -1],
        "right_children": [2, -1, -1],
        "parents": [2147483647, 0, 0],
        "split_indices": [0, 0, 0],
        "split_conditions": [0.5, -0.25, 0.25],  # a leaf's entry is its value
        "split_type": [0, 0, 0],
        "default_left": [1, 0, 0],
        "categories": [],
        "categories_nodes": [],
        "categories_segments": [],
        "categories_sizes": [],
    }
    booster = {
        "name": "gbtree",
        "model": {
            "gbtree_model_param": {"num_parallel_tree": "1", "num_trees": "1"},
            "iteration_indptr": [0, 1],
            "tree_info": [0],
            "trees": [tree],
        },
    }
    learner = {
        "attributes": {},
        "feature_names": [],
        "feature_types": [],
        "gradient_booster": booster,
        "learner_model_param": {
            "base_score": "5E-1",
            "boost_from_average": "1",
            "num_class": "0",
            "num_feature": "1",
            "num_target": "1",
        },
        "objective": {"name": "reg:squarederror", "reg_loss_param": {"scale_pos_weight": "1"}},
    }
    return json.dumps({"learner": learner, "version": [2, 0, 0]}).encode()


def inference_service(client: ServingClient, name: str, storage_uri: str) -> dict[str, Any]:
    """The InferenceService a user would write for the stack: its runtime, its service account (the store's
    read-only keys), Standard mode, and a pod that Pod Security `restricted` admits (KServe's storage initializer
    has no seccomp profile of its own: the pod's applies to it)."""
    version = dict(FORMATS)[FORMAT]
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "InferenceService",
        "metadata": {
            "name": name,
            "namespace": client.namespace,
            "labels": {"app.kubernetes.io/managed-by": "mlstack", "app.kubernetes.io/part-of": "mlstack-verify"},
            "annotations": {"serving.kserve.io/deploymentMode": MODE},
        },
        "spec": {
            "predictor": {
                "serviceAccountName": client.service_account,
                "minReplicas": 1,
                "maxReplicas": 1,
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": UID,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "model": {
                    "modelFormat": {"name": FORMAT, "version": version},
                    "protocolVersion": "v2",
                    "runtime": client.runtime,
                    "storageUri": storage_uri,
                },
            }
        },
    }


def infer(base_url: str, name: str) -> str:
    """The V2 model-ready call, then one inference that only the tiny model answers as it does."""
    base = base_url.rstrip("/")
    _http("GET", f"{base}/v2/models/{name}/ready")
    inputs, expected = PROBE
    request = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [len(inputs), 1], "data": list(inputs)}]}
    _, answer = _http("POST", f"{base}/v2/models/{name}/infer", request)
    got = next((o.get("data") for o in answer.get("outputs", []) if o.get("name") == "predict"), None)
    if (
        not isinstance(got, list)
        or len(got) != len(expected)
        or any(abs(g - e) > 1e-6 for g, e in zip(got, expected, strict=True))
    ):
        raise ValueError(f"model {name} answered {got!r} for the inputs {list(inputs)}, not {list(expected)}")
    return f"V2 ready and one inference on {name} ({list(inputs)} -> {got})"


def check(placement: KubernetesTarget, stack: str, components: dict[str, dict[str, Any]]) -> Any:
    """The check, as verify calls it: (client, secrets) -> what was checked."""

    def run(client: ServingClient, secrets: dict[str, str]) -> str:
        try:
            return _deploy_and_ask(placement, stack, components, client, secrets)
        except MlstackError as exc:  # no cluster, no kubectl, a forward that failed: a failed check, not a crash
            raise RuntimeError(exc.message) from None

    return run


def _deploy_and_ask(
    placement: KubernetesTarget,
    stack: str,
    components: dict[str, dict[str, Any]],
    client: ServingClient,
    secrets: dict[str, str],
) -> str:
    from kubernetes.client import CustomObjectsApi

    from mlstack.components.kubernetes import access
    from mlstack.components.kubernetes.connect import Forward, forwarding

    if not (client.namespace and client.runtime and client.service_account and client.model_repository):
        raise ValueError("the stack's serving output names no namespace, runtime, service account or model repository")
    store = ObjectStoreClient.model_validate(components["object_store"])
    name = NAME + uuid.uuid4().hex[:8]
    bucket = bucket_of(client.model_repository)
    prefix = "/".join(p for p in [*client.model_repository.removeprefix("s3://").split("/")[1:], name] if p)
    context = clusters.context_of(stack, placement)
    cluster = access.connect(context)
    api = CustomObjectsApi(cluster.api)
    s3 = s3_client(store, secrets)
    # each `try` opens before what it undoes is asked for: a call that timed out may still have been carried out
    try:
        s3.put_object(Bucket=bucket, Key=f"{prefix}/model.json", Body=tiny_model())
        try:
            _call(
                api.create_namespaced_custom_object,
                GROUP,
                VERSION,
                client.namespace,
                PLURAL,
                inference_service(client, name, f"s3://{bucket}/{prefix}"),
            )
            waited = _ready(api, cluster.api, client.namespace, name)
            forward = Forward("serving", "base_url", context, client.namespace, f"{name}-predictor", 80, "http")
            with forwarding([forward]) as local:
                detail = infer(forward.local_address(local[forward]), name)
        finally:
            _call(api.delete_namespaced_custom_object, GROUP, VERSION, client.namespace, PLURAL, name, missing_ok=True)
    finally:
        s3.delete_object(Bucket=bucket, Key=f"{prefix}/model.json")  # S3 deletes of a missing key succeed
    return f"{detail}; ready in {waited:.0f} s; InferenceService and s3://{bucket}/{prefix}/ deleted"


def _call(method: Any, *args: Any, missing_ok: bool = False, **kwargs: Any) -> Any:
    """A call of the API, its refusal in words (an API KServe does not serve: KServe is not installed)."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        return method(*args, **kwargs, _request_timeout=30)
    except HTTPError as exc:  # no answer: refused, reset, timed out
        raise RuntimeError(f"the API server did not answer {method.__name__}: {exc}") from None
    except ApiException as exc:
        if exc.status == 404 and missing_ok:
            return None
        if exc.status == 404 and method.__name__.startswith("create"):
            raise RuntimeError(
                f"the cluster serves no {GROUP}/{VERSION} InferenceServices: KServe is not installed "
                "(`mlstack deploy` installs it unless target.existing_addons names it)"
            ) from None
        reason = exc.reason
        try:
            reason = json.loads(exc.body or "{}").get("message") or reason
        except ValueError:
            pass
        raise RuntimeError(f"the API server refused {method.__name__} ({exc.status}): {reason}") from None


def _ready(api: Any, core_api: Any, namespace: str, name: str) -> float:
    """Seconds until the InferenceService is Ready; past READY_TIMEOUT, why not (its conditions, and what its
    pods wait on)."""
    start = time.monotonic()
    conditions: list[dict[str, Any]] = []
    while time.monotonic() - start < READY_TIMEOUT:
        found = _call(api.get_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL, name)
        conditions = (found.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            return time.monotonic() - start
        time.sleep(POLL)
    not_ready = [
        f"{c.get('type')}: {c.get('reason') or c.get('status')}{' - ' + c['message'] if c.get('message') else ''}"
        for c in conditions
        if c.get("status") != "True"
    ]
    raise RuntimeError(  # not TimeoutError: verify would report it as the predictor's address not answering
        f"InferenceService {name} not Ready after {READY_TIMEOUT:.0f} s ("
        + "; ".join(not_ready + _waiting(core_api, namespace, name) or ["no condition reported: is KServe running?"])
        + ")"
    )


def _waiting(api: Any, namespace: str, name: str) -> list[str]:
    """What the predictor pods' containers wait on (an image pull, a crash loop)."""
    from kubernetes.client import CoreV1Api

    try:
        pods = _call(
            CoreV1Api(api).list_namespaced_pod, namespace, label_selector=f"serving.kserve.io/inferenceservice={name}"
        )
    except RuntimeError as exc:  # what the pods wait on is a hint: its absence must not hide the timeout
        return [f"(the predictor pods could not be listed: {exc})"]
    found = []
    for pod in pods.items:
        statuses = (pod.status.init_container_statuses or []) + (pod.status.container_statuses or [])
        for status in statuses:
            waiting = status.state.waiting if status.state else None
            if waiting is not None:
                found.append(f"pod {pod.metadata.name} {status.name}: {waiting.reason}")
    return found
