"""Render a stack's typed client config into the formats clients read: json, yaml, env, zenml.

Every format is computed from the same typed models (mlstack.clients.models); secrets appear only when asked
(`show_secrets`), otherwise as references naming the `--show-secrets` output key and the variable to set.
"""

from __future__ import annotations

import io
import json
import shlex
from typing import Any

from mlstack.clients.models import (SCHEMA_VERSION, ObjectStoreClient, OrchestratorClient, RegistryClient,
                                    SecretRef, ServingClient, StackClients, TrackingClient)
from mlstack.versions import ZENML_VERSION

FORMATS = ("json", "yaml", "env", "zenml")
MODELS = {"object_store": ObjectStoreClient, "registry": RegistryClient, "tracking": TrackingClient,
          "orchestrator": OrchestratorClient, "serving": ServingClient}


def typed(clients: StackClients) -> dict[str, Any]:
    return {kind: MODELS[kind].model_validate(data) for kind, data in clients.components.items() if kind in MODELS}


def render(clients: StackClients, secrets: dict[str, str], fmt: str, show_secrets: bool = False,
           zenml_version: str = ZENML_VERSION) -> str:
    if fmt in ("json", "yaml"):
        data = clients.model_dump(by_alias=True, exclude_none=True)
        if show_secrets:
            data["secrets"] = secrets
        return json.dumps(data, indent=2, sort_keys=True) + "\n" if fmt == "json" else _yaml(data)
    if fmt == "env":
        return env_file(clients, secrets, show_secrets)
    if fmt == "zenml":
        return _yaml(zenml_stack(clients, secrets, show_secrets, zenml_version))
    raise ValueError(fmt)


def _secret(ref: SecretRef | None, secrets: dict[str, str], show: bool) -> str | None:
    return secrets.get(ref.output) if ref and show else None


def env_vars(clients: StackClients, secrets: dict[str, str], show_secrets: bool) -> tuple[dict[str, str], list[SecretRef]]:
    """Variables a shell or CI job needs, and the secret ones left out (unless show_secrets)."""
    out: dict[str, str] = {"MLSTACK_STACK": clients.stack, "MLSTACK_TARGET": clients.target}
    hidden: list[SecretRef] = []

    def secret(ref: SecretRef | None) -> None:
        if ref is None:
            return
        if show_secrets and ref.output in secrets:
            out[ref.env] = secrets[ref.output]
        else:
            hidden.append(ref)

    c = typed(clients)
    if store := c.get("object_store"):
        if store.endpoint_url:
            out["AWS_ENDPOINT_URL_S3"] = store.endpoint_url
        if store.region:
            out["AWS_DEFAULT_REGION"] = store.region
        if store.access_key_id:
            out["AWS_ACCESS_KEY_ID"] = store.access_key_id
        out["MLSTACK_BUCKET"] = store.buckets[0]
        secret(store.secret_access_key)
    if registry := c.get("registry"):
        out["MLSTACK_REGISTRY"] = registry.uri
        if registry.username:
            out["MLSTACK_REGISTRY_USERNAME"] = registry.username
        secret(registry.password)
    if tracking := c.get("tracking"):
        out["MLFLOW_TRACKING_URI"] = tracking.tracking_uri
        if tracking.username:
            out["MLFLOW_TRACKING_USERNAME"] = tracking.username
        secret(tracking.password)
    if serving := c.get("serving"):
        out["MLSTACK_SERVING_URL"] = serving.base_url
        if serving.model_repository:
            out["MLSTACK_MODEL_REPOSITORY"] = serving.model_repository
    if (orchestrator := c.get("orchestrator")) and orchestrator.url:
        out["MLSTACK_ORCHESTRATOR_URL"] = orchestrator.url
    return out, hidden


def env_file(clients: StackClients, secrets: dict[str, str], show_secrets: bool) -> str:
    values, hidden = env_vars(clients, secrets, show_secrets)
    lines = [f"# mlstack {SCHEMA_VERSION}: stack {clients.stack} ({clients.target})"]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in values.items()]
    lines += [f"# {ref.env}: secret, not shown (`mlstack output --stack {clients.stack} --format env --show-secrets`)"
              for ref in hidden]
    return "\n".join(lines) + "\n"


def zenml_stack(clients: StackClients, secrets: dict[str, str], show_secrets: bool,
                zenml_version: str = ZENML_VERSION) -> dict[str, Any]:
    """ZenML's `stack import` format: {stack_name, zenml_version, components: {type: [{name, type, flavor, configuration}]}}.

    Credentials stay out unless show_secrets: ZenML's S3 store and the MLflow tracker then read the standard
    variables (AWS_*, MLFLOW_TRACKING_*) that `--format env` provides.
    """
    name, c = clients.stack, typed(clients)
    components: dict[str, list[dict]] = {}

    def add(ztype: str, flavor: str, configuration: dict) -> None:
        components[ztype] = [{"name": f"{name}-{ztype.replace('_', '-')}", "type": ztype, "flavor": flavor,
                              "configuration": {k: v for k, v in configuration.items() if v is not None}}]

    if store := c.get("object_store"):
        kwargs = {"endpoint_url": store.endpoint_url, "region_name": store.region}
        add("artifact_store", "s3", {
            "path": f"{store.buckets[0]}/zenml",
            "client_kwargs": {k: v for k, v in kwargs.items() if v},
            "key": store.access_key_id if show_secrets else None,
            "secret": _secret(store.secret_access_key, secrets, show_secrets),
        })
    else:
        add("artifact_store", "local", {})
    if registry := c.get("registry"):
        add("container_registry", "default", {"uri": registry.uri})
    if tracking := c.get("tracking"):
        add("experiment_tracker", "mlflow", {
            "tracking_uri": tracking.tracking_uri,
            "tracking_username": tracking.username,
            "tracking_password": _secret(tracking.password, secrets, show_secrets),
        })
    if orchestrator := c.get("orchestrator"):
        add("orchestrator", ZENML_ORCHESTRATOR.get(orchestrator.flavor, orchestrator.flavor), {})
    return {"stack_name": name, "zenml_version": zenml_version, "components": components}


# mlstack orchestrator flavor -> ZenML orchestrator flavor (identical where ZenML has the same name).
ZENML_ORCHESTRATOR = {"local": "local", "airflow": "airflow", "kubeflow": "kubeflow", "sagemaker": "sagemaker",
                      "vertex": "vertex", "azureml": "azureml"}


def _yaml(data: Any) -> str:
    from ruamel.yaml import YAML

    buf = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(data, buf)
    return buf.getvalue()
