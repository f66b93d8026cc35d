"""The previous release, runnable: its tree (`git archive` of its commit) and its own virtualenv.

0.1.0 is the first release: until there is a second one, the previous release is the commit that had landed before
0.1.0's work began (CHANGELOG.md says so). Where the previous release pins the same dependencies, its virtualenv
reads them from this one's site-packages (a .pth file) instead of installing them again; otherwise they are
installed.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO

PREVIOUS = "e14c8bbb22bd03b8e3cb50b095df37f88442c046"


def _previous_tree(root: Path) -> Path:
    tree = root / "tree"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", PREVIOUS], capture_output=True,
                             timeout=120)
    if archive.returncode != 0:
        pytest.fail(f"the previous release {PREVIOUS[:7]} is not in this clone's history: {archive.stderr[-300:]!r}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    return tree


def _previous_venv(root: Path, tree: Path) -> Path:
    """A virtualenv whose `mlstack` is the previous release's (and its dynamic-provider shim too)."""
    venv = root / "venv"
    same_pins = (tomllib.loads((tree / "pyproject.toml").read_text())["project"]["dependencies"]
                 == tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"])
    if not same_pins:  # the previous release pins other packages: install it for real
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", f"{tree}[test,cloud]"], check=True,
                       timeout=1200)
        return venv
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()"
                                "['purelib'])"], capture_output=True, text=True, check=True).stdout.strip())
    # its own sources first, laid out as setup.py installs them (mlstack.components, mlstack.stacks); then the
    # dependencies from this virtualenv (not its editable mlstack: .pth files of a path added so are not read)
    overlay = root / "overlay" / "mlstack"
    overlay.mkdir(parents=True)
    for name in os.listdir(tree / "mlstack"):
        os.symlink(tree / "mlstack" / name, overlay / name)
    os.symlink(tree / "components", overlay / "components")
    os.symlink(tree / "stacks", overlay / "stacks")
    (site / "previous-release.pth").write_text(f"{overlay.parent}\n{sysconfig.get_paths()['purelib']}\n")
    python = venv / "bin" / "python"
    for script, call in (("mlstack", "mlstack.cli:main"), ("pulumi-resource-pulumi-python", "mlstack.engine.shim:main")):
        module, _, function = call.partition(":")
        path = venv / "bin" / script
        path.write_text(f"#!{python}\nimport sys\nfrom {module} import {function}\nsys.exit({function}())\n")
        path.chmod(0o755)
    return venv


@pytest.fixture(scope="session")
def previous(tmp_path_factory) -> tuple[Path, Path]:
    """(the previous release's `mlstack` command, its tree)."""
    root = tmp_path_factory.mktemp("previous-release")
    tree = _previous_tree(root)
    venv = _previous_venv(root, tree)
    shown = subprocess.run([str(venv / "bin" / "mlstack"), "--version"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    return venv / "bin" / "mlstack", tree


def run(command: Path | str, env: dict, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    # run outside any checkout: the previous release's shim (it predates `-P`) puts the working directory first
    done = subprocess.run([str(command), *args], capture_output=True, text=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL, cwd=env["MLSTACK_HOME"].rsplit("/", 1)[0])
    if done.returncode != 0:
        raise AssertionError(f"{command} {' '.join(args)} exited {done.returncode}:\n{done.stderr}\n{done.stdout}")
    return done
