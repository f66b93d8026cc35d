"""Render a stack's typed client config into the formats clients read."""

from __future__ import annotations

import json
from typing import Any

from mlstack.clients.models import StackClients
from mlstack.versions import ZENML_VERSION

FORMATS = ("json", "yaml", "env", "zenml")


def render(clients: StackClients, secrets: dict[str, str], fmt: str, show_secrets: bool = False) -> str:
    data = clients.model_dump(by_alias=True, exclude_none=True)
    if fmt == "json":
        if show_secrets:
            data["secrets"] = secrets
        return json.dumps(data, indent=2, sort_keys=True) + "\n"
    if fmt == "yaml":
        if show_secrets:
            data["secrets"] = secrets
        return _yaml(data)
    if fmt == "env":
        return "".join(f"export {k}={_shell_quote(v)}\n" for k, v in env_vars(clients, secrets, show_secrets).items())
    if fmt == "zenml":
        return _yaml(zenml_stack(clients, secrets, show_secrets))
    raise ValueError(fmt)


def env_vars(clients: StackClients, secrets: dict[str, str], show_secrets: bool) -> dict[str, str]:
    out: dict[str, str] = {"MLSTACK_STACK": clients.stack}
    registry = clients.components.get("registry")
    if registry:
        out["MLSTACK_REGISTRY"] = registry["uri"]
        if registry.get("username"):
            out["MLSTACK_REGISTRY_USERNAME"] = registry["username"]
        if registry.get("password"):
            ref = registry["password"]
            if show_secrets:
                out[ref["env"]] = secrets[ref["output"]]
    orchestrator = clients.components.get("orchestrator")
    if orchestrator and orchestrator.get("url"):
        out["MLSTACK_ORCHESTRATOR_URL"] = orchestrator["url"]
    return out


def zenml_stack(clients: StackClients, secrets: dict[str, str], show_secrets: bool) -> dict[str, Any]:
    """ZenML's `stack import` format: {stack_name, zenml_version, components: {type: [{name, type, flavor, configuration}]}}."""
    components: dict[str, list[dict]] = {}
    name = clients.stack
    orchestrator = clients.components.get("orchestrator")
    if orchestrator:
        components["orchestrator"] = [{"name": f"{name}-orchestrator", "type": "orchestrator",
                                       "flavor": orchestrator["flavor"], "configuration": {}}]
    registry = clients.components.get("registry")
    if registry:
        components["container_registry"] = [{"name": f"{name}-registry", "type": "container_registry",
                                              "flavor": "default", "configuration": {"uri": registry["uri"]}}]
    components.setdefault("artifact_store", [{"name": f"{name}-artifacts", "type": "artifact_store",
                                              "flavor": "local", "configuration": {}}])
    return {"stack_name": name, "zenml_version": ZENML_VERSION, "components": components}


def _yaml(data: Any) -> str:
    import io

    from ruamel.yaml import YAML

    buf = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(data, buf)
    return buf.getvalue()


def _shell_quote(value: str) -> str:
    import shlex

    return shlex.quote(str(value))
