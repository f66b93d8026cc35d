"""The chart mirror of air-gapped clusters: a directory of the pinned charts' archives, as `helm pull` writes them,
named by `MLSTACK_CHART_MIRROR`. `mlstack doctor` says which archives it lacks; `mlstack doctor --fix` pulls them
where the publishers (or `MLSTACK_CHART_SOURCE`, an `oci://` registry of your own) are reachable: from an OCI
registry with the OCI client mlstack already uses (oras), checking each archive against the digest its manifest
names; from an HTTP chart repository (Airflow's) against the digest its index.yaml names."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from mlstack.components.kubernetes.addons import MIRROR_ENV, mirror
from mlstack.versions import CHARTS, MANIFESTS, HelmChart

SOURCE_ENV = "MLSTACK_CHART_SOURCE"  # an oci:// registry holding every pinned chart (default: each publisher's)
HELM_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
Check = tuple[str, bool, str]


def source_of(chart: HelmChart) -> str:
    return (os.environ.get(SOURCE_ENV) or chart.repository).rstrip("/")


def pull(chart: HelmChart, repository: str, target: Path) -> str:
    """Pull one chart's archive from an OCI repository into `target` (written whole or not at all); its digest."""
    import oras.client

    reference = repository.removeprefix("oci://")
    host = reference.partition("/")[0]
    container = f"{reference}/{chart.name}:{chart.version}"
    loopback = host.split(":")[0] in ("127.0.0.1", "localhost")
    client = oras.client.OrasClient(hostname=host, insecure=loopback)  # plain HTTP only to this machine
    manifest = client.get_manifest(container)
    layers = [layer for layer in manifest.get("layers") or [] if layer.get("mediaType") == HELM_LAYER]
    if len(layers) != 1:
        raise ValueError(f"{repository}/{chart.name}:{chart.version} is not a Helm chart (no {HELM_LAYER} layer)")
    digest = layers[0]["digest"]
    partial = target.with_name(target.name + ".part")
    try:
        client.download_blob(container, digest, str(partial))
        found = "sha256:" + hashlib.sha256(partial.read_bytes()).hexdigest()
        if found != digest:
            raise ValueError(f"{chart.archive}: downloaded {found}, its manifest names {digest}")
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return digest


def pull_http(chart: HelmChart, repository: str, target: Path) -> str:
    """Pull one chart's archive from an HTTP chart repository into `target` (written whole or not at all), checked
    against the digest the repository's index names for that version, as `helm pull` does; its digest."""
    from urllib.parse import urljoin

    import requests
    from ruamel.yaml import YAML

    base = repository.rstrip("/") + "/"
    index = requests.get(urljoin(base, "index.yaml"), timeout=60)
    index.raise_for_status()
    from ruamel.yaml.error import YAMLError

    try:
        loaded = YAML(typ="safe").load(index.text)
    except YAMLError as exc:  # a proxy's HTML page, a truncated file
        raise ValueError(f"{base}index.yaml is not a chart repository's index: {str(exc).splitlines()[0]}") from None
    listed = loaded.get("entries") if isinstance(loaded, dict) else None
    entries = listed.get(chart.name) if isinstance(listed, dict) else None
    entry = next((e for e in entries or [] if isinstance(e, dict) and str(e.get("version")) == chart.version), None)
    if entry is None or not entry.get("urls") or not entry.get("digest"):
        raise ValueError(f"{base}index.yaml lists no {chart.name} {chart.version} with a digest")
    digest = "sha256:" + str(entry["digest"]).removeprefix("sha256:")
    archive = requests.get(urljoin(base, entry["urls"][0]), timeout=300)
    archive.raise_for_status()
    found = "sha256:" + hashlib.sha256(archive.content).hexdigest()
    if found != digest:
        raise ValueError(f"{chart.archive}: downloaded {found}, the repository's index names {digest}")
    partial = target.with_name(target.name + ".part")
    try:
        partial.write_bytes(archive.content)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return digest


