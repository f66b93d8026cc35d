"""The kubernetes provider plugin `mlstack doctor --fix` registered in the prepared home, made visible to a fresh
home by hard links (the plugin is ~300 MB: a copy per test or bench run would cost seconds and disk)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mlstack.versions import KUBERNETES_PROVIDER_VERSION

PLUGIN_DIR = f"resource-kubernetes-v{KUBERNETES_PROVIDER_VERSION}"


def link_plugin(prepared_pulumi_home: Path, pulumi_home: Path) -> bool:
    """True if the prepared home has the plugin and `pulumi_home` now has it too."""
    source = prepared_pulumi_home / "plugins" / PLUGIN_DIR
    if not source.is_dir():
        return False
    target = pulumi_home / "plugins" / PLUGIN_DIR
    target.mkdir(parents=True, exist_ok=True)
    for f in source.iterdir():
        if f.is_file() and not (target / f.name).exists():
            try:
                os.link(f, target / f.name)
            except OSError:  # another file system: copy
                shutil.copy2(f, target / f.name)
    lock = source.with_name(PLUGIN_DIR + ".lock")
    if lock.exists():
        target.with_name(PLUGIN_DIR + ".lock").touch()
    return True
