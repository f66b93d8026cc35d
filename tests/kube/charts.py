"""A chart mirror for the tests, filled from the charts' sources: the publishers' OCI registries cannot be reached
here, but the Go module proxy serves cert-manager's and KServe's repositories at their release tags, and each
release's chart is packaged from that directory (versions.CHART_SOURCES). Each archive is what `helm package` makes
of it: the chart directory under its name, with `version` and `appVersion` stamped where the release tool stamps
them (cert-manager's source says v0.0.0). The mirror is `$XDG_CACHE_HOME/mlstack/charts-<digest of the sources>`,
so a second run downloads nothing. Run: `python -m tests.kube.charts` (prints the mirror's path)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from mlstack.versions import CHART_SOURCES, CHARTS

STAMP = ".complete"


def mirror_dir() -> Path:
    digest = hashlib.sha256(json.dumps([CHART_SOURCES, {k: vars(v) for k, v in CHARTS.items()}], sort_keys=True)
                            .encode()).hexdigest()[:12]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "mlstack" / f"charts-{digest}"


def is_built() -> bool:
    return (mirror_dir() / STAMP).exists()


def _module_dir(module: str, version: str) -> Path:
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("no `go` on PATH: the chart sources come from the Go module proxy")
    done = subprocess.run([go, "mod", "download", "-json", f"{module}@{version}"], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "GOFLAGS": "-mod=mod"})
    found = json.loads(done.stdout) if done.stdout.strip() else {}
    if done.returncode != 0 or "Dir" not in found:
        raise RuntimeError(f"go mod download {module}@{version} failed: {found.get('Error') or done.stderr[-500:]}")
    return Path(found["Dir"])


def _stamped(chart_yaml: str, version: str) -> str:
    text = re.sub(r"(?m)^version:.*$", f"version: {version}", chart_yaml)
    return re.sub(r"(?m)^appVersion:.*$", f"appVersion: {version}", text)


def package(source: Path, name: str, version: str, out: Path) -> Path:
    """`helm package` of a chart directory: a gzipped tar of `<name>/...`, Chart.yaml stamped with the version."""
    archive = out / f"{name}-{version}.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(source.rglob("*")):
            if not path.is_file():
                continue
            relative = path.relative_to(source)
            data = path.read_bytes()
            if relative == Path("Chart.yaml"):
                data = _stamped(data.decode(), version).encode()
            info = tarfile.TarInfo(f"{name}/{relative.as_posix()}")
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return archive


def build() -> Path:
    out = mirror_dir()
    if is_built():
        return out
    out.mkdir(parents=True, exist_ok=True)
    for name, (module, version, directory) in CHART_SOURCES.items():
        chart = CHARTS[name]
        if chart.version != version:
            raise RuntimeError(f"versions.py: chart {name} is {chart.version} but its source is at {version}")
        package(_module_dir(module, version) / directory, name, version, out)
    (out / STAMP).write_text("\n".join(sorted(CHARTS)) + "\n")
    return out


def crd_files(mirror: Path, crds: list[str], out: Path) -> list[Path]:
    """The CRDs named (`<plural>.<group>`) as files, taken from the mirror's charts where a chart ships each one as a
    plain manifest `<group>_<plural>.yaml` (KServe's CRD chart); a CRD no chart ships that way is an error."""
    found: list[Path] = []
    wanted = {f"{crd.partition('.')[2]}_{crd.partition('.')[0]}.yaml": crd for crd in crds}
    for archive in sorted(mirror.glob("*.tgz")):
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                name = member.name.rsplit("/", 1)[-1]
                data = tar.extractfile(member) if name in wanted and member.isfile() else None
                if data is not None:
                    text = data.read()
                    if b"{{" not in text:
                        path = out / name
                        path.write_bytes(text)
                        found.append(path)
                        wanted.pop(name)
    if wanted:
        raise RuntimeError(f"no chart of {mirror} ships these CRDs as plain manifests: {sorted(wanted.values())}")
    return found


def install_crds(cp, crds: list[str], out: Path, timeout: float = 60) -> None:
    """Apply the CRDs named from the mirror's charts (a cluster that runs that add-on) and wait until the API
    server serves each (condition Established: before it, a custom resource of it is refused)."""
    import time

    for path in crd_files(build(), crds, out):
        cp.kubectl("apply", "--server-side", "-f", str(path))
    deadline = time.monotonic() + timeout
    for crd in crds:
        query = '-o=jsonpath={.status.conditions[?(@.type=="Established")].status}'
        while cp.kubectl("get", f"crd/{crd}", query, check=False).stdout.strip() != "True":
            if time.monotonic() > deadline:
                raise RuntimeError(f"CRD {crd} not established after {timeout} s")
            time.sleep(0.2)


if __name__ == "__main__":
    try:
        print(build())
    except RuntimeError as exc:
        sys.exit(str(exc))
