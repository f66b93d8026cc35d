"""Render a stack's typed client config into the formats clients read: json, yaml, env, zenml.

Every format is computed from the same typed models (mlstack.clients.models); secrets appear only when asked
(`show_secrets`), otherwise as references naming the `--show-secrets` output key and the variable to set.
"""

from __future__ import annotations

import functools
import io
import json
import shlex
from typing import Any

from pydantic import BaseModel

from mlstack.clients.models import (
    SCHEMA_VERSION,
    ObjectStoreClient,
    OrchestratorClient,
    RegistryClient,
    SecretRef,
    ServingClient,
    StackClients,
    TrackingClient,
)
from mlstack.errors import UsageError
from mlstack.registry import Flavor, lookup
from mlstack.versions import ZENML_VERSION

FORMATS = ("json", "yaml", "env", "zenml", "kubeconfig")
MODELS: dict[str, type[BaseModel]] = {
    "object_store": ObjectStoreClient,
    "registry": RegistryClient,
    "tracking": TrackingClient,
    "orchestrator": OrchestratorClient,
    "serving": ServingClient,
}


def typed(clients: StackClients) -> dict[str, Any]:
    return {kind: MODELS[kind].model_validate(data) for kind, data in clients.components.items() if kind in MODELS}


def render(
    clients: StackClients,
    secrets: dict[str, str],
    fmt: str,
    show_secrets: bool = False,
    zenml_version: str = ZENML_VERSION,
) -> str:
    if fmt in ("json", "yaml"):
        data = clients.model_dump(by_alias=True, exclude_none=True)
        if show_secrets:
            data["secrets"] = secrets
        return json.dumps(data, indent=2, sort_keys=True) + "\n" if fmt == "json" else dump_yaml(data)
    if fmt == "env":
        return env_file(clients, secrets, show_secrets)
    if fmt == "zenml":
        return zenml_file(clients, secrets, show_secrets, zenml_version)
    if fmt == "kubeconfig":
        if clients.cluster is None:
            raise UsageError(
                f"stack {clients.stack!r} did not create its cluster: it has no kubeconfig of its own",
                hint="its cluster is reached by your own kubeconfig (the recipe's `target.context`)",
            )
        return clients.cluster.kubeconfig.rstrip("\n") + "\n"
    raise ValueError(fmt)


def _secret(ref: SecretRef | None, secrets: dict[str, str], show: bool) -> str | None:
    return secrets.get(ref.output) if ref and show else None


def env_vars(
    clients: StackClients, secrets: dict[str, str], show_secrets: bool
) -> tuple[dict[str, str], list[SecretRef]]:
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
        if store.flavor == "azure_blob":  # az:// paths name no account: adlfs (ZenML) and the Azure SDKs read it
            out["AZURE_STORAGE_ACCOUNT_NAME"] = azure_account(store.endpoint_url)
        elif store.endpoint_url:
            out["AWS_ENDPOINT_URL_S3"] = store.endpoint_url
        if store.region and store.flavor != "azure_blob":
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
    if orchestrator and orchestrator.username:
        out["MLSTACK_ORCHESTRATOR_USERNAME"] = orchestrator.username
        secret(orchestrator.password)
    return out, hidden


def azure_account(endpoint: str | None) -> str:
    """The storage account of a blob endpoint (https://<account>.blob.core.windows.net/)."""
    from urllib.parse import urlsplit

    return (urlsplit(endpoint or "").hostname or "").split(".", 1)[0]


def env_file(clients: StackClients, secrets: dict[str, str], show_secrets: bool) -> str:
    values, hidden = env_vars(clients, secrets, show_secrets)
    lines = [f"# mlstack {SCHEMA_VERSION}: stack {clients.stack} ({clients.target})"]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in values.items()]
    lines += [
        f"# {ref.env}: secret, not shown (`mlstack output --stack {clients.stack} --format env --show-secrets`)"
        for ref in hidden
    ]
    return "\n".join(lines) + "\n"


