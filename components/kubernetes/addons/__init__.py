"""Cluster add-ons: what flavors need installed once per cluster, before them (CRDs, their controllers,
cert-manager). One module per add-on in this package, each defining `ADDON`; a flavor names the add-ons it needs
(`Flavor.shared`), and everything else comes from here: the order they install in, the charts and their values, the
CRDs an add-on the cluster already runs must have, the label by which a stack's namespace says it uses one.

Every stack on a cluster shares one Pulumi stack of add-ons (`../addon_stack.py`), run by the engine before a deploy and
after a `destroy --purge`: it holds what the stacks on the cluster use, as their namespaces' labels say, so a stack's
purge removes an add-on only when no other stack uses it.

Declaration-level: importing this package imports neither Pulumi nor the Kubernetes client."""

from __future__ import annotations

import hashlib
import importlib
import os
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from mlstack.errors import NotAvailableError
from mlstack.versions import CHARTS, MANIFESTS, HelmChart

LABEL = "addons.mlstack.dev/"  # + add-on name, "true": on the namespace of each stack that uses it
MIRROR_ENV = "MLSTACK_CHART_MIRROR"  # a directory of `helm pull`ed archives, or an oci:// repository
# the add-ons stack's export of what it applied from rendered manifests: {add-on: {manifest: [objects]}}
APPLIED_OUTPUT = "applied"


@dataclass(frozen=True)
class Addon:
    name: str
    summary: str
    namespace: str | None  # where its controllers run (created by mlstack, Pod Security `restricted`); None: none run
    charts: tuple[str, ...]  # keys of versions.CHARTS, installed in this order
    crds: tuple[str, ...]  # what a cluster that runs it already must serve (checked before deploy)
    manifests: tuple[str, ...] = ()  # keys of versions.MANIFESTS, from the mirror directory, after the charts
    # (manifest, its rendered objects) -> what the add-on applies of them (the cluster-wide part a flavor shares)
    select: Callable[[str, list[dict[str, Any]]], list[dict[str, Any]]] = field(default=lambda name, objects: objects)
    after: tuple[str, ...] = ()  # add-ons it needs, installed before it
    webhook_ports: tuple[int, ...] = ()  # the ports its webhooks listen on: the API server calls them
    values: Callable[[str], dict[str, Any]] = field(default=lambda chart: {})  # chart -> the values mlstack sets

    @property
    def label(self) -> str:
        return LABEL + self.name

    def versions(self) -> str:
        return ", ".join(
            [f"{c} {CHARTS[c].version}" for c in self.charts] + [f"{m} {MANIFESTS[m].version}" for m in self.manifests]
        )


@cache
def addons() -> dict[str, Addon]:
    """Every add-on module of this package, by name."""
    found: dict[str, Addon] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name == "charts":  # the chart mirror
            continue
        addon = getattr(importlib.import_module(f"{__name__}.{info.name}"), "ADDON", None)
        if not isinstance(addon, Addon):
            raise RuntimeError(f"components/kubernetes/addons/{info.name}.py defines no ADDON")
        found[addon.name] = addon
    return found


def ordered(names: Iterable[str], existing: Iterable[str] = ()) -> list[Addon]:
    """The add-ons named and those they need, each after what it needs; an add-on the cluster already runs
    (`existing`) is listed, but what it needs is its installer's business, not followed."""
    known, there, order = addons(), set(existing), []

    def visit(name: str) -> None:
        addon = known[name]
        if name not in there:
            for before in addon.after:
                visit(before)
        if addon not in order:
            order.append(addon)

    for name in sorted(names):
        visit(name)
    return order


def managed(needs: Iterable[str], existing: Iterable[str]) -> list[Addon]:
    """What mlstack installs for these needs: what they need, less what the cluster already runs (`existing`) and
    what only that needs."""
    there = set(existing)
    return [a for a in ordered(needs, there) if a.name not in there]


def stack_name(server: str) -> str:
    """The add-ons' Pulumi stack: one per cluster, named by its API server's address."""
    return "cluster-addons-" + hashlib.sha256(server.encode()).hexdigest()[:12]


def mirror() -> str | None:
    """The mirror the environment names: an oci:// repository, or a directory (made absolute: the engine runs
    elsewhere)."""
    found = os.environ.get(MIRROR_ENV) or None
    if found is None or found.startswith("oci://"):
        return found
    return str(Path(found).expanduser().resolve())


def chart_source(chart: HelmChart, mirror_at: str | None) -> dict[str, Any]:
    """The arguments of helm.v4.Chart that name the chart: a mirror directory's archive (the version is the file's),
    the mirror's OCI repository, or the publisher's (OCI, or an HTTP chart repository)."""
    if mirror_at and not mirror_at.startswith("oci://"):
        return {"chart": str(Path(mirror_at).expanduser() / chart.archive)}
    if mirror_at or chart.oci:
        repository = (mirror_at or chart.repository).rstrip("/")
        return {"chart": f"{repository}/{chart.name}", "version": chart.version}
    return {"chart": chart.name, "version": chart.version, "repository_opts": {"repo": chart.repository}}


