"""Runtimes of earlier pins are removed once no stack of the home uses them (after an upgrade moved the stacks to
the new pins), and never while a stack's state names them, nor from a runtimes folder other homes share."""

from __future__ import annotations

from pathlib import Path

from mlstack.engine import runtimes
from mlstack.home import Home
from mlstack.versions import RUNTIMES


def _runtime(home: Home, name: str) -> Path:
    directory = home.runtimes_dir / name
    directory.mkdir(parents=True)
    (directory / runtimes.MARKER).write_text("x")
    return directory


def test_an_earlier_pin_no_stack_uses_is_removed_and_one_in_use_is_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("MLSTACK_RUNTIMES_DIR", raising=False)
    home = Home(tmp_path / "home")
    unused, used = _runtime(home, "mlflow-0.0.1"), _runtime(home, "mlserver-0.0.2")
    current = _runtime(home, runtimes.runtime_dir(home, RUNTIMES["mlflow"]).name)
    foreign = home.runtimes_dir / "something-else"
    foreign.mkdir()
    state = home.state_dir / ".pulumi" / "stacks" / "mlstack" / "s.json"
    state.parent.mkdir(parents=True)
    state.write_text(f'{{"inputs": {{"argv": ["{used}/bin/mlserver", "start"]}}}}')

    assert runtimes.prune(home, stacks_elsewhere=True) == []  # another backend's state is not read: keep all
    assert runtimes.prune(home, stacks_elsewhere=False) == ["mlflow-0.0.1"]
    assert not unused.exists() and used.exists() and current.exists() and foreign.exists()
    state.unlink()  # the last stack using it is gone
    assert runtimes.prune(home, stacks_elsewhere=False) == ["mlserver-0.0.2"]


def test_a_shared_runtimes_folder_is_never_pruned(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    monkeypatch.setenv("MLSTACK_RUNTIMES_DIR", str(shared))
    home = Home(tmp_path / "home")
    old = _runtime(home, "mlflow-0.0.1")
    assert runtimes.prune(home, stacks_elsewhere=False) == [] and old.exists()


def test_a_runtime_installed_before_a_field_was_added_is_not_rebuilt():
    """The marker of a runtime holds its fingerprint; fields added since (left at their defaults) are not part of
    it, so what an earlier release installed still counts as complete."""
    import hashlib

    minio = RUNTIMES["minio"]
    before = f"GoRuntime(name='minio', version={minio.version!r}, module={minio.module!r}, binary='minio')"
    assert runtimes._fingerprint(minio) == hashlib.sha256(before.encode()).hexdigest()[:16]
    assert runtimes._fingerprint(RUNTIMES["seaweedfs"]) != runtimes._fingerprint(minio)