def zenml_secret_names(stack: str) -> tuple[str, str]:
    """ZenML secrets the stack file refers to: one for the stack's credentials, one for the registry login
    (ZenML's `authentication_secret` wants a secret with exactly `username` and `password`)."""
    return f"mlstack-{stack}", f"mlstack-{stack}-registry"


def zenml_stack(
    clients: StackClients, secrets: dict[str, str], show_secrets: bool, zenml_version: str = ZENML_VERSION
) -> dict[str, Any]:
    """ZenML's `stack import` format:
    {stack_name, zenml_version, components: {type: [{name, type, flavor, configuration}]}}.

    Credentials are ZenML secret references (`{{secret.key}}`) unless show_secrets: ZenML resolves them on
    import, so the secrets `zenml_secret_commands` lists must exist first. No secret value is in the file.
    Where a component has an in-cluster address (kubernetes), the file names it: ZenML's steps run in the cluster.
    """
    name, c = clients.stack, typed(clients)
    main, registry_secret = zenml_secret_names(name)

    def flavor(client: Any) -> Flavor:
        found = lookup(clients.target, client.kind, client.flavor)
        if found is None:
            raise ValueError(f"stack output names {client.kind} flavor {client.flavor!r} unknown on {clients.target}")
        return found

    components: dict[str, list[dict]] = {}

    def ref(key: str, value: str | None) -> str | None:
        return value if show_secrets else f"{{{{{main}.{key}}}}}"

    def add(ztype: str, flavor: str, configuration: dict) -> None:
        components[ztype] = [
            {
                "name": f"{name}-{ztype.replace('_', '-')}",
                "type": ztype,
                "flavor": flavor,
                "configuration": {k: v for k, v in configuration.items() if v is not None},
            }
        ]

    if (store := c.get("object_store")) and flavor(store).zenml == "s3":
        kwargs = {"endpoint_url": store.cluster_endpoint_url or store.endpoint_url, "region_name": store.region}
        add(
            "artifact_store",
            "s3",
            {
                "path": f"{store.buckets[0]}/zenml",
                "client_kwargs": {k: v for k, v in kwargs.items() if v},
                "key": ref("aws_access_key_id", store.access_key_id) if store.access_key_id else None,
                "secret": ref("aws_secret_access_key", _secret(store.secret_access_key, secrets, True))
                if store.secret_access_key
                else None,
            },
        )
    elif store:  # gcp / azure: credentials come from the cloud identity (service connector or ambient)
        add("artifact_store", flavor(store).zenml or store.flavor, {"path": f"{store.buckets[0]}/zenml"})
    else:
        add("artifact_store", "local", {})
    if registry := c.get("registry"):
        add(
            "container_registry",
            flavor(registry).zenml or registry.flavor,
            {"uri": registry.uri, "authentication_secret": registry_secret if registry.password else None},
        )
    if tracking := c.get("tracking"):
        add(
            "experiment_tracker",
            "mlflow",
            {
                "tracking_uri": tracking.cluster_tracking_uri or tracking.tracking_uri,
                "tracking_username": tracking.username,
                "tracking_password": ref("tracking_password", _secret(tracking.password, secrets, True))
                if tracking.password
                else None,
            },
        )
    if orchestrator := c.get("orchestrator"):
        hint = flavor(orchestrator)
        add(
            "orchestrator",
            hint.zenml or orchestrator.flavor,
            hint.zenml_config(orchestrator) if hint.zenml_config else {},
        )
        for ztype, (zflavor, configuration) in hint.zenml_extra.items():
            add(ztype, zflavor, configuration)
    return {"stack_name": name, "zenml_version": zenml_version, "components": components}


