"""The kubernetes target's whole lifecycle through the engine, against the test control plane.

The provider plugin is part of the toolchain: `mlstack doctor --fix` (which `make test` runs) fetches it, or builds
it from Go modules where it cannot be fetched. Under `make test` (MLSTACK_REQUIRE_TOOLS) a missing plugin fails
these tests; elsewhere they skip naming the command that installs it. kind itself needs Docker or Podman: without
them `deploy` exits 3 (tested everywhere).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlstack import registry
from mlstack.engine import plugins, reaper
from mlstack.errors import ExitCode
from mlstack.home import Home
from mlstack.versions import KUBERNETES_PROVIDER_VERSION
from tests.conftest import RECIPES
from tests.kube.controlplane import NODE_NAME, ControlPlane
from tests.local.conftest import MLSTACK, mlstack, mlstack_json

NEEDS = registry.plugin_need("kubernetes")
DATA_CLAIMS = {"seaweedfs-data", "registry-data", "mlflow-postgres-data", "mlserver-models"}


def recipe_for(control_plane: ControlPlane, tmp_path: Path, name: str = "lifecycle", extra: str = "",
               namespace: str | None = None) -> Path:
    text = (RECIPES / "kubernetes.yaml").read_text().replace("name: mlops-k8s", f"name: {name}")
    text = text.replace("  namespace: mlops\n",
                        f"  namespace: {namespace or name}\n  context: {control_plane.context}\n{extra}")
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def claims(cp: ControlPlane, ns: str) -> dict[str, str]:
    """{claim name: uid}: a kept volume keeps its claim's uid."""
    items = json.loads(cp.kubectl("-n", ns, "get", "pvc", "-o", "json").stdout)["items"]
    return {c["metadata"]["name"]: c["metadata"]["uid"] for c in items}


def drift(recipe: Path) -> tuple[int, dict[str, dict]]:
    done = subprocess.run([MLSTACK, "drift", str(recipe), "--json"], capture_output=True, text=True, timeout=300)
    result = (json.loads(done.stdout).get("result") or {}) if done.stdout.strip() else {}
    steps = (result.get("plan") or {}).get("steps") or []
    return done.returncode, {s["name"]: s for s in steps}


def lock_files(home: Home, stack: str) -> list[Path]:
    return list((home.root / "state" / ".pulumi" / "locks").rglob(f"{stack}/*.json"))


@pytest.fixture()
def cordoned(control_plane: ControlPlane) -> Iterator[None]:
    """No pod can be scheduled while this holds: a deploy then waits for its workload (and holds its lock)."""
    control_plane.kubectl("cordon", NODE_NAME)
    try:
        yield
    finally:
        control_plane.kubectl("uncordon", NODE_NAME)


