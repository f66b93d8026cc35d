"""The real Pulumi engine through mlstack's engine layer: file backend in a temp home, inline program."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pulumi
import pytest

from mlstack.components.generated import GeneratedSecret
from mlstack.engine.events import ProgressPrinter
from mlstack.engine.workspace import StackSession
from mlstack.errors import ExitCode, StackLockedError, StackNotFoundError
from tests.conftest import REPO
from tests.engine.sleepy import Sleepy

pytestmark = pytest.mark.engine


@pytest.fixture(autouse=True)
def _provider_can_import_tests(monkeypatch):
    # The engine runs dynamic providers in their own process: it must be able to import tests.engine.sleepy.
    monkeypatch.setenv("PYTHONPATH", str(REPO))


def sleepy_program(seconds: float):
    def program() -> None:
        pulumi.export("done", Sleepy("nap", seconds).done)

    return program


def wait_for_lock(home, stack: str, timeout: float = 60) -> None:
    locks = home.state_dir / ".pulumi" / "locks"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.is_file() for p in locks.rglob("*.json")) if locks.exists() else False:
            return
        time.sleep(0.05)
    pytest.fail(f"no lock appeared under {locks}")


def test_up_then_preview_shows_no_changes_then_destroy(engine_home):
    session = StackSession(engine_home, "roundtrip", program=sleepy_program(0))
    up = session.up()
    assert up.changes == {"create": 1}  # the resource: the stack itself is not counted, as in a plan
    assert up.outputs == {"done": True}
    assert session.preview().changed is False
    assert session.up().changes == {"same": 1}
    down = session.destroy()
    assert down.changes == {"delete": 1}
    assert session.outputs() == {}


def test_a_stack_whose_resources_look_for_themselves_refreshes_only_a_state_left_pending(engine_home, monkeypatch):
    """`refresh=False` (the local target): `up` and `preview` skip the engine's refresh, unless the state holds an
    operation a killed run left pending; then the refresh runs and the state is settled again."""
    from pulumi import automation

    asked: list[tuple[str, bool]] = []
    for verb in ("up", "preview"):
        original = getattr(automation.Stack, verb)

        def recording(self, *args, _verb=verb, _original=original, **kwargs):
            asked.append((_verb, kwargs.get("refresh")))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(automation.Stack, verb, recording)
    session = StackSession(engine_home, "probing", program=sleepy_program(0), refresh=False)
    assert session.up().changes == {"create": 1}
    assert session.preview().changed is False
    assert session.up().changes == {"same": 1}
    assert asked == [("up", False), ("preview", False), ("up", False)]

    checkpoint = engine_home.state_dir / ".pulumi" / "stacks" / "mlstack" / "probing.json"
    state = json.loads(checkpoint.read_text())
    latest = state["checkpoint"]["latest"]
    nap = next(r for r in latest["resources"] if r["type"].startswith("pulumi-python:dynamic"))
    latest["pending_operations"] = [{"resource": nap, "type": "updating"}]  # what a killed update leaves
    checkpoint.write_text(json.dumps(state))
    asked.clear()
    assert session.up().changes == {"same": 1}
    assert session.up().changes == {"same": 1}
    assert asked == [("up", True), ("up", False)]  # refreshed once; the state holds nothing pending after
    always = StackSession(engine_home, "probing", program=sleepy_program(0))  # every other target
    asked.clear()
    always.up()
    assert asked == [("up", True)]
    session.destroy()


@pytest.mark.parametrize("layout", ["home-relative", "legacy"])
def test_a_stack_in_a_file_backend_is_found_however_its_url_names_the_folder(engine_home, layout):
    """A first deploy skips asking the CLI whether the stack exists where its checkpoint file is surely absent. A
    URL with `~` names a folder the engine expands: the stack there exists (were it taken for absent, `destroy`
    would find nothing to destroy and `preview` would remove it as a stack it made)."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix=".mlstack-test-", dir=Path.home()))  # the engine expands ~ itself
    try:
        backend = f"file://~/{folder.name}"
        first = StackSession(engine_home, "tilde", backend=backend, program=sleepy_program(0))
        assert first._absent() is True
        assert first.deployed_resources() is None
        first.up()
        assert not (Path.cwd() / "~").exists()  # the folder made for the backend is the expanded one
        if layout == "legacy":  # a backend written before projects had folders of their own
            stacks = folder / ".pulumi" / "stacks"
            (stacks / "mlstack" / "tilde.json").rename(stacks / "tilde.json")
            assert StackSession(engine_home, "tilde", backend=backend)._absent() is False
            return
        again = StackSession(engine_home, "tilde", backend=backend, program=sleepy_program(0))
        assert again._absent() is False and again.deployed_resources() == 1
        assert again.preview().changed is False
        assert StackSession(engine_home, "tilde", backend=backend).deployed_resources() == 1  # the preview kept it
        # what mlstack reads in the backend's files is read where the engine writes them: the checkpoint, the lock
        # files, the sidecar a killed run leaves empty
        assert again._checkpoint() == folder / ".pulumi" / "stacks" / "mlstack" / "tilde.json"
        assert again.has_checkpoint() and again.lock_held() is False
        (folder / ".pulumi" / "stacks" / "mlstack" / "tilde.json.attrs").write_bytes(b"")
        messages: list[str] = []
        torn = StackSession(engine_home, "tilde", backend=backend, program=sleepy_program(0),
                            progress=ProgressPrinter(messages.append))
        assert torn.up().changes == {"same": 1}
        assert any("removed 1 empty checkpoint sidecar" in m for m in messages)
        again.destroy()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_second_concurrent_up_on_the_same_stack_is_locked(engine_home, tmp_path):
    from typer.testing import CliRunner

    from mlstack.cli import app

    recipe = tmp_path / "contended.yaml"
    recipe.write_text(
        "apiVersion: mlstack/v1\nname: contended\ntarget: local\ncomponents:\n  orchestrator: {flavor: local}\n"
    )
    first = StackSession(engine_home, "contended", program=sleepy_program(8))
    errors: list[BaseException] = []
    thread = threading.Thread(target=lambda: _capture(first.up, errors))
    thread.start()
    try:
        wait_for_lock(engine_home, "contended")
        with pytest.raises(StackLockedError) as err:
            StackSession(engine_home, "contended", program=sleepy_program(0)).up()
        assert err.value.exit_code == ExitCode.STACK_LOCKED == 6
        assert "mlstack cancel --stack contended" in err.value.hint
        cli = CliRunner().invoke(app, ["deploy", str(recipe), "--yes"])  # the same through the CLI
        assert cli.exit_code == 6, cli.output
        assert "locked by another update" in cli.stderr
    finally:
        thread.join(timeout=120)
    assert errors == [], "the first update must still succeed"