def zenml_secret_commands(clients: StackClients) -> list[str]:
    """`zenml secret create` commands for the secrets the stack file refers to, reading values from the
    variables `mlstack output --format env --show-secrets` exports."""
    main, registry_secret = zenml_secret_names(clients.stack)
    c = typed(clients)
    keys: list[str] = []
    if (store := c.get("object_store")) and store.secret_access_key:
        keys += [
            '--aws_access_key_id="$AWS_ACCESS_KEY_ID"',
            f'--aws_secret_access_key="${store.secret_access_key.env}"',
        ]
    if (tracking := c.get("tracking")) and tracking.password:
        keys.append(f'--tracking_password="${tracking.password.env}"')
    commands = [f"zenml secret create {main} {' '.join(keys)}"] if keys else []
    if (registry := c.get("registry")) and registry.password:
        commands.append(
            f'zenml secret create {registry_secret} --username="$MLSTACK_REGISTRY_USERNAME" '
            f'--password="${registry.password.env}"'
        )
    return commands


def zenml_file(clients: StackClients, secrets: dict[str, str], show_secrets: bool, zenml_version: str) -> str:
    body = dump_yaml(zenml_stack(clients, secrets, show_secrets, zenml_version))
    commands = [] if show_secrets else zenml_secret_commands(clients)
    header = (
        [
            f"# ZenML stack of mlstack stack {clients.stack!r}: `zenml stack import {clients.stack} -f FILE`.",
            "# Credentials are ZenML secret references; create the secrets first (values from",
            f'# `eval "$(mlstack output --stack {clients.stack} --format env --show-secrets)"`):',
            *[f"#   {cmd}" for cmd in commands],
        ]
        if commands
        else []
    )
    store = clients.components.get("object_store") or {}
    if store.get("flavor") == "azure_blob":  # the pods have it; a laptop or CI job running pipelines needs it too
        header += [
            "# Azure Blob Storage: an az:// path names no account. Where pipelines start (a laptop, CI), set",
            f"# AZURE_STORAGE_ACCOUNT_NAME={azure_account(store['endpoint_url'])} (`mlstack output --format env` does)",
            "# and sign in (`az login`): adlfs reads both.",
        ]
    dags = (clients.components.get("orchestrator") or {}).get("dags_uri")
    if dags:  # Airflow: ZenML writes each pipeline's DAG archive locally; Airflow reads DAGs from the object store
        header += [
            f"# Airflow: ZenML uploads each pipeline's DAG archive to {dags} (dag_output_dir) through the",
            "# artifact store's S3 client; Airflow's DAG processor reads it from there (its S3 DAG bundle).",
        ]
    return "\n".join(header) + "\n" + body if header else body


def dump_yaml(data: Any, sort_keys: bool = True) -> str:
    """Block-style YAML of plain data, keys sorted unless the order is the point (a recipe reads top-down).

    Every reader must read the same strings: a string that YAML 1.1 resolves to something else (`off`, `yes`, `0x1f`,
    `1:20`, `2001-12-14`) is quoted, since kubectl (sigs.k8s.io/yaml) and PyYAML (ZenML) read YAML 1.1."""
    from ruamel.yaml import YAML

    buf = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.Representer = _quoting_representer()
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = sort_keys
    yaml.dump(data, buf)
    return buf.getvalue()


@functools.cache
def _quoting_representer() -> type:
    from ruamel.yaml.nodes import ScalarNode
    from ruamel.yaml.representer import SafeRepresenter
    from ruamel.yaml.resolver import VersionedResolver

    yaml_11 = VersionedResolver(version=(1, 1))

    class QuotingRepresenter(SafeRepresenter):
        def represent_str(self, data: str) -> ScalarNode:
            node = super().represent_str(data)
            if node.style is None and yaml_11.resolve(ScalarNode, data, (True, False)) != "tag:yaml.org,2002:str":
                node.style = "'"
            return node

    QuotingRepresenter.add_representer(str, QuotingRepresenter.represent_str)
    return QuotingRepresenter