def test_kind_without_a_container_engine_exits_3_naming_what_is_missing(home, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker, podman or kind on PATH
    result = subprocess.run([MLSTACK, "deploy", str(RECIPES / "kind.yaml"), "--yes", "--json"], capture_output=True,
                            text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 3, result.stdout + result.stderr
    message = json.loads(result.stdout)["errors"][0]["message"]
    assert "kind CLI" in message and "container engine" in message


@pytest.mark.engine
def test_deploy_without_the_provider_plugin_exits_3_naming_it(kube_env, control_plane, tmp_path):
    assert plugins.installed(kube_env, NEEDS) is None or pytest.skip("a pulumi-resource-kubernetes is on PATH")
    result = mlstack("deploy", str(recipe_for(control_plane, tmp_path)), "--yes", "--json", check=False)
    assert result.returncode == ExitCode.NOT_AVAILABLE == 3, result.stdout + result.stderr
    error = json.loads(result.stdout)["errors"][0]
    assert f"resource-kubernetes v{KUBERNETES_PROVIDER_VERSION}" in error["message"]
    assert "mlstack doctor --fix" in error["hint"]
    assert not (kube_env.root / "state").exists() or not list((kube_env.root / "state").rglob("*.json"))


@pytest.mark.engine
@pytest.mark.timeout(900)
def test_the_whole_lifecycle_on_a_real_api_server(plugin_home: Home, control_plane: ControlPlane, tmp_path):
    cp, recipe, ns = control_plane, recipe_for(control_plane, tmp_path), "lifecycle"
    first = mlstack_json("deploy", str(recipe), "--yes", timeout=600)["result"]
    assert first["changes"].get("create", 0) > 20
    offline = mlstack_json("preview", str(recipe), "--offline")["result"]["plan"]["summary"]
    assert first["changes"] == offline  # the engine and the plan count the same resources
    assert json.loads(cp.kubectl("-n", ns, "get", "deploy", "mlflow", "-o", "json").stdout)["status"]["readyReplicas"] == 1
    volumes = claims(cp, ns)
    assert set(volumes) == DATA_CLAIMS

    again = mlstack_json("deploy", str(recipe), "--yes", timeout=300)["result"]
    assert again["changed"] is False, again["changes"]
    assert drift(recipe) == (0, {})

    # Drift is what the stack manages: a field mlstack set, changed by hand, is drift; a label another field
    # manager adds to an object is that manager's, and is not.
    cp.kubectl("-n", ns, "delete", "deployment", "mlserver", "--wait=true")
    cp.kubectl("-n", ns, "scale", "deployment", "registry", "--replicas=2")
    cp.kubectl("-n", ns, "label", "service", "mlflow", "team=by-hand", "--overwrite")
    code, steps = drift(recipe)
    assert code == ExitCode.DRIFTED == 7
    assert steps["serving-deployment"]["op"] == "gone"
    assert steps["registry-deployment"]["op"] == "changed"
    assert "tracking-service" not in steps, steps["tracking-service"]
    restored = mlstack_json("deploy", str(recipe), "--yes", timeout=300)["result"]
    assert restored["changed"] is True
    cp.kubectl("-n", ns, "rollout", "status", "deployment/mlserver", "--timeout=60s")
    assert json.loads(cp.kubectl("-n", ns, "get", "deploy", "registry", "-o", "json").stdout)["spec"]["replicas"] == 1
    labels = json.loads(cp.kubectl("-n", ns, "get", "service", "mlflow", "-o", "json").stdout)["metadata"]["labels"]
    assert labels["team"] == "by-hand"  # not ours: left alone

    destroyed = mlstack_json("destroy", "--stack", "lifecycle", "--yes", timeout=600)["result"]
    assert "kubernetes" in destroyed["kept"] and "kind" not in destroyed["kept"]["kubernetes"]  # claims what is
    left = json.loads(cp.kubectl("-n", ns, "get", "all,secrets,networkpolicies,roles", "-o", "json").stdout)["items"]
    assert [o["metadata"]["name"] for o in left if o["kind"] != "Secret" or not o["metadata"]["name"].startswith(
        "default-token")] == []
    assert claims(cp, ns) == volumes
    # a destroyed stack is not deployed, in every verb
    assert drift(recipe)[0] == ExitCode.STACK_NOT_FOUND == 5
    assert mlstack("destroy", "--stack", "lifecycle", "--yes", check=False).returncode == 5

    mlstack("deploy", str(recipe), "--yes", timeout=600)  # the kept volumes are adopted again
    assert claims(cp, ns) == volumes
    mlstack("destroy", "--stack", "lifecycle", "--yes", "--purge", timeout=600)
    cp.kubectl("wait", "--for=delete", f"namespace/{ns}", "--timeout=120s", check=False)
    assert cp.kubectl("get", "namespace", ns, "--ignore-not-found", "-o", "name").stdout.strip() == ""


@pytest.mark.engine
@pytest.mark.timeout(900)
def test_a_killed_deploy_holds_the_lock_then_the_next_one_completes_it_and_reaps_its_plugins(
    plugin_home: Home, control_plane: ControlPlane, tmp_path
):
    cp, recipe, ns = control_plane, recipe_for(control_plane, tmp_path, "killed"), "killed"
    mlstack("deploy", str(recipe), "--yes", timeout=600)
    cp.kubectl("-n", ns, "delete", "deployment", "registry", "--wait=true")
    cp.kubectl("cordon", NODE_NAME)  # the recreated registry cannot become Ready: the deploy waits, holding the lock
    try:
        proc = subprocess.Popen([MLSTACK, "deploy", str(recipe), "--yes"], start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while not lock_files(plugin_home, "killed") and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.2)
            assert lock_files(plugin_home, "killed"), "the deploy never took the stack's lock"
            cp.kubectl("-n", ns, "wait", "--for=create", "deployment/registry", "--timeout=60s")
            locked = mlstack("deploy", str(recipe), "--yes", "--json", check=False, timeout=120)
            assert locked.returncode == ExitCode.STACK_LOCKED == 6, locked.stdout + locked.stderr
            holder = re.search(r"pid (\d+)", json.loads(locked.stdout)["errors"][0]["message"])
            assert holder and os.getpgid(int(holder.group(1))) == proc.pid  # the engine of the first deploy
            assert proc.poll() is None, "the first deploy ended while the second was refused: nothing was held"
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        time.sleep(0.5)
        left = reaper.orphaned_plugins(plugin_home.pulumi_home)
        assert any(name == "pulumi-resource-kubernetes" for _, name in left), (
            "the killed engine's kubernetes plugin is expected to outlive it (its own process group)")
    finally:
        cp.kubectl("uncordon", NODE_NAME)
    resumed = mlstack("deploy", str(recipe), "--yes", timeout=600)
    assert "provider plugin process" in resumed.stderr  # it says what it stopped
    assert reaper.orphaned_plugins(plugin_home.pulumi_home) == []
    assert all(not _running(pid) for pid, _ in left)
    cp.kubectl("-n", ns, "rollout", "status", "deployment/registry", "--timeout=60s")
    mlstack("destroy", "--stack", "killed", "--yes", "--purge", timeout=600)


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.engine
@pytest.mark.timeout(900)
def test_an_image_bump_rolls_out_and_keeps_every_data_volume(plugin_home: Home, control_plane: ControlPlane,
                                                              tmp_path):
    cp, ns = control_plane, "bump"
    recipe = recipe_for(cp, tmp_path, "bump")
    mlstack("deploy", str(recipe), "--yes", timeout=600)
    volumes = claims(cp, ns)
    bumped_image = "ghcr.io/mlflow/mlflow:v3.17.1-full"
    recipe.write_text(recipe.read_text().replace("    flavor: mlflow\n", f"    flavor: mlflow\n    image: {bumped_image}\n"))
    plan = mlstack_json("preview", str(recipe), timeout=300)["result"]["plan"]
    changed = {s["name"]: s for s in plan["steps"]}
    assert changed["tracking-deployment"]["op"] == "update", plan["steps"]
    assert not [s for s in plan["steps"] if s["op"] in ("replace", "delete") and "volume" in s["name"]]
    mlstack("deploy", str(recipe), "--yes", timeout=600)
    cp.kubectl("-n", ns, "rollout", "status", "deployment/mlflow", "--timeout=60s")
    spec = json.loads(cp.kubectl("-n", ns, "get", "deploy", "mlflow", "-o", "json").stdout)["spec"]
    assert spec["template"]["spec"]["containers"][0]["image"] == bumped_image
    assert claims(cp, ns) == volumes  # the same claims (same uids): no data volume was replaced

    # Another storage class would replace the claims (the field is immutable): preview marks the claim the engine
    # refuses to replace as holding data (it stops planning there), and deploy refuses (exit 8) before any change.
    recipe.write_text(recipe.read_text().replace(f"  context: {cp.context}\n",
                                                 f"  context: {cp.context}\n  storage_class: premium\n"))
    plan = mlstack_json("preview", str(recipe), timeout=300)["result"]["plan"]
    held = {s["name"] for s in plan["steps"] if s["replacesData"]}
    assert held and held == {s["name"] for s in plan["steps"] if "volume" in s["name"] and s["op"] == "replace"}
    assert set(plan["replacesData"]) == held, plan
    assert all(s["keepsOld"] for s in plan["steps"] if s["replacesData"]), "destroy keeps claims"
    refused = mlstack("deploy", str(recipe), "--yes", "--json", timeout=600, check=False)
    assert refused.returncode == 8 and json.loads(refused.stdout)["errors"][0]["type"] == "replaces-data"
    assert claims(cp, ns) == volumes
    spec = json.loads(cp.kubectl("-n", ns, "get", "deploy", "mlflow", "-o", "json").stdout)["spec"]
    assert spec["template"]["spec"]["containers"][0]["image"] == bumped_image, "nothing else changed either"
    # Even with --replace-data a claim is not replaced: destroy keeps claims, so the old one would stay where its
    # successor goes (same name). Refused up front, naming it, rather than left half done.
    refused = mlstack("deploy", str(recipe), "--yes", "--replace-data", "--json", timeout=600, check=False)
    error = json.loads(refused.stdout)["errors"][0]
    assert refused.returncode == 8 and "cannot be replaced, even with --replace-data" in error["message"], error
    assert "kubectl delete pvc" in error["hint"]
    assert claims(cp, ns) == volumes
    after = mlstack_json("preview", str(recipe), timeout=300)["result"]["plan"]
    # The stack still holds its claims (the engine reports whichever claim it reaches first: one or more of them).
    volume_steps = {"object_store-volume", "registry-volume", "tracking-db-volume", "serving-volume"}
    again = {s["name"] for s in after["steps"] if s["replacesData"]}
    assert again and again <= volume_steps, after["steps"]
    mlstack("destroy", "--stack", "bump", "--yes", "--purge", timeout=600)


@pytest.mark.engine
@pytest.mark.timeout(300)
def test_a_namespace_someone_else_owns_is_refused_not_adopted(plugin_home: Home, control_plane: ControlPlane,
                                                                tmp_path):
    cp = control_plane
    cp.kubectl("create", "namespace", "someone-elses")
    cp.kubectl("-n", "someone-elses", "create", "configmap", "theirs", "--from-literal=keep=me")
    recipe = recipe_for(cp, tmp_path, "intruder", namespace="someone-elses")
    for verb in ("preview", "deploy"):
        done = mlstack(verb, str(recipe), "--json", *(("--yes",) if verb == "deploy" else ()), check=False)
        assert done.returncode == ExitCode.BAD_INPUT == 2, done.stdout + done.stderr
        error = json.loads(done.stdout)["errors"][0]
        assert "someone-elses" in error["message"] and "already exists" in error["message"], error
        assert "Traceback" not in done.stderr
    namespace = json.loads(cp.kubectl("get", "namespace", "someone-elses", "-o", "json").stdout)
    assert "mlstack.dev/stack" not in (namespace["metadata"].get("labels") or {})
    assert cp.kubectl("-n", "someone-elses", "get", "all", "-o", "name").stdout.strip() == ""
    assert not list((plugin_home.root / "state").rglob("intruder.json"))  # no stack was created
    cp.kubectl("delete", "namespace", "someone-elses", "--wait=false")


@pytest.mark.engine
@pytest.mark.timeout(600)
def test_two_stacks_in_two_namespaces_of_one_cluster_stay_apart(plugin_home: Home, control_plane: ControlPlane,
                                                                 tmp_path):
    cp = control_plane
    first, second = recipe_for(cp, tmp_path, "team-a"), recipe_for(cp, tmp_path, "team-b")
    mlstack("deploy", str(first), "--yes", timeout=600)
    mlstack("deploy", str(second), "--yes", timeout=600)
    a_uid = json.loads(cp.kubectl("-n", "team-a", "get", "deploy", "mlflow", "-o", "json").stdout)["metadata"]["uid"]
    # the second stack may not take the first one's namespace
    third = recipe_for(cp, tmp_path, "team-c", namespace="team-a")
    taken = mlstack("deploy", str(third), "--yes", "--json", check=False)
    assert taken.returncode == 2 and "team-a" in json.loads(taken.stdout)["errors"][0]["message"]
    mlstack("destroy", "--stack", "team-b", "--yes", "--purge", timeout=600)
    assert json.loads(cp.kubectl("-n", "team-a", "get", "deploy", "mlflow", "-o", "json").stdout)["metadata"][
        "uid"] == a_uid
    assert drift(first) == (0, {})
    mlstack("destroy", "--stack", "team-a", "--yes", "--purge", timeout=600)


@pytest.mark.engine
@pytest.mark.timeout(600)
def test_a_destroy_whose_finalizer_hangs_is_bounded_and_names_the_object(plugin_home: Home,
                                                                         control_plane: ControlPlane, tmp_path):
    cp, ns = control_plane, "stuck"
    recipe = recipe_for(cp, tmp_path, "stuck", extra="  delete_timeout_s: 15\n")
    mlstack("deploy", str(recipe), "--yes", timeout=600)
    hold = '{"metadata":{"finalizers":["example.com/never-clears"]}}'
    cp.kubectl("-n", ns, "patch", "deployment", "mlserver", "--type=merge", "-p", hold)
    try:
        # bounded: the subprocess timeout fails the test if destroy waits for the finalizer
        done = mlstack("destroy", "--stack", "stuck", "--yes", "--json", check=False, timeout=300)
        assert done.returncode == ExitCode.FAILED, done.stdout + done.stderr
        message = json.loads(done.stdout)["errors"][0]["message"]
        assert "serving-deployment [kubernetes:apps/v1:Deployment]" in message, message
    finally:
        cp.kubectl("-n", ns, "patch", "deployment", "mlserver", "--type=merge",
                   "-p", '{"metadata":{"finalizers":null}}', check=False)
    mlstack("destroy", "--stack", "stuck", "--yes", "--purge", timeout=600)


@pytest.mark.engine
@pytest.mark.timeout(600)
def test_a_rollout_that_cannot_finish_fails_the_deploy_and_drift_and_verify_say_so(
        plugin_home: Home, control_plane: ControlPlane, tmp_path):
    """The new pods cannot be scheduled: deploy fails within the recipe's rollout timeout naming the workload, the
    previous pods keep serving, and drift and verify tell that what runs is not what was deployed (the state
    holds the new spec, so only the workload's status shows it). Once the pods can run, deploy finishes it."""
    cp, ns = control_plane, "rollout"
    recipe = recipe_for(cp, tmp_path, "rollout", extra="  rollout_timeout_s: 15\n")
    mlstack("deploy", str(recipe), "--yes", timeout=600)
    assert drift(recipe)[0] == 0
    old = json.loads(cp.kubectl("-n", ns, "get", "pods", "-l", "app.kubernetes.io/name=mlflow", "-o",
                                "json").stdout)["items"]
    recipe.write_text(recipe.read_text().replace(
        "    flavor: mlflow\n", "    flavor: mlflow\n    image: ghcr.io/mlflow/mlflow:v3.17.1-full\n"))
    cp.kubectl("cordon", NODE_NAME)
    try:
        failed = mlstack("deploy", str(recipe), "--yes", timeout=300, check=False)
        assert failed.returncode != 0
        assert "tracking-deployment" in failed.stderr + failed.stdout
        serving = json.loads(cp.kubectl("-n", ns, "get", "pods", "-l", "app.kubernetes.io/name=mlflow", "-o",
                                        "json").stdout)["items"]
        assert {p["metadata"]["name"] for p in old} <= {p["metadata"]["name"] for p in serving}  # still serving
        code, _ = drift(recipe)
        assert code == int(ExitCode.DRIFTED)
        shown = mlstack("drift", str(recipe), check=False)
        assert "tracking" in shown.stderr and "deployment/mlflow: rollout not finished" in shown.stderr + shown.stdout
        assert "previous still serving" in shown.stderr + shown.stdout
        checked = mlstack_json("verify", str(recipe), check=False)
        failures = {c["kind"]: c["detail"] for c in checked["result"]["checks"] if not c["ok"]}
        assert "not as deployed: deployment/mlflow: rollout not finished" in failures["tracking"]
        assert "Unschedulable" in failures["tracking"]
        handed = mlstack("output", str(recipe), "--format", "env", check=False)  # the config, and what is not
        assert handed.returncode == 0 and "MLFLOW_TRACKING_URI=" in handed.stdout
        assert "warning: tracking is not as deployed: deployment/mlflow: rollout not finished" in handed.stderr
    finally:
        cp.kubectl("uncordon", NODE_NAME)
    mlstack("deploy", str(recipe), "--yes", timeout=600)
    assert drift(recipe)[0] == 0
    mlstack("destroy", "--stack", "rollout", "--yes", "--purge", timeout=600)
