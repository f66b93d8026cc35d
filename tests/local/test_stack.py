"""The embedded default recipe, end to end, with each component's real client:
boto3, the MLflow client, oras (OCI), MLServer's V2 protocol. Then heal, crash mid-deploy, destroy, redeploy."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import socket
import stat
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from mlstack.home import Home
from tests.conftest import RECIPES
from tests.local.conftest import (MLSTACK, deployed_stack, mlstack, mlstack_json, processes_of, session_members,
                                  stop_session)
from tests.local.test_registry import oras_client, pull_artifact, push_artifact
from tests.runtime_clients import log_mlflow_run, read_mlflow_metric, run_in_runtime

pytestmark = pytest.mark.engine
RECIPE = str(RECIPES / "local.yaml")
SERVICES = ("seaweedfs", "docker-registry", "mlflow", "mlserver")
KNOWN = (*SERVICES, "minio")  # what service_pids tells apart: the default stack's services, and MinIO


@pytest.fixture(scope="module")
def stack(tmp_path_factory, pulumi_cli_dir):
    """recipes/local.yaml deployed into a fresh home."""
    root = tmp_path_factory.mktemp("stack") / "home"
    with deployed_stack(root, pulumi_cli_dir, RECIPE, "local"):
        yield Home(root)


def conn(home: Home) -> dict:
    return connection(json.loads(mlstack("output", "--stack", "local", "--show-secrets").stdout))


def connection(data: dict) -> dict:
    """What the tests' clients need, from `mlstack output --show-secrets` of a local stack."""
    comps, secrets = data["components"], data["secrets"]
    store = comps["object_store"]
    return {
        "s3": {"endpoint_url": store["endpoint_url"], "aws_access_key_id": store["access_key_id"],
               "aws_secret_access_key": secrets[store["secret_access_key"]["output"]], "region_name": store["region"]},
        "bucket": store["buckets"][0].removeprefix("s3://"),
        "tracking": comps["tracking"]["tracking_uri"],
        "mlflow_env": {"MLFLOW_TRACKING_URI": comps["tracking"]["tracking_uri"],
                       "MLFLOW_TRACKING_USERNAME": comps["tracking"]["username"],
                       "MLFLOW_TRACKING_PASSWORD": secrets[comps["tracking"]["password"]["output"]]},
        "registry": (comps["registry"]["uri"], comps["registry"]["username"],
                     secrets[comps["registry"]["password"]["output"]]),
        "serving": comps["serving"]["base_url"],
        "repository": Path(comps["serving"]["model_repository"]),
    }


def s3(c: dict):
    import boto3

    return boto3.client("s3", **c["s3"])


def v2(c: dict, path: str, body: dict | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(c["serving"] + path, method="POST" if body is not None else "GET",
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def service_pids(home: Home) -> dict[str, list[int]]:
    """Main pid of each service: the process group leaders among the stack's processes."""
    out: dict[str, list[int]] = {}
    for pid in processes_of(home.root):
        try:
            if os.getpgid(pid) != pid:
                continue
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (ProcessLookupError, OSError):
            continue
        for svc in KNOWN:
            if svc in cmd.split(" ", 2)[0] or (svc == "mlflow" and " server " in cmd and "mlflow" in cmd):
                out.setdefault(svc, []).append(pid)
                break
    return out


def test_object_store_put_list_get(stack):
    c = conn(stack)
    client = s3(c)
    client.put_object(Bucket=c["bucket"], Key="datasets/iris.csv", Body=b"a,b\n1,2\n")
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=c["bucket"], Prefix="datasets/")["Contents"]]
    assert keys == ["datasets/iris.csv"]
    assert client.get_object(Bucket=c["bucket"], Key="datasets/iris.csv")["Body"].read() == b"a,b\n1,2\n"
    import boto3
    import botocore.exceptions

    wrong = boto3.client("s3", **{**c["s3"], "aws_secret_access_key": "not-the-key-" + "x" * 28})
    with pytest.raises(botocore.exceptions.ClientError) as err:
        wrong.list_objects_v2(Bucket=c["bucket"])
    assert err.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_mlflow_run_artifact_lands_in_the_object_store(stack):
    c = conn(stack)
    assert urllib.request.urlopen(c["tracking"] + "/health", timeout=10).status == 200
    with pytest.raises(urllib.error.HTTPError) as denied:  # the API needs the generated credentials
        urllib.request.urlopen(c["tracking"] + "/api/2.0/mlflow/experiments/search?max_results=1", timeout=10)
    assert denied.value.code == 401
    run_id, experiment_id = log_mlflow_run(c["mlflow_env"], "e2e", 0.93)
    assert read_mlflow_metric(c["mlflow_env"], run_id) == pytest.approx(0.93)
    keys = [o["Key"] for o in s3(c).list_objects_v2(Bucket=c["bucket"], Prefix="mlflow/").get("Contents", [])]
    assert f"mlflow/{experiment_id}/{run_id}/artifacts/notes.txt" in keys
    (stack.root / "e2e-run.json").write_text(json.dumps({"run_id": run_id}))


