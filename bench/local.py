"""The local target's speed and footprint against its floor, in one script, for each object store flavor
(SeaweedFS, the default, and MinIO).

floor     the same four services (the object store, registry, MLflow, MLServer) started by hand, in parallel,
          with the same runtimes and equivalent flags, until every health endpoint answers; then stopped
store     in the floor rounds: seconds from spawn until the object store alone answers
deploy    `mlstack deploy recipes/local.yaml` into a fresh home until it returns (every service ready)
no-op     a second `mlstack deploy` (each process and bucket probed in its diff; an empty update): at once, and on a stack left alone SETTLE seconds
destroy   `mlstack destroy` of the settled stack
RSS/PSS   of every process of the running stack (PSS counts shared pages once), and the object store's RSS

Runtimes and the engine must be installed already (`make install`). Medians of --rounds (default 3).
Targets (issue 3): deploy <= 1.3 x floor + 3 s; no-op <= 3 s; destroy <= 3 s; stack RSS <= 1.5 GiB.

    .venv/bin/python bench/local.py [--rounds 3] [--flavors seaweedfs,minio]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mlstack.components.generated import _certificate  # noqa: E402
from mlstack.components.local import seaweedfs  # noqa: E402
from mlstack.engine import runtimes  # noqa: E402
from mlstack.engine.pulumi_cli import find_cli  # noqa: E402
from mlstack.home import Home  # noqa: E402

from cli import compiled  # noqa: E402  (bench/: this script's directory)

MLSTACK = str(Path(sys.executable).parent / "mlstack")
SETTLE = 10.0  # seconds a running stack is left alone before the settled measurements
PREPARED = Home.from_env()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status < 500
    except urllib.error.HTTPError as e:
        return e.code < 500
    except OSError:
        return False


def object_store(flavor: str, tmp: Path, port: int) -> tuple[list[str], dict[str, str], str]:
    """(argv, environment, health URL) of the object store started by hand, with the flags mlstack gives it."""
    if flavor == "minio":
        keys = {"MINIO_ROOT_USER": KEYS[0], "MINIO_ROOT_PASSWORD": KEYS[1], "MINIO_BROWSER": "off"}
        argv = [str(runtimes.expected_path(PREPARED, "minio")), "server", "--quiet", "--address", f"127.0.0.1:{port}",
                str(tmp / "s3")]
        return argv, keys, f"http://127.0.0.1:{port}/minio/health/ready"
    (tmp / "ids.json").write_text(seaweedfs.identities(*KEYS))
    (tmp / "security.toml").write_text(seaweedfs.security_toml("bench", str(tmp)))  # read from the working directory
    for name, pem in zip(("ca.pem", "tls.pem", "tls.key"), _certificate("seaweedfs", 1), strict=True):
        (tmp / name).write_text(pem)
    (tmp / "s3").mkdir()
    side = [free_port() for _ in seaweedfs.SIDE_PORTS]
    weed = str(runtimes.expected_path(PREPARED, "seaweedfs"))
    LITTER.extend(seaweedfs.sockets(port, side))  # what it leaves in /tmp when killed, as mlstack removes it
    return seaweedfs.argv(weed, str(tmp / "s3"), str(tmp / "ids.json"), port, side), {}, f"http://127.0.0.1:{port}/healthz"


KEYS = ("benchadmin", "benchpassword123")
LITTER: list[str] = []


def floor_round(tmp: Path, flavor: str) -> tuple[float, float]:
    """Start the services by hand, in parallel; seconds until all answer, and until the object store answers."""
    rt = {n: str(runtimes.expected_path(PREPARED, n)) for n in ("registry", "mlflow", "mlserver")}
    p = {n: free_port() for n in ("s3", "registry", "mlflow", "mlserver", "grpc", "metrics")}
    (tmp / "reg.yml").write_text(json.dumps({"version": 0.1, "storage": {"filesystem": {"rootdirectory": str(tmp / "reg")}},
                                             "http": {"addr": f"127.0.0.1:{p['registry']}", "secret": "x" * 32}}))
    mlflow_env = {"PATH": f"{Path(rt['mlflow']).parent}:/usr/bin:/bin", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
                  "MLFLOW_S3_ENDPOINT_URL": f"http://127.0.0.1:{p['s3']}", "AWS_ACCESS_KEY_ID": KEYS[0],
                  "AWS_SECRET_ACCESS_KEY": KEYS[1]}
    ml_env = {"MLSERVER_HOST": "127.0.0.1", "MLSERVER_HTTP_PORT": str(p["mlserver"]), "MLSERVER_GRPC_PORT": str(p["grpc"]),
              "MLSERVER_METRICS_PORT": str(p["metrics"]), "MLSERVER_PARALLEL_WORKERS": "0",
              "MLSERVER_METRICS_DIR": str(tmp), "MLSERVER_ENVIRONMENTS_DIR": str(tmp)}
    (tmp / "models").mkdir()
    services = [
        object_store(flavor, tmp, p["s3"]),
        ([rt["registry"], "serve", str(tmp / "reg.yml")], {}, f"http://127.0.0.1:{p['registry']}/v2/"),
        ([rt["mlflow"], "server", "--host", "127.0.0.1", "--port", str(p["mlflow"]), "--workers", "1",
          "--backend-store-uri", f"sqlite:///{tmp / 'mlflow.db'}", "--artifacts-destination", "s3://mlstack/mlflow"],
         mlflow_env, f"http://127.0.0.1:{p['mlflow']}/health"),
        ([rt["mlserver"], "start", str(tmp / "models")], ml_env, f"http://127.0.0.1:{p['mlserver']}/v2/health/ready"),
    ]
    start = time.perf_counter()
    procs = [subprocess.Popen(argv, env={**os.environ, **env}, cwd=tmp, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for argv, env, _ in services]
    try:
        pending = [url for _, _, url in services]
        store_url, store_ready = services[0][2], 0.0
        deadline = start + 180
        while pending and time.perf_counter() < deadline:
            pending = [u for u in pending if not up(u)]
            if not store_ready and store_url not in pending:
                store_ready = time.perf_counter() - start
            time.sleep(0.02)
        if pending:
            raise SystemExit(f"floor: not ready: {pending}")
        return time.perf_counter() - start, store_ready
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        while LITTER:
            Path(LITTER.pop()).unlink(missing_ok=True)


@contextlib.contextmanager
def fresh_home() -> Iterator[dict[str, str]]:
    """The environment of a fresh MLSTACK_HOME that shares the prepared engine and runtimes (a user's home has its
    engine in it, found by its stamp: no `pulumi version` call); its local stack is purged afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        (home / "engine").symlink_to(PREPARED.root / "engine")
        env = {**os.environ, "MLSTACK_HOME": str(home), "MLSTACK_RUNTIMES_DIR": str(PREPARED.runtimes_dir)}
        try:
            yield env
        finally:
            subprocess.run([MLSTACK, "destroy", "--stack", "local", "--purge"], env=env, capture_output=True)


