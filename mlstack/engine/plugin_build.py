"""Build a provider plugin from the Go module proxy and register it with the engine (shared KUBERNETES.md).

Where `pulumi plugin install` cannot reach get.pulumi.com, `doctor --fix` builds the plugins that have a Go source
in mlstack/versions.py (`PLUGIN_SOURCES`). The binary is kept in the home under its version, so a second home or
a fresh clone on the same machine registers it again in a second without rebuilding."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

from mlstack.engine.gobuild import go_binary, go_env, run_steps
from mlstack.errors import EngineError
from mlstack.home import Home
from mlstack.versions import PLUGIN_SOURCES, GoPluginSource

REGISTER_TIMEOUT = 120


def source_for(plugin: str | None) -> GoPluginSource | None:
    return PLUGIN_SOURCES.get(plugin or "")


def built_binary(home: Home, source: GoPluginSource) -> Path:
    return home.plugin_build_dir(source.plugin, source.version) / "bin" / f"pulumi-resource-{source.plugin}"


def build(home: Home, source: GoPluginSource, progress: Callable[[str], None]) -> Path:
    """The plugin binary, built once (a first build takes ~12 min on 2 cores and a few GB of Go build cache)."""
    target = built_binary(home, source)
    if target.exists():
        return target
    go = go_binary(f"the provider plugin resource-{source.plugin} v{source.version} cannot be downloaded here")
    env = go_env()
    root = home.plugin_build_dir(source.plugin, source.version)
    progress(f"building the provider plugin resource-{source.plugin} v{source.version} from Go modules into {root}")
    root.mkdir(parents=True, exist_ok=True)
    src = _writable_copy(go, source, root / "src", env)
    gomod = src / "go.mod"
    gomod.write_text(
        "".join(line for line in gomod.read_text().splitlines(keepends=True) if not _is_local_sdk_replace(line, source))
    )
    partial = target.with_suffix(".partial")
    target.parent.mkdir(parents=True, exist_ok=True)
    ldflags = f"-s -w -X {source.version_var}={source.version}"
    run_steps(
        f"resource-{source.plugin}",
        [
            ("requiring the SDK module", [go, "get", f"{source.sdk_module}@{source.sdk_version}"], src),
            ("generating the embedded schema", [go, "run", "./generate.go"], src / source.command),
            (
                "compiling (a first build takes about 12 minutes on 2 cores)",
                [go, "build", "-trimpath", "-ldflags", ldflags, "-o", str(partial), f"./{source.command}"],
                src,
            ),
        ],
        {**env, "VERSION": source.version},
        progress,
    )
    partial.replace(target)
    shutil.rmtree(src, ignore_errors=True)  # the module copy is 100+ MB; Go's caches keep a rebuild fast
    progress(f"  built {target}")
    return target


def _is_local_sdk_replace(line: str, source: GoPluginSource) -> bool:
    words = line.split()
    return len(words) >= 4 and words[0] == "replace" and words[1] == source.sdk_module and words[3].startswith(".")


def _writable_copy(go: str, source: GoPluginSource, dest: Path, env: dict[str, str]) -> Path:
    """The downloaded module directory (read-only in Go's module cache), copied where it can be edited."""
    ref = f"{source.module}@{source.module_version}"
    done = subprocess.run([go, "mod", "download", "-json", ref], env=env, capture_output=True, text=True, timeout=900)
    try:
        module_dir = Path(json.loads(done.stdout)["Dir"])
    except (ValueError, KeyError):
        detail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise EngineError(
            f"the Go module proxy did not serve {ref}: {detail[0][:200]}",
            hint="check GOPROXY; the version is pinned in mlstack/versions.py",
        ) from None
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(module_dir, dest)
    for path in (dest, *dest.rglob("*")):
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return dest


def register(home: Home, source: GoPluginSource, binary: Path, cli: Path) -> None:
    """`pulumi plugin install resource NAME vVERSION --file BINARY` into the home's Pulumi home."""
    env = {**os.environ, "PULUMI_HOME": str(home.pulumi_home), "PULUMI_SKIP_UPDATE_CHECK": "true"}
    cmd = [str(cli), "plugin", "install", "resource", source.plugin, f"v{source.version}", "--file", str(binary)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=REGISTER_TIMEOUT)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise EngineError(f"registering resource-{source.plugin} v{source.version} with the engine failed: {last}")
