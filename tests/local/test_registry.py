"""The local registry, end to end: real `mlstack`, real docker-registry, a real OCI client (oras)."""

from __future__ import annotations

import os
import signal
import socket
import stat
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.local.conftest import mlstack, mlstack_json, processes_of, write_recipe

pytestmark = [pytest.mark.engine,
              pytest.mark.skipif(not Path("/usr/bin/docker-registry").exists(), reason="needs Debian docker-registry (make install)")]


def connection(stack: str) -> tuple[str, str, str]:
    out = mlstack_json("output", "--stack", stack, "--show-secrets")["result"]["text"]
    import json

    data = json.loads(out)
    reg = data["components"]["registry"]
    return reg["uri"], reg["username"], data["secrets"][reg["password"]["output"]]


def oras_client(uri: str, user: str, password: str):
    import oras.client

    client = oras.client.OrasClient(hostname=uri, insecure=True, auth_backend="basic")
    client.login(username=user, password=password, hostname=uri, tls_verify=False)
    return client


def push_artifact(client, uri: str, tmp_path: Path, text: str) -> None:
    blob = tmp_path / "model.txt"
    blob.write_text(text)
    cwd = os.getcwd()
    os.chdir(tmp_path)  # oras records relative paths as layer titles
    try:
        client.push(target=f"{uri}/team/model:v1", files=["model.txt"])
    finally:
        os.chdir(cwd)


def pull_artifact(client, uri: str, outdir: Path) -> str:
    files = client.pull(target=f"{uri}/team/model:v1", outdir=str(outdir))
    return Path(files[0]).read_text()


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_deploy_push_pull_kill_heal_destroy_and_keep_data(local_home, tmp_path):
    recipe = write_recipe(tmp_path / "r.yaml", "regtest")
    first = mlstack_json("deploy", str(recipe))["result"]
    assert first["changed"] is True
    uri, user, password = connection("regtest")
    assert uri.startswith("127.0.0.1:")
    assert status(f"http://{uri}/v2/") == 401, "the registry must require credentials"

    client = oras_client(uri, user, password)
    push_artifact(client, uri, tmp_path, "weights-1")
    assert pull_artifact(client, uri, tmp_path / "pulled") == "weights-1"

    again = mlstack_json("deploy", str(recipe))["result"]
    assert again["changed"] is False and set(again["changes"]) == {"same"}

    [pid] = [p for p in processes_of(local_home.root) if "docker-registry" in Path(f"/proc/{p}/cmdline").read_text()]
    os.kill(pid, signal.SIGKILL)
    healed = mlstack_json("deploy", str(recipe))["result"]
    assert healed["changes"] == {"replace": 1, "same": 5}  # its diff found it gone (the local target runs no refresh)
    assert status(f"http://{uri}/v2/") == 401
    assert pull_artifact(oras_client(uri, user, password), uri, tmp_path / "healed") == "weights-1"

    down = mlstack_json("destroy", "--stack", "regtest")["result"]
    assert processes_of(local_home.root) == []
    host, port = uri.split(":")
    with socket.socket() as s:
        assert s.connect_ex((host, int(port))) != 0, "nothing may listen after destroy"
    assert "registry" in down["kept"] and Path(down["kept"]["registry"]).is_dir()

    mlstack_json("deploy", str(recipe))
    uri2, user2, password2 = connection("regtest")
    assert password2 != password, "destroy deletes credentials; a new deploy generates new ones"
    assert pull_artifact(oras_client(uri2, user2, password2), uri2, tmp_path / "again") == "weights-1"

    purged = mlstack_json("destroy", "--stack", "regtest", "--purge")["result"]
    assert purged["kept"] == {} and not local_home.stack_dir("regtest").exists()
    assert processes_of(local_home.root) == []


def test_taken_port_fails_cleanly_naming_it(local_home, tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        recipe = write_recipe(tmp_path / "r.yaml", "porttest", f"{{flavor: distribution, port: {port}}}")
        proc = mlstack("deploy", str(recipe), check=False)
    assert proc.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert processes_of(local_home.root) == [], "nothing may be left half-started"
    mlstack("destroy", "--stack", "porttest", "--purge")


def test_secrets_stay_out_of_stdout_and_files(local_home, tmp_path):
    recipe = write_recipe(tmp_path / "r.yaml", "secrettest")
    deploy = mlstack("deploy", str(recipe), "--json")
    _, _, password = connection("secrettest")
    for fmt in ("json", "yaml", "env", "zenml"):
        assert password not in mlstack("output", "--stack", "secrettest", "--format", fmt).stdout
    assert password in mlstack("output", "--stack", "secrettest", "--format", "env", "--show-secrets").stdout
    assert password not in deploy.stdout + deploy.stderr
    for path in local_home.root.rglob("*"):
        if path.is_file() and password in path.read_text(errors="ignore"):
            pytest.fail(f"{path} holds the password in clear")
    htpasswd = local_home.stack_dir("secrettest") / "run" / "registry" / "htpasswd"
    assert stat.S_IMODE(htpasswd.stat().st_mode) == 0o600
    mlstack("destroy", "--stack", "secrettest", "--purge")