def test_oci_artifact_push_and_pull(stack, tmp_path):
    c = conn(stack)
    uri, user, password = c["registry"]
    client = oras_client(uri, user, password)
    push_artifact(client, uri, tmp_path, "model-v1")
    assert pull_artifact(client, uri, tmp_path / "out") == "model-v1"


def test_mlserver_loads_a_model_from_its_repository_and_answers_v2_inference(stack):
    c = conn(stack)
    assert v2(c, "/v2/health/ready")[0] == 200
    model_dir = c["repository"] / "tiny"
    run_in_runtime("mlserver", f"""
        import json, os, joblib
        from sklearn.linear_model import LinearRegression
        os.makedirs({str(model_dir)!r}, exist_ok=True)
        joblib.dump(LinearRegression().fit([[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0]), {str(model_dir / "model.joblib")!r})
        json.dump({{"name": "tiny", "implementation": "mlserver_sklearn.SKLearnModel",
                   "parameters": {{"uri": "./model.joblib"}}}}, open({str(model_dir / "model-settings.json")!r}, "w"))
        print("ok")
    """)
    status, _ = v2(c, "/v2/repository/models/tiny/load", {})
    assert status == 200
    status, answer = v2(c, "/v2/models/tiny/infer", {"inputs": [
        {"name": "x", "shape": [2, 1], "datatype": "FP64", "data": [3.0, 10.0]}]})
    assert status == 200
    assert answer["outputs"][0]["data"] == pytest.approx([7.0, 21.0])


def test_the_stacks_tree_is_owner_only(stack):
    """After objects, a run with an artifact, an image and a model went in: nothing of the home the stack wrote,
    nor the home itself, can be read by the group or others (services start with a umask of 077)."""
    assert stat.S_IMODE(stack.root.stat().st_mode) == 0o700
    repository = conn(stack)["repository"]
    readable = []
    for top in (stack.stack_dir("local"), stack.state_dir):
        for path in [top, *top.rglob("*")]:
            mode = path.lstat().st_mode
            if path.is_relative_to(repository / "tiny"):  # the model folder this test wrote, as a user would,
                continue  # with its own umask: the repository around it keeps it from others
            if not stat.S_ISLNK(mode) and mode & 0o077:
                readable.append(f"{path.relative_to(stack.root)} {stat.filemode(mode)}")
    assert readable == []
    assert stat.S_IMODE(repository.stat().st_mode) == 0o700
    assert len([p for p in stack.stack_dir("local").rglob("*") if p.is_file()]) > 20  # there is data to check


def test_data_an_earlier_release_left_readable_is_tightened_on_the_next_deploy(stack):
    data = stack.stack_dir("local") / "data"
    loose = next(p for p in data.rglob("*") if p.is_file())
    loose.chmod(0o644)
    data.chmod(0o755)
    mlstack("deploy", RECIPE, "--yes")
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600 and stat.S_IMODE(data.stat().st_mode) == 0o700


def test_second_deploy_reports_no_changes(stack):
    result = mlstack_json("deploy", RECIPE)["result"]
    assert result["changed"] is False and set(result["changes"]) == {"same"}


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    return inodes


def unix_sockets(pid: int) -> list[str]:
    """Paths of the Unix sockets the process listens on."""
    inodes = _socket_inodes(pid)
    rows = [line.split() for line in Path("/proc/net/unix").read_text().splitlines()[1:]]
    return sorted({row[7] for row in rows if len(row) == 8 and row[6] in inodes and row[3] == "00010000"})  # listening


def listening(pid: int) -> list[tuple[str, int]]:
    """(address, port) of each TCP socket the process listens on, from /proc (IPv4 and IPv6)."""
    inodes = _socket_inodes(pid)
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                address, port = fields[1].split(":")
                found.append((str(ipaddress.ip_address(bytes.fromhex(address)[::-1])) if len(address) == 8
                              else address, int(port, 16)))
    return sorted(found)


def test_seaweedfs_listens_on_loopback_only_and_takes_no_unsigned_request(stack):
    """Its eight listeners (S3, and HTTP + gRPC of master, volume server, filer; gRPC of the S3 gateway) are all on
    127.0.0.1, none on the fixed Iceberg and Lance ports; the filer's HTTP API, which would serve every object, is
    off, the volume server takes only signed requests, and every gRPC port only mutual TLS."""
    c = conn(stack)
    (pid,) = service_pids(stack)["seaweedfs"]
    sockets = listening(pid)
    assert len(sockets) == 8 and {address for address, _ in sockets} == {"127.0.0.1"}, sockets
    assert not {8181, 9101} & {port for _, port in sockets}
    s3_port = int(c["s3"]["endpoint_url"].rsplit(":", 1)[1])
    refused = 0
    for _, port in sockets:
        if port == s3_port:
            continue
        try:  # the object test_object_store_put_list_get wrote, asked for without a signature
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/buckets/{c['bucket']}/datasets/iris.csv",
                                        timeout=5) as resp:
                assert resp.read() != b"a,b\n1,2\n", f"port {port} served an object without a signature"
        except (urllib.error.HTTPError, urllib.error.URLError, ConnectionError, OSError):
            refused += 1
    assert refused == 7
    run = stack.stack_dir("local") / "run" / "object_store"
    for name in ("identities.json", "security.toml", "master.toml", "ca.pem", "tls.pem", "tls.key"):
        assert stat.S_IMODE((run / name).stat().st_mode) == 0o600
    # Its four gRPC ports take mutual TLS only: the stack's certificate gets an HTTP/2 answer, none gets refused.
    flags = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    grpc = [int(f.split("=")[1]) for f in flags if ".port.grpc=" in f]
    assert len(grpc) == 4 and set(grpc) <= {port for _, port in sockets}
    for port in grpc:
        assert _h2_over_tls(port, run, with_certificate=True) == "answered", port
        assert _h2_over_tls(port, run, with_certificate=False) == "refused", port


