"""Build the test control plane once into a cache: kube-apiserver, -controller-manager, -scheduler, kubectl and kwok.

`k8s.io/kubernetes` replaces every staging module with a local path, so `go install` refuses it; a wrapper module
requires it and replaces each staging module with its own published version (../shared/KUBERNETES.md). Binaries go
to `$XDG_CACHE_HOME/mlstack/kube-v<version>/bin` (`MLSTACK_KUBE_CACHE` overrides), with Go's own build cache beside
them on the machine, so a second `make test` rebuilds nothing. Run: `python -m tests.kube.build`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from mlstack.versions import KUBERNETES_BINARIES, KUBERNETES_VERSION, KWOK_VERSION

K8S = "k8s.io/kubernetes"
COMMANDS = {"kube-apiserver": "cmd/kube-apiserver", "kube-controller-manager": "cmd/kube-controller-manager",
            "kube-scheduler": "cmd/kube-scheduler", "kubectl": "cmd/kubectl"}
STAMP = ".complete"


def cache_dir() -> Path:
    explicit = os.environ.get("MLSTACK_KUBE_CACHE")
    if explicit:
        return Path(explicit).expanduser().resolve()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "mlstack" / f"kube-v{KUBERNETES_VERSION}-kwok-{KWOK_VERSION}"


def bin_dir() -> Path:
    return cache_dir() / "bin"


def is_built() -> bool:
    return (cache_dir() / STAMP).exists() and all((bin_dir() / b).exists() for b in (*KUBERNETES_BINARIES, "kwok"))


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd[:3])} failed:\n{done.stderr[-4000:]}")
    return done.stdout


def _staging_modules(go: str, env: dict[str, str], cwd: Path) -> list[str]:
    out = _run([go, "mod", "download", "-json", f"{K8S}@v{KUBERNETES_VERSION}"], cwd, env)
    gomod = Path(re.search(r'"GoMod":\s*"([^"]+)"', out).group(1))  # type: ignore[union-attr]
    block = re.search(r"^replace \((.*?)^\)", gomod.read_text(), re.S | re.M)
    return re.findall(r"^\s*(\S+)\s+=>\s+\./staging/", block.group(1) if block else "", re.M)


def build() -> Path:
    if is_built():
        return bin_dir()
    go = shutil.which("go")
    if not go:
        sys.exit("Go is needed to build the test control plane")
    src = cache_dir() / "src"
    src.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    staging = _staging_modules(go, env, src)
    minor = KUBERNETES_VERSION.split(".", 1)[1]
    replaces = "\n".join(f"replace {m} => {m} v0.{minor}" for m in staging)
    (src / "go.mod").write_text(f"module mlstack.local/kube\n\ngo 1.25.0\n\nrequire {K8S} v{KUBERNETES_VERSION}\n\n"
                                f"{replaces}\n")
    imports = "\n".join(f'\t_ "{K8S}/{path}"' for path in COMMANDS.values())
    (src / "tools.go").write_text(f"//go:build tools\n\npackage tools\n\nimport (\n{imports}\n)\n")
    _run([go, "mod", "tidy"], src, env)
    major, minor_n = KUBERNETES_VERSION.split(".")[:2]
    stamps = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        stamps += [f"-X {pkg}.gitVersion=v{KUBERNETES_VERSION}", f"-X {pkg}.gitMajor={major}",
                   f"-X {pkg}.gitMinor={minor_n}", f"-X {pkg}.gitTreeState=clean"]
    out = bin_dir()
    out.mkdir(parents=True, exist_ok=True)
    _run([go, "build", "-trimpath", "-ldflags", "-s -w " + " ".join(stamps), "-o", str(out) + "/",
          *(f"{K8S}/{COMMANDS[b]}" for b in KUBERNETES_BINARIES)], src, env)
    _run([go, "install", "-trimpath", f"sigs.k8s.io/kwok/cmd/kwok@{KWOK_VERSION}"], src,
         {**env, "GOBIN": str(out), "GOFLAGS": ""})
    (cache_dir() / STAMP).write_text(f"{KUBERNETES_VERSION} {KWOK_VERSION}\n")
    return out


if __name__ == "__main__":
    print(build())