def _capture(fn, errors):
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - handed back to the test thread
        errors.append(exc)


KILLED_UP = """
import sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from mlstack.home import Home
from mlstack.engine.events import ProgressPrinter
from mlstack.engine.workspace import StackSession
from tests.engine.test_engine import sleepy_program
StackSession(Home(Path({home!r})), "killed", program=sleepy_program(30)).up()
"""


def _kill_mid_update(home) -> None:
    code = KILLED_UP.format(repo=str(REPO), home=str(home.root))
    proc = subprocess.Popen(
        [sys.executable, "-c", code], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_lock(home, "killed")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # mlstack and the engine it started, as a crash would
        proc.wait(timeout=30)


def test_update_after_a_killed_update_clears_the_stale_lock_itself(engine_home):
    _kill_mid_update(engine_home)
    messages: list[str] = []
    session = StackSession(engine_home, "killed", program=sleepy_program(0), progress=ProgressPrinter(messages.append))
    assert session.up().outputs == {"done": True}
    assert any("stale lock" in m for m in messages)
    session.destroy()


def test_a_checkpoint_sidecar_left_empty_by_a_killed_engine_is_repaired(engine_home):
    """A SIGKILL between the file backend's checkpoint write and its `.attrs` sidecar write (seen in CI) left
    every later load failing with `failed to load checkpoint: EOF`."""
    session = StackSession(engine_home, "torn", program=sleepy_program(0))
    session.up()
    sidecar = engine_home.state_dir / ".pulumi" / "stacks" / "mlstack" / "torn.json.attrs"
    assert sidecar.stat().st_size > 0
    sidecar.write_bytes(b"")  # what the killed engine left
    messages: list[str] = []
    again = StackSession(engine_home, "torn", program=sleepy_program(0), progress=ProgressPrinter(messages.append))
    assert again.up().changes == {"same": 1}
    assert any("removed 1 empty checkpoint sidecar" in m for m in messages)
    again.destroy()


def test_cancel_clears_a_lock(engine_home):
    _kill_mid_update(engine_home)
    StackSession(engine_home, "killed").cancel()
    locks = engine_home.state_dir / ".pulumi" / "locks"
    assert not any(p.is_file() for p in locks.rglob("*.json"))


def test_live_lock_of_this_machine_is_not_cleared(engine_home):
    """Only a holder that is gone counts as stale: the concurrent-update test covers a live one (exit 6)."""
    from mlstack.engine.workspace import _pid_alive

    assert _pid_alive(os.getpid()) and not _pid_alive(2**22 + 12345)


def test_secrets_survive_sessions_and_the_passphrase_is_private(engine_home):
    def program() -> None:
        pulumi.export("token", GeneratedSecret("token").value)

    first = StackSession(engine_home, "secretive", program=program).up()
    token = first.outputs["token"]
    assert len(token) >= 22  # >= 128 bits, urlsafe base64
    again = StackSession(engine_home, "secretive", program=program)
    assert again.up().changes == {"same": 1}
    assert again.outputs()["token"] == token
    mode = stat.S_IMODE(engine_home.passphrase_file.stat().st_mode)
    assert mode == 0o600
    state = "".join(p.read_text() for p in engine_home.state_dir.rglob("*.json"))
    assert token not in state, "a secret must be encrypted in state"
    again.destroy()


def test_unknown_stack_is_not_found(engine_home):
    with pytest.raises(StackNotFoundError) as err:
        StackSession(engine_home, "never-deployed").outputs()
    assert err.value.exit_code == 5


def test_an_engine_session_runs_with_the_cyclic_collector_on(engine_home):
    """The CLI pauses the collector while a verb starts (imports, models: mlstack.cli.main); a verb that runs the
    engine, which may run for an hour, turns it back on."""
    import gc

    gc.disable()
    try:
        StackSession(engine_home, "collected")
        assert gc.isenabled()
    finally:
        gc.enable()
