"""`doctor`: what this installation can do, computed from the registry and the machine; calls no cloud."""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from mlstack import registry
from mlstack.engine import plugins, runtimes
from mlstack.engine.pulumi_cli import build_cli, find_cli
from mlstack.engine.workspace import SHIM, shim_dir
from mlstack.errors import NotAvailableError
from mlstack.home import Home
from mlstack.registry import PluginNeed
from mlstack.versions import PULUMI_VERSION, RUNTIMES


@dataclass
class Check:
    area: str
    name: str
    ok: bool
    detail: str
    required: bool = False


def run_checks(home: Home, fix: bool = False, progress: Callable[[str], None] = print) -> list[Check]:
    checks: list[Check] = []
    cli = find_cli(home)
    if cli is None and fix:
        cli = build_cli(home, progress)
    go = shutil.which("go")
    checks.append(
        Check(
            "engine",
            "pulumi CLI",
            cli is not None,
            f"v{cli.version} ({cli.source}: {cli.path})"
            if cli
            else f"not built: `mlstack doctor --fix` builds v{PULUMI_VERSION} from Go modules"
            + ("" if go else " (needs Go >= 1.25, not found)"),
            required=True,
        )
    )
    shim = shim_dir() / SHIM
    checks.append(
        Check(
            "engine",
            "dynamic-provider shim",
            shim.exists(),
            str(shim) if shim.exists() else f"{SHIM} missing next to the interpreter: reinstall mlstack",
            required=True,
        )
    )
    writable = os.access(home.root if home.root.exists() else home.root.parent, os.W_OK)
    checks.append(
        Check("engine", "mlstack home", writable, f"{home.root}{'' if writable else ' is not writable'}", required=True)
    )
    for target in registry.targets():
        checks.extend(_target_checks(home, target, cli.path if (fix and cli) else None, progress))
    checks.extend(_runtime_checks(home, fix, progress))
    return checks


def _runtime_checks(home: Home, fix: bool, progress: Callable[[str], None]) -> list[Check]:
    """Service runtimes of the flavors this installation can build; --fix installs them (deploy would anyway)."""
    wanted = sorted({rt for f in registry.all_flavors() if not f.missing() for rt in f.runtimes})
    if fix:
        try:
            runtimes.ensure(home, wanted, progress)
        except NotAvailableError as exc:  # a Debian package needs root: reported below, not fatal here
            progress(f"  {exc.message}")
    found = runtimes.status(home)
    return [
        Check(
            "runtimes",
            name,
            found.get(name) is not None,
            found.get(name) or f"{RUNTIMES[name].version}: installed on first deploy or `mlstack doctor --fix`",
        )
        for name in wanted
    ]


def _target_checks(
    home: Home, declared: registry.Target, fix_with: Path | None = None, progress: Callable[[str], None] = print
) -> list[Check]:
    """What the target can do here; with --fix (`fix_with`: the CLI), a missing provider plugin is installed at the
    SDK's version where it can be fetched, and the exact steps are reported where it cannot."""
    target, needs, checks = declared.name, declared.needs, []
    if declared.assembly is None or not declared.flavors:
        return [Check(target, "components", False, "not built in this release yet")]
    for f in declared.flavors:
        missing = f.missing()
        checks.append(
            Check(
                target,
                f"{f.kind}/{f.name}",
                not missing,
                f.summary if not missing else f"needs {', '.join(missing)}: {f.install_hint}",
            )
        )
    for need in needs.plugins:
        checks += _plugin_checks(home, target, need, fix_with, progress, several=len(needs.plugins) > 1)
    ok, detail = needs.credentials()
    checks.append(Check(target, "credentials", ok, detail))
    # what only this target checks (a cluster answering, ...)
    fix = fix_with is not None
    checks += [Check(target, name, ok, detail) for name, ok, detail in declared.lifecycle().doctor(fix)]
    return checks


def _plugin_checks(
    home: Home, target: str, need: PluginNeed, fix_with: Path | None, progress: Callable[[str], None], several: bool
) -> list[Check]:
    """The provider's SDK, and its plugin at the SDK's version (installed by `--fix` where it can be)."""
    suffix = f" ({need.plugin})" if several else ""
    present = importlib.util.find_spec(need.provider_module) is not None
    sdk = need.provider_module if present else f"`pip install mlstack[{need.pinned_extra}]`"
    where, note = plugins.installed(home, need), ""
    if where is None and fix_with is not None and plugins.sdk_version(need):
        progress(f"installing provider plugin resource-{need.plugin} v{plugins.sdk_version(need)}")
        ok, note = plugins.install(home, need, fix_with, progress)
        where = plugins.installed(home, need)
    if where:
        detail = f"{where} ({note})" if note else where
    else:
        absent = f"resource-{need.plugin} v{plugins.sdk_version(need)} not installed"
        detail = absent + (f" ({note})" if note else "") + f": {plugins.install_steps(home, need)}"
    return [
        Check(target, f"provider SDK{suffix}", present, sdk),
        Check(target, f"provider plugin{suffix}", where is not None, detail),
    ]


def as_dicts(checks: list[Check]) -> list[dict]:
    return [asdict(c) for c in checks]
