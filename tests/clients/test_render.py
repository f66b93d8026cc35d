"""Renderings of the typed client config, without a deployed stack."""

from __future__ import annotations

import socket

import pytest

from mlstack.clients.models import StackClients
from mlstack.clients.render import env_vars, render, zenml_stack
from mlstack.clients.verify import verify

SECRETS = {"object_store_secret_key": "S3-SECRET-VALUE-0123456789abcdef", "tracking_password": "TRACKING-PASSWORD-xyz",
           "registry_password": "REGISTRY-PASSWORD-abc"}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed once the socket is


def clients(port: int = 9000) -> StackClients:
    return StackClients.model_validate({"schemaVersion": "mlstack.clients/v1", "stack": "demo", "target": "local",
        "components": {
            "object_store": {"kind": "object_store", "flavor": "minio", "endpoint_url": f"http://127.0.0.1:{port}",
                             "region": "us-east-1", "buckets": ["s3://data"], "access_key_id": "AKIDEMO",
                             "secret_access_key": {"output": "object_store_secret_key", "env": "AWS_SECRET_ACCESS_KEY"}},
            "registry": {"kind": "registry", "flavor": "distribution", "uri": f"127.0.0.1:{port}", "insecure": True,
                         "username": "mlstack", "password": {"output": "registry_password", "env": "MLSTACK_REGISTRY_PASSWORD"}},
            "tracking": {"kind": "tracking", "flavor": "mlflow", "tracking_uri": f"http://127.0.0.1:{port}",
                         "username": "admin", "password": {"output": "tracking_password", "env": "MLFLOW_TRACKING_PASSWORD"}},
            "orchestrator": {"kind": "orchestrator", "flavor": "local"},
            "serving": {"kind": "serving", "flavor": "mlserver", "base_url": f"http://127.0.0.1:{port}", "protocol": "v2"},
        }})


@pytest.mark.parametrize("fmt", ["json", "yaml", "env", "zenml"])
def test_no_format_carries_a_secret_unless_asked(fmt):
    text = render(clients(), SECRETS, fmt)
    assert not [k for k, v in SECRETS.items() if v in text]
    shown = render(clients(), SECRETS, fmt, show_secrets=True)
    # ZenML's container registry takes its credentials from a ZenML secret it names (authentication_secret), so
    # its stack file never carries the registry password; every other format carries every secret when asked.
    expected = {k for k in SECRETS if not (fmt == "zenml" and k == "registry_password")}
    assert {k for k, v in SECRETS.items() if v in shown} == expected
    if fmt == "zenml":
        assert "authentication_secret: mlstack-demo-registry" in shown


def test_env_has_what_clients_read():
    values, hidden = env_vars(clients(), SECRETS, show_secrets=False)
    assert values["AWS_ENDPOINT_URL_S3"] == "http://127.0.0.1:9000"
    assert values["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:9000"
    assert values["MLSTACK_REGISTRY"] == "127.0.0.1:9000" and values["MLSTACK_BUCKET"] == "s3://data"
    assert sorted(r.env for r in hidden) == ["AWS_SECRET_ACCESS_KEY", "MLFLOW_TRACKING_PASSWORD", "MLSTACK_REGISTRY_PASSWORD"]


def test_zenml_uses_secret_references_and_the_configured_version():
    stack = zenml_stack(clients(), SECRETS, show_secrets=False, zenml_version="0.97.1")
    assert stack["zenml_version"] == "0.97.1"
    tracker = stack["components"]["experiment_tracker"][0]
    assert tracker["flavor"] == "mlflow" and tracker["configuration"]["tracking_password"] == "{{mlstack-demo.tracking_password}}"
    store = stack["components"]["artifact_store"][0]["configuration"]
    assert store["path"] == "s3://data/zenml" and store["client_kwargs"]["endpoint_url"] == "http://127.0.0.1:9000"
    assert stack["components"]["container_registry"][0]["configuration"]["authentication_secret"] == "mlstack-demo-registry"
    assert "model_deployer" not in stack["components"]  # ZenML has no MLServer deployer flavor


def test_verify_reports_each_unreachable_component_by_name():
    results = verify(clients(closed_port()), SECRETS)
    by_kind = {r.kind: r for r in results}
    assert [r.kind for r in results] == ["object_store", "registry", "tracking", "orchestrator", "serving"]
    assert by_kind["orchestrator"].ok is True
    assert {k for k, r in by_kind.items() if not r.ok} == {"object_store", "registry", "tracking", "serving"}
    assert all(r.detail for r in results)
