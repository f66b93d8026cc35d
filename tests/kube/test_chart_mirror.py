"""The chart mirror of air-gapped clusters: `mlstack doctor` names the archives a mirror directory lacks, and
`doctor --fix` pulls them from an OCI registry with the real OCI client, checking each against its manifest's
digest. The registry here is a real one (Debian's docker-registry, CNCF distribution) on 127.0.0.1, holding the
pinned charts pushed as Helm pushes them (an OCI manifest with Helm's config and chart-layer media types)."""

from __future__ import annotations

import contextlib
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
from mlstack.versions import CHART_SOURCES, CHARTS, HelmChart
from tests.local.conftest import mlstack

REGISTRY = Path("/usr/bin/docker-registry")
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
needs_registry = pytest.mark.skipif(not REGISTRY.exists(), reason="needs Debian docker-registry (make install)")
HELD = [c for k, c in CHARTS.items() if k in CHART_SOURCES]  # what the tests' mirror builds (Airflow's is not a module)


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
    with _serving([str(REGISTRY), "serve", str(config)], port, "the registry"):
        yield f"127.0.0.1:{port}"


@contextlib.contextmanager
def _serving(argv: list[str], port: int, what: str, cwd: Path | None = None) -> Iterator[None]:
    """A server on 127.0.0.1:`port`, in its own process group, until it accepts connections (20 s); stopped after."""
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, f"{what} did not start"
                time.sleep(0.1)
        yield
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


@needs_registry
def test_doctor_fix_fills_a_mirror_directory_from_an_oci_registry(chart_mirror, oci_registry, tmp_path,
                                                                  monkeypatch, engine_home):
    for chart in HELD:
        _push(oci_registry, chart_mirror / chart.archive, chart.name, chart.version, tmp_path)
    directory = tmp_path / "mirror"
    monkeypatch.setenv(MIRROR_ENV, str(directory))
    monkeypatch.setenv(mirror.SOURCE_ENV, f"oci://{oci_registry}/charts")

    before = [c for c in mirror.checks(fix=False) if c[0].startswith("chart ")]  # the render files: test_kubeflow
    assert [ok for _, ok, _ in before] == [False] * len(CHARTS)
    assert all("`mlstack doctor --fix` pulls it from" in detail for _, _, detail in before)
    done = mlstack("doctor", "--json", check=False, timeout=120)  # the same, as `mlstack doctor` shows it
    shown = {c["name"]: c for c in json.loads(done.stdout)["result"]["checks"] if c["area"] == "kubernetes"}
    assert all(shown[f"chart {c.name}"]["ok"] is False for c in CHARTS.values())
    assert "missing (used by orchestrator: airflow)" in shown["chart airflow"]["detail"]  # who would miss it
    assert "(used by add-on cert-manager)" in shown["chart cert-manager"]["detail"]

    after = {name: (ok, detail) for name, ok, detail in mirror.checks(fix=True)}
    assert all(after[f"chart {c.name}"][0] for c in HELD), after
    for chart in HELD:
        assert (directory / chart.archive).read_bytes() == (chart_mirror / chart.archive).read_bytes()
    assert not list(directory.glob("*.part"))
    again = {name: ok for name, ok, _ in mirror.checks(fix=False)}  # a filled mirror is left as it is
    assert all(again[f"chart {c.name}"] for c in HELD)


@needs_registry
def test_a_chart_the_source_lacks_is_named_and_nothing_half_written(chart_mirror, oci_registry, tmp_path,
                                                                    monkeypatch):
    first, *rest = HELD
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


@pytest.fixture()
def chart_repository(chart_mirror: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP chart repository on 127.0.0.1 (Python's http.server, its own process group): an index.yaml naming
    one archive of the tests' mirror, with its sha256 digest, as `helm repo index` writes it."""
    import hashlib

    served = tmp_path / "repo"
    served.mkdir()
    chart = HELD[0]
    archive = (chart_mirror / chart.archive).read_bytes()
    (served / "charts").mkdir()
    (served / "charts" / chart.archive).write_bytes(archive)
    (served / "index.yaml").write_text(json.dumps({"apiVersion": "v1", "entries": {chart.name: [
        {"name": chart.name, "version": chart.version, "urls": [f"charts/{chart.archive}"],
         "digest": hashlib.sha256(archive).hexdigest()}]}}))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    import sys

    with _serving([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)], port, "the repository",
                  cwd=served):
        yield f"http://127.0.0.1:{port}", served


def test_an_http_chart_repository_s_archive_is_checked_against_its_index(chart_repository, tmp_path):
    url, served = chart_repository
    held = HELD[0]
    chart = HelmChart(held.name, held.version, url)  # as Airflow's chart is published: an HTTP repository
    target = tmp_path / chart.archive
    digest = mirror.pull_http(chart, url, target)
    assert target.read_bytes() == (served / "charts" / chart.archive).read_bytes()
    assert digest == "sha256:" + json.loads((served / "index.yaml").read_text())["entries"][chart.name][0]["digest"]

    (served / "charts" / chart.archive).write_bytes(b"not the archive the index names")
    target.unlink()
    with pytest.raises(ValueError, match="the repository's index names"):
        mirror.pull_http(chart, url, target)
    assert not target.exists() and not list(tmp_path.glob("*.part"))
    with pytest.raises(ValueError, match="lists no"):
        mirror.pull_http(HelmChart(chart.name, "0.0.0-absent", url), url, target)
    (served / "index.yaml").write_text("<html><body>proxy login: {</body></html>\n")  # what a proxy may answer
    with pytest.raises(ValueError):
        mirror.pull_http(chart, url, target)
    assert not target.exists()