def _h2_over_tls(port: int, run: Path, with_certificate: bool) -> str:
    import ssl

    context = ssl.create_default_context(cafile=str(run / "ca.pem"))
    context.set_alpn_protocols(["h2"])
    if with_certificate:
        context.load_cert_chain(run / "tls.pem", run / "tls.key")
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000")  # and an empty SETTINGS
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        try:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(preface)
                return "answered" if tls.recv(64) else "closed"
        except (ssl.SSLError, ConnectionError):
            return "refused"


def test_kill_9_of_each_service_then_deploy_restores_it(stack):
    before = service_pids(stack)
    assert set(before) == set(SERVICES), before
    for svc in SERVICES:
        os.killpg(before[svc][0], signal.SIGKILL)
    result = mlstack_json("deploy", RECIPE)["result"]
    # no refresh runs (the local target's processes look at themselves in their diff): each is replaced
    assert result["changes"].get("replace") == len(SERVICES) and "create" not in result["changes"], result
    after = service_pids(stack)
    assert {k: len(v) for k, v in after.items()} == {svc: 1 for svc in SERVICES}
    c = conn(stack)
    assert v2(c, "/v2/health/ready")[0] == 200
    assert s3(c).get_object(Bucket=c["bucket"], Key="datasets/iris.csv")["Body"].read() == b"a,b\n1,2\n"


def test_deploy_completes_after_mlstack_is_killed_mid_deploy(stack):
    for pids in service_pids(stack).values():
        os.killpg(pids[0], signal.SIGKILL)  # give the deploy real work to be interrupted in
    proc = subprocess.Popen([MLSTACK, "deploy", RECIPE], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    for line in proc.stderr:  # kill it once the engine is creating resources
        if line.strip().startswith("create ") or time.monotonic() > deadline:
            break
    proc.kill()  # mlstack itself, SIGKILL: no cleanup of its own
    proc.wait(timeout=30)
    result = mlstack_json("deploy", RECIPE)["result"]  # no manual step in between
    deadline = time.monotonic() + 15  # what the killed run started ends by itself (provider watchdog)
    while session_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    stragglers = session_members(proc.pid)
    stop_session(proc.pid)
    assert stragglers == [], "processes of the killed run must not linger"
    assert result["stack"] == "local"
    assert {k: len(v) for k, v in service_pids(stack).items()} == {svc: 1 for svc in SERVICES}
    assert mlstack_json("deploy", RECIPE)["result"]["changed"] is False


def test_destroy_leaves_nothing_running_and_redeploy_finds_the_data(stack, tmp_path):
    c = conn(stack)
    ports = [int(u.rsplit(":", 1)[1]) for u in (c["s3"]["endpoint_url"], c["tracking"], c["serving"], c["registry"][0])]
    sockets = unix_sockets(service_pids(stack)["seaweedfs"][0])
    assert len(sockets) == 6 and all(path.startswith("/tmp/seaweedfs-") for path in sockets), sockets
    proc = mlstack("destroy", "--stack", "local", "--json")
    down = json.loads(proc.stdout)["result"]
    # the bucket's objects stay on disk: destroy says it keeps the bucket, never that it deleted it
    assert "kept     object_store-seaweedfs-bucket-mlstack" in proc.stderr
    assert "deleted  object_store-seaweedfs-bucket" not in proc.stderr
    assert processes_of(stack.root) == []
    for port in ports:
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open"
    assert set(down["kept"]) == {"object_store", "registry", "tracking", "serving"}
    assert [path for path in sockets if Path(path).exists()] == [], "SeaweedFS's sockets in /tmp are removed"

    mlstack("deploy", RECIPE)
    c = conn(stack)
    assert s3(c).get_object(Bucket=c["bucket"], Key="datasets/iris.csv")["Body"].read() == b"a,b\n1,2\n"
    run_id = json.loads((stack.root / "e2e-run.json").read_text())["run_id"]
    assert read_mlflow_metric(c["mlflow_env"], run_id) == pytest.approx(0.93)
    uri, user, password = c["registry"]
    assert pull_artifact(oras_client(uri, user, password), uri, tmp_path / "again") == "model-v1"