def _users() -> dict[str, str]:
    """Chart or manifest -> who installs it (an add-on, a flavor), so that a mirror lacking one says who would miss
    it."""
    from mlstack.components.kubernetes.addons import addons
    from mlstack.registry import flavors_for

    found: dict[str, list[str]] = {}
    for addon in addons().values():
        for chart in (*addon.charts, *addon.manifests):
            found.setdefault(chart, []).append(f"add-on {addon.name}")
    for flavor in flavors_for("kubernetes"):
        for chart in (*flavor.charts, *flavor.manifests):
            found.setdefault(chart, []).append(f"{flavor.kind}: {flavor.name}")
    return {chart: ", ".join(names) for chart, names in found.items()}


def manifest_checks() -> list[Check]:
    """`doctor`: the rendered manifests (KFP's) a mirror directory holds, each parsed; they come from a mirror
    directory only (their publishers ship kustomize bases, no file to pull), so `--fix` cannot fetch them: each
    missing one names the command that renders it."""
    from mlstack.components.kubernetes.addons import load_manifests
    from mlstack.errors import NotAvailableError

    where, users, found = mirror(), _users(), []
    directory = Path(where).expanduser() if where and not where.startswith("oci://") else None
    for key, manifests in MANIFESTS.items():
        name, used = f"manifests {manifests.name}", users.get(key, "nothing")
        if where and where.startswith("oci://"):
            found.append(
                (
                    name,
                    True,
                    f"not needed unless {used} is deployed: an oci:// mirror holds charts only, and it "
                    f"reads {manifests.file} from a mirror directory, rendered by `{manifests.render}`",
                )
            )
            continue
        if directory is None:
            found.append(
                (
                    name,
                    True,
                    f"not needed unless {used} is deployed: it reads {manifests.file} from a mirror "
                    f"directory (${MIRROR_ENV}), rendered by `{manifests.render}`",
                )
            )
            continue
        target = directory / manifests.file
        if not target.is_file():
            found.append(
                (
                    name,
                    False,
                    f"{target} missing (used by {used}): in {directory}, `{manifests.render}` "
                    "where GitHub is reachable",
                )
            )
            continue
        try:
            objects = load_manifests(key, str(directory)) or []
        except NotAvailableError as exc:
            found.append((name, False, exc.message))
            continue
        found.append((name, True, f"{target} ({len(objects)} objects)"))
    return found


def checks(fix: bool) -> list[Check]:
    """`doctor`: where the charts come from; with a mirror directory, each archive (pulled by `fix`)."""
    where = mirror()
    if where is None:
        return [
            ("charts", True, f"from their publishers at deploy time (set {MIRROR_ENV} for a mirror)"),
            *manifest_checks(),
        ]
    if where.startswith("oci://"):
        return [("charts", True, f"from the OCI mirror {where} ({MIRROR_ENV})"), *manifest_checks()]
    directory = Path(where).expanduser()
    found: list[Check] = []
    users = _users()
    for key, chart in CHARTS.items():
        target, name, used = directory / chart.archive, f"chart {chart.name}", users.get(key, "nothing")
        if target.is_file():
            found.append((name, True, str(target)))
            continue
        if not fix:
            found.append(
                (
                    name,
                    False,
                    f"{target} missing (used by {used}): `mlstack doctor --fix` pulls it from {source_of(chart)}",
                )
            )
            continue
        import requests

        try:
            directory.mkdir(parents=True, exist_ok=True)
            source = source_of(chart)
            digest = (pull if source.startswith("oci://") else pull_http)(chart, source, target)
        except (OSError, ValueError, KeyError, requests.RequestException) as exc:  # the registry's, the network's
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
            found.append((name, False, f"{target} missing; pulling it from {source_of(chart)} failed: {reason}"))
            continue
        found.append((name, True, f"{target} (pulled from {source_of(chart)}, {digest})"))
    return found + manifest_checks()
