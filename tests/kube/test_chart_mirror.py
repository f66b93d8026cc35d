"""The chart mirror of air-gapped clusters: `mlstack doctor` names the archives a mirror directory lacks, and
`doctor --fix` pulls them from an OCI registry with the real OCI client, checking each against its manifest's
digest. The registry here is a real one (Debian's docker-registry, CNCF distribution) on 127.0.0.1, holding the
pinned charts pushed as Helm pushes them (an OCI manifest with Helm's config and chart-layer media types)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlstack.components.kubernetes.addons import MIRROR_ENV
from mlstack.components.kubernetes.addons import charts as mirror
from mlstack.versions import CHARTS
from tests.local.conftest import mlstack

REGISTRY = Path("/usr/bin/docker-registry")
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
pytestmark = pytest.mark.skipif(not REGISTRY.exists(), reason="needs Debian docker-registry (make install)")


@pytest.fixture()
def oci_registry(tmp_path: Path) -> Iterator[str]:
    """A distribution registry on 127.0.0.1, in its own process group, stopped afterwards."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "registry.yml"
    config.write_text(json.dumps({
        "version": 0.1, "log": {"level": "error"},
        "storage": {"filesystem": {"rootdirectory": str(tmp_path / "blobs")}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}"},
    }))
    process = subprocess.Popen([str(REGISTRY), "serve", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, "the registry did not start"
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def _push(registry: str, archive: Path, name: str, version: str, tmp: Path) -> None:
    """What `helm push` makes: the chart archive as the one layer, Helm's config (the chart's metadata)."""
    import oras.client

    config = tmp / f"{name}-config.json"
    config.write_text(json.dumps({"name": name, "version": version, "apiVersion": "v2"}))
    cwd = Path.cwd()
    os.chdir(archive.parent)  # oras names a layer by its path as given
    try:
        oras.client.OrasClient(hostname=registry, insecure=True).push(
            target=f"{registry}/charts/{name}:{version}",
            files=[f"{archive.name}:{mirror.HELM_LAYER}"],
            manifest_config=f"{config}:{HELM_CONFIG}",
            disable_path_validation=True,
            quiet=True,
        )
    finally:
        os.chdir(cwd)


def test_doctor_fix_fills_a_mirror_directory_from_an_oci_registry(chart_mirror, oci_registry, tmp_path,
                                                                  monkeypatch, engine_home):
    for chart in CHARTS.values():
        _push(oci_registry, chart_mirror / chart.archive, chart.name, chart.version, tmp_path)
    directory = tmp_path / "mirror"
    monkeypatch.setenv(MIRROR_ENV, str(directory))
    monkeypatch.setenv(mirror.SOURCE_ENV, f"oci://{oci_registry}/charts")

    before = mirror.checks(fix=False)
    assert [ok for _, ok, _ in before] == [False] * len(CHARTS)
    assert all("`mlstack doctor --fix` pulls it from" in detail for _, _, detail in before)
    done = mlstack("doctor", "--json", check=False, timeout=120)  # the same, as `mlstack doctor` shows it
    shown = {c["name"]: c for c in json.loads(done.stdout)["result"]["checks"] if c["area"] == "kubernetes"}
    assert all(shown[f"chart {c.name}"]["ok"] is False for c in CHARTS.values())

    after = mirror.checks(fix=True)
    assert all(ok for _, ok, _ in after), after
    for chart in CHARTS.values():
        assert (directory / chart.archive).read_bytes() == (chart_mirror / chart.archive).read_bytes()
    assert not list(directory.glob("*.part"))
    assert all(ok for _, ok, _ in mirror.checks(fix=False))  # a filled mirror is left as it is


def test_a_chart_the_source_lacks_is_named_and_nothing_half_written(chart_mirror, oci_registry, tmp_path,
                                                                    monkeypatch):
    first, *rest = CHARTS.values()
    for chart in rest:
        _push(oci_registry, chart_mirror / chart.archive, chart.name, chart.version, tmp_path)
    directory = tmp_path / "mirror"
    monkeypatch.setenv(MIRROR_ENV, str(directory))
    monkeypatch.setenv(mirror.SOURCE_ENV, f"oci://{oci_registry}/charts")
    found = {name: (ok, detail) for name, ok, detail in mirror.checks(fix=True)}
    ok, detail = found[f"chart {first.name}"]
    assert not ok and f"pulling it from oci://{oci_registry}/charts failed" in detail
    assert not (directory / first.archive).exists() and not list(directory.glob("*.part"))
    assert all(found[f"chart {c.name}"][0] for c in rest), found
