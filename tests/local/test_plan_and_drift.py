"""See before it changes, and find what changed behind the stack's back: `preview` (plan per resource, JSON and
Markdown), `deploy` on a terminal (plan, then the question) and `drift` (exit 7), on a real local stack."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlstack.home import Home
from tests.conftest import RECIPES
from tests.local.conftest import MLSTACK, deployed_stack, mlstack, mlstack_json
from tests.local.test_stack import s3, service_pids

pytestmark = pytest.mark.engine
RECIPE = str(RECIPES / "local.yaml")


@pytest.fixture(scope="module")
def stack(tmp_path_factory, pulumi_cli_dir):
    root = tmp_path_factory.mktemp("plan") / "home"
    with deployed_stack(root, pulumi_cli_dir, RECIPE, "local"):
        yield Home(root)


@pytest.fixture()
def moved_serving(tmp_path) -> str:
    """The same stack with MLServer on another port: a change that replaces its process."""
    text = Path(RECIPE).read_text().replace("    flavor: mlserver", "    flavor: mlserver\n    port: 18089")
    path = tmp_path / "local.yaml"
    path.write_text(text)
    return str(path)


def _plan(*args: str) -> dict:
    return mlstack_json("preview", *args)["result"]["plan"]


def test_preview_names_each_replacement_and_its_cause_and_changes_nothing(stack, moved_serving):
    assert _plan(RECIPE)["changed"] is False
    before = service_pids(stack)["mlserver"]
    proc = mlstack("preview", moved_serving)
    plan = _plan(moved_serving)
    assert plan["apiVersion"] == "mlstack.plan/v1" and plan["mode"] == "engine"
    server = next(s for s in plan["steps"] if s["name"] == "serving-server")
    assert server["op"] == "replace" and "port" in server["replaceBecause"]
    assert server["down"] is False  # a new port: the new server starts before the old one stops
    # MLServer's side ports (gRPC, metrics) are chosen anew with its main port, so both servers can run at once
    replaced = {s["name"] for s in plan["steps"] if s["op"] == "replace"}
    assert replaced == {"serving-server", "serving-grpc-port", "serving-metrics-port"}, plan["steps"]
    # A preview creates nothing, and says nothing was: no progress lines, only the plan.
    assert "created" not in proc.stderr + proc.stdout
    words = " ".join(proc.stdout.split())  # lines wrap at the terminal's width
    assert "replace serving-server" in words and "replaced because" in words
    assert service_pids(stack)["mlserver"] == before


def test_preview_markdown_is_a_table_for_a_pull_request(stack, moved_serving):
    text = mlstack("preview", moved_serving, "--markdown").stdout
    lines = text.splitlines()
    assert lines[0] == "### mlstack plan: `local` (local)"
    assert "| `+-` | replace | `serving-server` | `pulumi-python:dynamic/local:Process` |" in text
    header = lines.index("| | operation | resource | type | changes |")
    assert lines[header + 1] == "|---|---|---|---|---|"
    bad = mlstack("preview", moved_serving, "--markdown", "--json", check=False)
    assert bad.returncode == 2


def _deploy_on_a_terminal(recipe: str, answer: bytes) -> tuple[int, str]:
    """`mlstack deploy RECIPE` with a terminal on stdin (as a person runs it), answering the question; returns
    the exit code and everything printed (the plan on stderr, the question on stdout)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([MLSTACK, "deploy", recipe], stdin=slave, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    os.close(slave)
    seen, deadline = b"", time.monotonic() + 120
    try:
        while b"[y/N]" not in seen and time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([proc.stdout], [], [], 1.0)
            if ready:
                seen += os.read(proc.stdout.fileno(), 65536)
        os.write(master, answer)
        out, _ = proc.communicate(timeout=120)
        return proc.returncode, (seen + out).decode()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        os.close(master)


def test_deploy_on_a_terminal_shows_the_plan_then_asks_and_no_changes_nothing(stack, moved_serving):
    before = service_pids(stack)["mlserver"]
    code, err = _deploy_on_a_terminal(moved_serving, b"n\n")
    assert code == 1, err
    err = " ".join(err.split())  # plan lines wrap at the terminal's width
    plan_at = err.index("replace serving-server")
    assert "replaced because" in err and err.index("Deploy these changes to stack 'local'?") > plan_at
    assert "created" not in err and "deployed stack" not in err
    assert service_pids(stack)["mlserver"] == before
    assert _plan(moved_serving)["summary"] == {"replace": 3, "delete": 1}  # still to do: nothing was applied


def test_drift_reports_a_killed_service_and_a_deleted_bucket_and_deploy_restores_them(stack):
    in_sync = mlstack("drift", RECIPE)
    assert in_sync.returncode == 0 and "in sync" in in_sync.stdout

    os.killpg(service_pids(stack)["mlserver"][0], signal.SIGKILL)
    data = json.loads(mlstack("output", "--stack", "local", "--show-secrets").stdout)
    store = data["components"]["object_store"]
    client = s3({"s3": {"endpoint_url": store["endpoint_url"], "aws_access_key_id": store["access_key_id"],
                        "aws_secret_access_key": data["secrets"][store["secret_access_key"]["output"]],
                        "region_name": store["region"]}})
    client.delete_bucket(Bucket="mlstack")

    drifted = mlstack("drift", "--stack", "local", "--json", check=False)
    assert drifted.returncode == 7, drifted.stderr
    envelope = json.loads(drifted.stdout)
    assert envelope["exitCode"] == 7 and envelope["ok"] is False
    steps = {s["name"]: s["op"] for s in envelope["result"]["plan"]["steps"]}
    assert steps == {"serving-server": "gone", "object_store-seaweedfs-bucket-mlstack": "gone"}, steps
    human = mlstack("drift", RECIPE, check=False)
    assert human.returncode == 7
    assert "gone     serving-server" in human.stdout and "has drifted" in human.stderr

    mlstack("deploy", RECIPE, "--yes")
    assert mlstack("drift", RECIPE).returncode == 0
    assert "mlstack" in {b["Name"] for b in client.list_buckets()["Buckets"]}


# -- shared state: the local stack's own MinIO holds a second stack's state, for two homes ------------------------
TEAM_RECIPE = "apiVersion: mlstack/v1\nname: team\ntarget: local\ncomponents:\n  orchestrator: {flavor: local}\n"
PASSPHRASE = "the team's passphrase, shared out of band"


def _state_bucket(bucket: str) -> tuple:
    """A new bucket in the local stack's MinIO as a Pulumi backend: its S3 client, the backend URL, and the
    credentials a user of that backend sets."""
    data = json.loads(mlstack("output", "--stack", "local", "--show-secrets").stdout)
    store = data["components"]["object_store"]
    creds = {"AWS_ACCESS_KEY_ID": store["access_key_id"],
             "AWS_SECRET_ACCESS_KEY": data["secrets"][store["secret_access_key"]["output"]],
             "AWS_REGION": store["region"]}
    client = s3({"s3": {"endpoint_url": store["endpoint_url"], "aws_access_key_id": creds["AWS_ACCESS_KEY_ID"],
                        "aws_secret_access_key": creds["AWS_SECRET_ACCESS_KEY"], "region_name": store["region"]}})
    client.create_bucket(Bucket=bucket)
    backend = (f"s3://{bucket}?endpoint={store['endpoint_url']}&use_path_style=true&region={store['region']}"
               "&response_checksum_validation=when_required")
    return client, backend, creds


def _as(home: Path, creds: dict, *args: str, passphrase: str | None = PASSPHRASE) -> subprocess.CompletedProcess:
    """`mlstack ARGS` run from another home (another engineer, or a CI job) against the shared backend."""
    env = {**os.environ, **creds, "MLSTACK_HOME": str(home)}
    env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    env.pop("PULUMI_CONFIG_PASSPHRASE", None)
    if passphrase is not None:
        env["PULUMI_CONFIG_PASSPHRASE"] = passphrase
    return subprocess.run([MLSTACK, *args], capture_output=True, text=True, timeout=300, env=env,
                          stdin=subprocess.DEVNULL)


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_two_homes_share_a_stack_in_an_s3_backend_with_its_lock(stack, tmp_path):
    import socket

    client, backend, creds = _state_bucket("team-state")
    recipe = tmp_path / "team.yaml"
    recipe.write_text(TEAM_RECIPE)
    alice, bob = tmp_path / "alice", tmp_path / "bob"

    deployed = _as(alice, creds, "deploy", str(recipe), "--backend", backend, "--yes", "--json")
    assert deployed.returncode == 0, deployed.stderr
    assert any(o["Key"].startswith(".pulumi/stacks/mlstack/team") for o in client.list_objects_v2(
        Bucket="team-state", Prefix=".pulumi/stacks/")["Contents"])

    listed = json.loads(_as(bob, creds, "list", "--backend", backend, "--json", passphrase=None).stdout)["result"]
    assert [r["stack"] for r in listed] == ["team"]  # listing reads no secret: no passphrase needed
    # a second home that sets PULUMI_BACKEND_URL (as deploy honours it) lists the team's stack without --backend
    with_env = _as(bob, {**creds, "PULUMI_BACKEND_URL": backend}, "list", "--json", passphrase=None)
    assert [r["stack"] for r in json.loads(with_env.stdout)["result"]] == ["team"], with_env.stderr
    outputs = _as(bob, creds, "output", str(recipe), "--backend", backend, "--json")
    assert outputs.returncode == 0, outputs.stderr
    assert json.loads(json.loads(outputs.stdout)["result"]["text"])["stack"] == "team"
    # --stack from a home that never saw the recipe: the recipe kept with the stack in the backend serves
    carol = tmp_path / "carol"
    by_name = _as(carol, {**creds, "PULUMI_BACKEND_URL": backend}, "output", "--stack", "team", "--json")
    assert by_name.returncode == 0, by_name.stderr
    assert json.loads(json.loads(by_name.stdout)["result"]["text"])["stack"] == "team"
    unknown = _as(carol, creds, "output", "--stack", "nobody", "--backend", backend)
    assert unknown.returncode == 5 and "no stack named 'nobody'" in unknown.stderr

    # A passphrase is shared or the state is unreadable: none set is refused before the engine runs; a wrong one
    # is exit 4 and leaves nothing in Bob's home that would refuse the right one later.
    unset = _as(bob, creds, "output", str(recipe), "--backend", backend, passphrase=None)
    assert unset.returncode == 4 and "PULUMI_CONFIG_PASSPHRASE" in unset.stderr
    wrong = _as(bob, creds, "deploy", str(recipe), "--backend", backend, "--yes", passphrase="not it")
    assert wrong.returncode == 4 and "passphrase does not decrypt" in wrong.stderr, wrong.stderr
    assert not list(bob.rglob("Pulumi.team.yaml"))
    assert "not it" not in wrong.stderr + wrong.stdout

    # The lock as Pulumi writes it (.pulumi/locks/organization/<project>/<stack>/<id>.json): first held by a
    # live process of this machine, then by one that was killed.
    key = ".pulumi/locks/organization/mlstack/team/0f5c5a4e-mlstack-test.json"
    for pid, stale in ((os.getpid(), False), (_dead_pid(), True)):
        client.put_object(Bucket="team-state", Key=key, Body=json.dumps(
            {"pid": pid, "username": "ci", "hostname": socket.gethostname(), "timestamp": "2026-11-23T22:09:37Z"}))
        locked = _as(bob, creds, "deploy", str(recipe), "--backend", backend, "--yes")
        assert locked.returncode == 6, locked.stderr
        assert f"pid {pid} on {socket.gethostname()}" in locked.stderr and "mlstack cancel" in locked.stderr
        assert ("lock is stale" in locked.stderr) is stale
    cleared = _as(bob, creds, "cancel", str(recipe), "--backend", backend, "--yes")
    assert cleared.returncode == 0, cleared.stderr

    assert _as(bob, creds, "deploy", str(recipe), "--backend", backend, "--yes").returncode == 0
    destroyed = _as(bob, creds, "destroy", str(recipe), "--backend", backend, "--purge", "--yes")
    assert destroyed.returncode == 0, destroyed.stderr
    assert json.loads(_as(alice, creds, "list", "--backend", backend, "--json").stdout)["result"] == []


def test_a_running_update_holds_the_s3_lock_and_a_killed_one_leaves_a_stale_lock_cancel_clears(stack, tmp_path,
                                                                                              monkeypatch):
    """The same backend, with the engine's own lock: a second update meets a live one (exit 6, holder named); after
    kill -9 of the first, the lock stays and is reported stale with the command that clears it."""
    from mlstack.engine.workspace import StackSession
    from mlstack.errors import ExitCode, StackLockedError
    from tests.conftest import REPO
    from tests.engine.test_engine import sleepy_program

    client, backend, creds = _state_bucket("lock-state")
    for name, value in {**creds, "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE, "PYTHONPATH": str(REPO)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)

    code = (f"import sys; sys.path.insert(0, {str(REPO)!r})\n"
            "from pathlib import Path\nfrom mlstack.home import Home\n"
            "from mlstack.engine.workspace import StackSession\n"
            "from tests.engine.test_engine import sleepy_program\n"
            f"StackSession(Home(Path({str(tmp_path / 'alice')!r})), 'held', backend={backend!r}, "
            "program=sleepy_program(120)).up()\n")
    first = subprocess.Popen([sys.executable, "-c", code], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bob = Home(tmp_path / "bob")
    try:
        deadline = time.monotonic() + 90
        while not client.list_objects_v2(Bucket="lock-state", Prefix=".pulumi/locks/").get("KeyCount"):
            assert time.monotonic() < deadline and first.poll() is None, "the first update never took the lock"
            time.sleep(0.2)
        with pytest.raises(StackLockedError) as live:
            StackSession(bob, "held", backend=backend, program=sleepy_program(0)).up()
        assert live.value.exit_code == ExitCode.STACK_LOCKED and "stale" not in str(live.value.message)
        [(host, pid)] = live.value.holders
        assert os.path.exists(f"/proc/{pid}")  # the first update's engine, still running
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    deadline = time.monotonic() + 30
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.1)

    with pytest.raises(StackLockedError) as stale:
        StackSession(bob, "held", backend=backend, program=sleepy_program(0)).up()
    assert "lock is stale" in stale.value.message and "mlstack cancel --stack held" in (stale.value.hint or "")
    StackSession(bob, "held", backend=backend).cancel()
    session = StackSession(bob, "held", backend=backend, program=sleepy_program(0))
    assert session.up().stack == "held"
    session.destroy()
    session.remove()


def test_cancel_without_a_lock_says_there_was_none(stack):
    done = mlstack_json("cancel", "--stack", "local", "--yes")["result"]
    assert done == {"stack": "local", "cancelled": False, "held": False}
    assert "holds no lock" in mlstack("cancel", "--stack", "local", "--yes").stderr


def test_cancel_refuses_a_lock_whose_holder_still_runs_here_unless_forced(stack):
    """A lock held by a live process of this machine is an update in progress, not a crash."""
    import socket

    locks = stack.state_dir / ".pulumi" / "locks" / "organization" / "mlstack" / "local"
    locks.mkdir(parents=True, exist_ok=True)
    lock = locks / "00000000-0000-0000-0000-000000000001.json"
    lock.write_text(json.dumps({"pid": os.getpid(), "username": "someone", "hostname": socket.gethostname(),
                                "timestamp": "2026-12-06T00:00:00Z"}))
    try:
        refused = mlstack("cancel", "--stack", "local", "--yes", check=False)
        assert refused.returncode == 6, refused.stderr
        assert f"still running on this machine (pid {os.getpid()}" in refused.stderr and lock.exists()
        forced = mlstack_json("cancel", "--stack", "local", "--yes", "--force")["result"]
        assert forced["cancelled"] is True and not lock.exists()
    finally:
        lock.unlink(missing_ok=True)


def test_preview_of_a_new_recipe_leaves_no_stack_behind(engine_home, tmp_path):
    recipe = tmp_path / "fresh.yaml"
    recipe.write_text("apiVersion: mlstack/v1\nname: fresh\ntarget: local\ncomponents:\n"
                      "  orchestrator: {flavor: local}\n")
    plan = mlstack_json("preview", str(recipe))["result"]["plan"]
    assert plan["summary"]["create"] >= 1
    assert not list((engine_home.root / "state").rglob("fresh.json"))
    listed = mlstack_json("list", "--backend", engine_home.default_backend_url)["result"]
    assert all(row["stack"] != "fresh" for row in listed)
