"""`mlstack connect`'s port forwards: planned from the stack's own client output, they name exactly the Services
the manifests create; against a real API server with no kubelet behind it (kwok), the forward fails and the
error names the service, bounded in time, leaving no kubectl behind."""

from __future__ import annotations

import os
import subprocess

import pytest

from mlstack.components.kubernetes.connect import at_local_ports, forwards
from mlstack.engine.connect import forwarded
from mlstack.engine.offline import plan
from mlstack.errors import EngineError, NotAvailableError
from mlstack.recipe.loader import load_recipe
from tests.conftest import RECIPES
from tests.kube.build import bin_dir
from tests.kube.controlplane import ControlPlane

RECIPE = load_recipe(RECIPES / "kubernetes.yaml")
PLACEMENT = RECIPE.target


def components() -> dict:
    return plan(RECIPE).outputs["mlstack"]["components"]


def test_forwards_name_the_services_the_manifests_create():
    planned = forwards(PLACEMENT, RECIPE.name, components())
    services = {(r.inputs["metadata"]["name"], p["port"]) for r in plan(RECIPE).of_type("kubernetes:core/v1:Service")
                for p in r.inputs["spec"]["ports"]}
    assert {(f.service, f.port) for f in planned} == services - {("mlflow-postgres", 5432)}  # the DB is MLflow's alone
    assert {f.namespace for f in planned} == {"mlops"}
    local = at_local_ports(components(), {f: 40000 + i for i, f in enumerate(planned)})
    assert local["tracking"]["tracking_uri"].startswith("http://127.0.0.1:4")
    assert local["registry"]["uri"].startswith("127.0.0.1:4") and local["registry"]["insecure"] is True


def test_connect_needs_kubectl(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(NotAvailableError, match="kubectl"):
        with forwarded("kubernetes", PLACEMENT, RECIPE.name, components()):
            pass


@pytest.mark.timeout(120)
def test_a_forward_that_cannot_reach_a_pod_fails_naming_the_service(control_plane: ControlPlane, monkeypatch):
    monkeypatch.setenv("PATH", f"{bin_dir()}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("KUBECONFIG", str(control_plane.kubeconfig))
    placement = PLACEMENT.model_copy(update={"context": control_plane.context, "namespace": "connect-test"})
    control_plane.kubectl("create", "namespace", "connect-test")
    control_plane.kubectl("-n", "connect-test", "create", "service", "clusterip", "minio", "--tcp=9000:9000")
    address = "http://minio.connect-test.svc.cluster.local:9000"  # an existing cluster: reached only inside it
    only_store = {"object_store": {**components()["object_store"], "endpoint_url": address,
                                   "cluster_endpoint_url": address}}
    try:
        with pytest.raises(EngineError, match="svc/minio in connect-test"):
            with forwarded("kubernetes", placement, RECIPE.name, only_store):
                pass
        left = subprocess.run(["pgrep", "-f", "port-forward --address 127.0.0.1 svc/minio"], capture_output=True)
        assert left.stdout.strip() == b""
    finally:
        control_plane.kubectl("delete", "namespace", "connect-test", "--wait=false", check=False)


def test_a_kind_stack_needs_no_forward_its_services_are_on_loopback():
    recipe = load_recipe(RECIPES / "kind.yaml")
    clients = plan(recipe).outputs["mlstack"]["components"]
    assert forwards(recipe.target, recipe.name, clients) == []
    with forwarded("kubernetes", recipe.target, recipe.name, clients) as local:  # no kubectl needed for none
        assert local == clients