def check_mirror(
    wanted: Iterable[Addon], mirror_at: str | None, applied: dict[str, dict[str, Any]] | None = None
) -> None:
    """A mirror directory holds every archive and manifest file the add-ons need (exit 3 naming the missing ones);
    a manifest the add-ons stack already applied (`applied`, its export) is not needed again."""
    wanted = list(wanted)
    check_charts([c for a in wanted for c in a.charts], mirror_at)
    check_manifests([m for a in wanted for m in a.manifests if m not in (applied or {}).get(a.name, {})], mirror_at)


def check_manifests(names: Iterable[str], mirror_at: str | None) -> None:
    """Rendered manifests come from a mirror directory only (their publishers ship kustomize bases, no file to
    fetch): it must be named and hold each file (exit 3 naming what is missing and the command that renders it)."""
    keys = list(dict.fromkeys(names))
    missing = [MANIFESTS[k] for k in keys if manifest_path(k, mirror_at) is None]
    if not missing:
        for key in keys:
            load_manifests(key, mirror_at)  # a file that is not a render stops it here, not halfway through
        return
    directory = Path(mirror_at).expanduser() if mirror_at and not mirror_at.startswith("oci://") else None
    files = ", ".join(m.file for m in missing) + " (published as kustomize bases only, no chart)"
    raise NotAvailableError(
        f"the chart mirror {directory} (${MIRROR_ENV}) lacks {files}"
        if directory
        else f"{files} must come from a mirror directory, and ${MIRROR_ENV} names none",
        hint=f"set {MIRROR_ENV} to a directory and render them into it, where GitHub is reachable: "
        + "; ".join(m.render for m in missing),
    )


def manifest_path(name: str, mirror_at: str | None) -> Path | None:
    """Where the mirror directory keeps a rendered manifest file, if it holds it."""
    if not mirror_at or mirror_at.startswith("oci://"):
        return None
    path = Path(mirror_at).expanduser() / MANIFESTS[name].file
    return path if path.is_file() else None


MAX_MANIFEST_BYTES = 16 * 1024 * 1024  # KFP's render is about 0.3 MB


@lru_cache(maxsize=8)
def _parsed(path: str, mtime_ns: int, size: int) -> tuple[Any, ...]:
    """A render's YAML documents, parsed once per version of the file: a deploy checks it before the engine starts,
    then its program applies it (KFP's cluster-wide render takes about 2 s to parse)."""
    from ruamel.yaml import YAML

    return tuple(YAML(typ="safe").load_all(Path(path).read_text(encoding="utf-8")))


def load_manifests(name: str, mirror_at: str | None) -> list[dict[str, Any]] | None:
    """The objects of a rendered manifest file in the mirror directory (None where it holds none): every YAML
    document that is an object (kind, apiVersion, metadata.name); anything else is exit 3 naming the file. The
    objects are shared between calls: a caller copies what it changes."""
    path = manifest_path(name, mirror_at)
    if path is None:
        return None
    from ruamel.yaml.error import YAMLError

    problem = None
    found = path.stat()
    if found.st_size > MAX_MANIFEST_BYTES:
        problem = f"over {MAX_MANIFEST_BYTES // 2**20} MiB"
    else:
        try:
            documents = _parsed(str(path), found.st_mtime_ns, found.st_size)
        except (YAMLError, UnicodeDecodeError) as exc:
            problem = f"not YAML: {str(exc).splitlines()[0][:200]}"
        except OSError as exc:
            problem = f"unreadable: {exc.strerror or type(exc).__name__}"
    if problem is None:
        objects = [d for d in documents if d is not None]
        bad = [
            i
            for i, d in enumerate(objects, start=1)
            if not isinstance(d, dict)
            or not d.get("kind")
            or not d.get("apiVersion")
            or not isinstance(d.get("metadata"), dict)
            or not d["metadata"].get("name")
        ]
        if not bad:
            return objects
        problem = f"document {bad[0]} is not a Kubernetes object (kind, apiVersion, metadata.name)"
    raise NotAvailableError(
        f"{path} ({MANIFESTS[name].name} {MANIFESTS[name].version}) is {problem}",
        hint=f"render it again: {MANIFESTS[name].render}",
    )


def check_charts(names: Iterable[str], mirror_at: str | None) -> None:
    """A mirror directory holds these charts' archives (exit 3 naming the missing ones)."""
    if not mirror_at or mirror_at.startswith("oci://"):
        return
    directory = Path(mirror_at).expanduser()
    missing = [CHARTS[c] for c in names if not (directory / CHARTS[c].archive).is_file()]
    if missing:
        pulls = "; ".join(
            f"helm pull {c.repository}/{c.name} --version {c.version}"
            if c.oci
            else f"helm pull {c.name} --repo {c.repository} --version {c.version}"
            for c in missing
        )
        raise NotAvailableError(
            f"the chart mirror {directory} (${MIRROR_ENV}) lacks " + ", ".join(c.archive for c in missing),
            hint=f"run `mlstack doctor --fix` where the publishers are reachable, or in {directory}: {pulls}",
        )
