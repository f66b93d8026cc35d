"""Shared fixtures: an isolated MLSTACK_HOME per test, and the Pulumi CLI built once per machine."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mlstack.engine.pulumi_cli import find_cli
from mlstack.home import Home

REPO = Path(__file__).resolve().parent.parent
RECIPES = REPO / "recipes"
# The home `make test` prepared (engine built, runtimes installed), read before any test changes MLSTACK_HOME.
PREPARED_HOME = Home.from_env()


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    """A fresh mlstack home; nothing of the developer's own home leaks in or out."""
    root = tmp_path / "mlstack-home"
    monkeypatch.setenv("MLSTACK_HOME", str(root))
    for var in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    return Home(root)


@pytest.fixture(scope="session")
def pulumi_cli_dir() -> Path:
    """The CLI `mlstack doctor --fix` built into the developer's/CI's home (the README's test command runs it)."""
    cli = find_cli(PREPARED_HOME)
    if cli is None:
        pytest.fail("the Pulumi CLI is not built: run `make test` (it runs `mlstack doctor --fix` first)")
    return cli.path.parent


@pytest.fixture()
def engine_home(home: Home, pulumi_cli_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    """A fresh home whose engine is the already-built CLI (found on PATH) and whose service runtimes are the
    ones `mlstack doctor --fix` installed, so tests never rebuild either."""
    for var, value in engine_env(pulumi_cli_dir).items():
        monkeypatch.setenv(var, value)
    return home


def engine_env(pulumi_cli_dir: Path) -> dict[str, str]:
    return {"PATH": f"{pulumi_cli_dir}{os.pathsep}{os.environ['PATH']}",
            "MLSTACK_RUNTIMES_DIR": str(PREPARED_HOME.runtimes_dir)}


def state_files(home: Home) -> list[Path]:
    """Everything an operation wrote to the home (empty: nothing written)."""
    return sorted(p for p in home.root.rglob("*")) if home.root.exists() else []


def which(name: str) -> str | None:
    return shutil.which(name)