def timed(*args: str, env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run([MLSTACK, *args], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise SystemExit(f"mlstack {' '.join(args)} failed:\n{proc.stderr}")
    return time.perf_counter() - start


def stack_memory(home: Path, store: str) -> tuple[float, float, int, float]:
    """RSS and PSS (MiB) summed over the stack's processes, how many there are, and the RSS of the object store's
    (the process whose program path names the flavor's runtime)."""
    rss = pss = store_rss = 0
    count = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if str(home) not in (entry / "cmdline").read_bytes().decode(errors="replace") and \
                    str(home) not in (entry / "environ").read_bytes().decode(errors="replace"):
                continue
            rollup = (entry / "smaps_rollup").read_text()
        except OSError:
            continue
        fields = {ln.split(":")[0]: int(ln.split()[1]) for ln in rollup.splitlines()[1:] if ln.split()[-1] == "kB"}
        rss, pss, count = rss + fields.get("Rss", 0), pss + fields.get("Pss", 0), count + 1
        program = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        if f"/{store}-" in program:
            store_rss += fields.get("Rss", 0)
    return rss / 1024, pss / 1024, count, store_rss / 1024


def recipe_of(flavor: str, tmp: Path) -> str:
    """recipes/local.yaml with the object store of this flavor."""
    text = (ROOT / "recipes" / "local.yaml").read_text()
    path = tmp / f"local-{flavor}.yaml"
    path.write_text(text.replace("flavor: seaweedfs", f"flavor: {flavor}"))
    return str(path)


def measure(flavor: str, rounds: int) -> dict[str, float]:
    rows: dict[str, list[float]] = {k: [] for k in ("floor", "store", "deploy", "no-op-at-once", "no-op", "destroy",
                                                     "rss", "pss", "procs", "store-rss")}
    for i in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            floor, store = floor_round(Path(tmp), flavor)
            rows["floor"].append(floor), rows["store"].append(store)
        with tempfile.TemporaryDirectory() as tmp, fresh_home() as env:
            recipe = recipe_of(flavor, Path(tmp))
            rows["deploy"].append(timed("deploy", recipe, env=env))
            # Right after a deploy the services still warm up (MLflow migrates its databases): both are reported.
            rows["no-op-at-once"].append(timed("deploy", recipe, env=env))
            time.sleep(SETTLE)
            rss, pss, procs, store_rss = stack_memory(Path(env["MLSTACK_HOME"]), flavor)
            rows["rss"].append(rss), rows["pss"].append(pss), rows["procs"].append(procs)
            rows["store-rss"].append(store_rss)
            rows["no-op"].append(timed("deploy", recipe, env=env))
            rows["destroy"].append(timed("destroy", "--stack", "local", env=env))
        print(f"{flavor} round {i + 1}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in rows.items()), file=sys.stderr)
    return {k: statistics.median(v) for k, v in rows.items()}


def main() -> None:
    compiled()  # measured as installed: see bench/cli.py
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--flavors", default="seaweedfs,minio", help="object store flavors, comma-separated")
    args = parser.parse_args()
    cli = find_cli(PREPARED)
    if cli is None or not all(runtimes.status(PREPARED).values()):
        raise SystemExit("engine or runtimes missing: run `make install` first")
    for flavor in args.flavors.split(","):
        med = measure(flavor, args.rounds)
        print(f"local target, object store {flavor}, median of {args.rounds} rounds")
        print(f"  floor (4 services by hand, parallel) {med['floor']:6.2f} s   object store alone ready {med['store']:.2f} s")
        print(f"  mlstack deploy (fresh home)          {med['deploy']:6.2f} s   ratio deploy/floor "
              f"{med['deploy'] / med['floor']:.2f}   target <= 1.3 x floor + 3 s = {1.3 * med['floor'] + 3:.2f} s")
        print(f"  no-op redeploy, settled stack        {med['no-op']:6.2f} s   target <= 3 s")
        print(f"  no-op redeploy right after deploy    {med['no-op-at-once']:6.2f} s")
        print(f"  destroy, settled stack               {med['destroy']:6.2f} s   target <= 3 s")
        print(f"  running stack: {med['procs']:.0f} processes, RSS {med['rss']:.0f} MiB, PSS {med['pss']:.0f} MiB"
              f"   target RSS <= 1536 MiB; object store RSS {med['store-rss']:.0f} MiB")


if __name__ == "__main__":
    main()
