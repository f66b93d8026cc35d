"""Fixtures for tests against the real test control plane (tests/kube/controlplane.py).

One control plane per session: it starts in seconds but costs ~600 MB, and tests isolate themselves by namespace.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlstack import registry
from mlstack.engine import plugins, reaper
from mlstack.home import Home
from mlstack.versions import ETCD_DEBIAN_PACKAGE, KUBERNETES_PROVIDER_VERSION
from tests.conftest import PREPARED_HOME
from tests.kube import charts
from tests.kube.build import is_built
from tests.kube.controlplane import ETCD, ControlPlane
from tests.kube.plugin_home import link_plugin

NEEDS = registry.plugin_need("kubernetes")


def _missing() -> list[str]:
    missing = []
    if not is_built():
        missing.append("Kubernetes binaries not built: run `python -m tests.kube.build`")
    if not ETCD.exists():
        missing.append(f"{ETCD} missing: run `apt-get install {ETCD_DEBIAN_PACKAGE}`")
    return missing


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """A started control plane: one Ready fake Node, default StorageClass `standard`, kubeconfig context
    `mlstack-test`. Skips (naming the command that prepares it) where its binaries are not there."""
    missing = _missing()
    if missing and os.environ.get("MLSTACK_REQUIRE_CONTROL_PLANE"):  # `make test` prepares it: missing is a bug
        pytest.fail("test control plane unavailable although `make test` prepares it: " + "; ".join(missing))
    if missing:
        pytest.skip("test control plane unavailable: " + "; ".join(missing))
    with ControlPlane(tmp_path_factory.mktemp("kube")) as cp:
        yield cp


@pytest.fixture()
def namespace(control_plane: ControlPlane, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace named after the test, deleted afterwards (without waiting: deletion takes seconds and the
    session's control plane is thrown away anyway).

    Returned once its `default` ServiceAccount exists: until the controller-manager has made it, admission refuses
    pods, and ReplicaSets retry with a backoff that costs seconds."""
    name = "t-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:55].rstrip("-")
    control_plane.kubectl("create", "namespace", name)
    control_plane.kubectl("wait", "--for=create", "serviceaccount/default", "-n", name, "--timeout=30s")
    yield name
    control_plane.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)


@pytest.fixture()
def kube_env(engine_home, control_plane: ControlPlane, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(control_plane.kubeconfig))
    return engine_home


@pytest.fixture()
def plugin_home(kube_env: Home) -> Iterator[Home]:
    link_plugin(PREPARED_HOME.pulumi_home, kube_env.pulumi_home)
    if plugins.installed(kube_env, NEEDS) is None:
        why = (f"the Pulumi kubernetes provider plugin v{KUBERNETES_PROVIDER_VERSION} is not installed in "
               f"{PREPARED_HOME.pulumi_home}: `mlstack doctor --fix` fetches it or builds it from Go modules")
        if os.environ.get("MLSTACK_REQUIRE_TOOLS"):  # `make test` prepares it: missing is a bug
            pytest.fail(why)
        pytest.skip(why)
    yield kube_env
    reaper.reap(kube_env.pulumi_home)  # whatever a test killed or failed on, no plugin of its home outlives it


@pytest.fixture(scope="session")
def chart_mirror() -> Path:
    """The mirror of every pinned chart; skips (fails under `make test`) where Go cannot fetch their sources."""
    try:
        return charts.build()
    except RuntimeError as exc:
        if os.environ.get("MLSTACK_REQUIRE_TOOLS"):
            pytest.fail(f"chart mirror: {exc}")
        pytest.skip(f"chart mirror: {exc}")
