"""Pulumi provider plugins: where the engine finds them, installing one at the SDK's version, and the exact steps
where it cannot be fetched (these machines: the plugin download site is unreachable)."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from mlstack.engine import plugin_build
from mlstack.errors import NotAvailableError
from mlstack.home import Home
from mlstack.registry import PluginNeed

INSTALL_TIMEOUT = 120


def sdk_version(need: PluginNeed) -> str | None:
    """The provider SDK's version: the engine asks for the plugin at exactly this version."""
    try:
        return importlib.metadata.version(need.provider_module)
    except importlib.metadata.PackageNotFoundError:
        return None


def installed(home: Home, need: PluginNeed) -> str | None:
    """Where the engine will find the plugin (PULUMI_HOME/plugins at the SDK's version, or on PATH), else None."""
    version = sdk_version(need)
    exact = home.pulumi_home / "plugins" / f"resource-{need.plugin}-v{version}"
    if version and exact.is_dir() and any(exact.glob(f"pulumi-resource-{need.plugin}*")):
        return str(exact)
    return shutil.which(f"pulumi-resource-{need.plugin}")


def install_steps(home: Home, need: PluginNeed) -> str:
    version = sdk_version(need) or "<SDK version>"
    built = plugin_build.source_for(need.plugin)
    return (
        f"`PULUMI_HOME={home.pulumi_home} pulumi plugin install resource {need.plugin} v{version}` on a machine "
        f"that reaches get.pulumi.com, or put a `pulumi-resource-{need.plugin}` binary (v{version}) on PATH"
        + ("; `mlstack doctor --fix` builds it from Go modules where it cannot be fetched" if built else "")
    )


def install(home: Home, need: PluginNeed, cli: Path, progress: Callable[[str], None] = print) -> tuple[bool, str]:
    """Fetch the plugin at the SDK's version with `pulumi plugin install` (bounded); where that fails and the plugin
    has a Go source pinned, build it from Go modules and register it. (installed, which of the two happened)."""
    version = sdk_version(need)
    if not version:
        return False, "no provider SDK installed to match"
    fetched, why = _fetch(home, need.plugin, version, cli)
    if fetched:
        return True, f"fetched resource-{need.plugin} v{version} with `pulumi plugin install`"
    source = plugin_build.source_for(need.plugin)
    if source is None or source.version != version:
        return False, f"could not fetch it ({why})"
    progress(f"  `pulumi plugin install` could not fetch it ({why}): building it from Go modules instead")
    binary = plugin_build.build(home, source, progress)
    plugin_build.register(home, source, binary, cli)
    if not installed(home, need):
        return False, f"built {binary} but the engine does not find it under {home.pulumi_home / 'plugins'}"
    return True, f"built resource-{need.plugin} v{version} from Go modules ({binary}) and registered it"


def _fetch(home: Home, plugin: str, version: str, cli: Path) -> tuple[bool, str]:
    env = {**os.environ, "PULUMI_HOME": str(home.pulumi_home), "PULUMI_SKIP_UPDATE_CHECK": "true"}
    try:
        done = subprocess.run(
            [str(cli), "plugin", "install", "resource", plugin, f"v{version}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return False, f"`pulumi plugin install` took more than {INSTALL_TIMEOUT} s"
    if done.returncode == 0:
        return True, ""
    last = (done.stderr.strip().splitlines() or ["failed"])[-1]
    return False, last[:160]


def require(home: Home, target: str, needs: tuple[PluginNeed, ...]) -> None:
    """Exit 3 before the engine starts when a plugin the stack needs is missing, naming it and how to install it."""
    for need in needs:
        if installed(home, need) is None:
            raise NotAvailableError(
                f"target {target} needs the Pulumi provider plugin resource-{need.plugin} v{sdk_version(need)}, "
                "which is not installed",
                hint=f"`mlstack doctor --fix` installs it; by hand: {install_steps(home, need)}",
            )
