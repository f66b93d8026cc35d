"""The cloud MLflow server's container contract, run for real: the start script every cloud runs, with the
environment the components give it, against a real PostgreSQL (TLS on) and the real MLflow server.

Only the container runtime and the cloud are missing: the script runs under /bin/sh here with MLflow from the
local runtime (the image's `-full` variant has the PostgreSQL driver psycopg, added here from the test extra), and
artifacts go to a local directory instead of the cloud's bucket. Everything listens on 127.0.0.1 and every process
is stopped by its process group.
"""

from __future__ import annotations

import base64
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from mlstack.components import mlflow_server as srv
from tests.conftest import PREPARED_HOME
from tests.runtime_clients import log_mlflow_run, read_mlflow_metric

pytestmark = pytest.mark.timeout(300)

DB_PASSWORD = "Db-pass-0123456789abcdefXYZ"  # the fixture's own database; a cloud's is generated
ADMIN_PASSWORD = "Admin-pass-0123456789abcdefXYZ"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        pytest.fail("PostgreSQL is not installed: `make test` installs the Debian package postgresql")
    return Path(found[-1]).parent


def as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to its system user then."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def wait_for(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    pytest.fail(f"{url} not ready in {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture()
def postgres(tmp_path: Path) -> Iterator[dict]:
    """A PostgreSQL server on 127.0.0.1 with TLS, a database and a password user, as the clouds provide."""
    bindir = postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="mlstack-pg-"))  # outside pytest's 0700 tree: the postgres user enters it
    data, sock, pwfile = root / "data", root / "sock", root / "pw"
    sock.mkdir()
    pwfile.write_text(DB_PASSWORD + "\n")
    if os.geteuid() == 0:
        for path in (root, sock, pwfile):
            shutil.chown(path, "postgres")
    subprocess.run(as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", srv.DB_USER, "--pwfile", str(pwfile),
                                "--auth", "scram-sha-256", "-E", "UTF8"]), check=True, capture_output=True, timeout=120)
    subprocess.run(as_postgres(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                                "/CN=127.0.0.1", "-keyout", str(data / "server.key"), "-out", str(data / "server.crt")]),
                   check=True, capture_output=True, timeout=60)
    (data / "pg_hba.conf").write_text("hostssl all all 127.0.0.1/32 scram-sha-256\n")  # TLS or nothing
    if os.geteuid() == 0:
        shutil.chown(data / "pg_hba.conf", "postgres")
    port = free_port()
    log = root / "postgres.log"
    with log.open("w") as out:
        proc = subprocess.Popen(as_postgres([str(bindir / "postgres"), "-D", str(data), "-h", "127.0.0.1",
                                             "-p", str(port), "-k", str(sock), "-c", "ssl=on"]),
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        import psycopg

        deadline = time.monotonic() + 60
        while True:
            try:
                conn = psycopg.connect(host="127.0.0.1", port=port, user=srv.DB_USER, password=DB_PASSWORD,
                                       dbname="postgres", sslmode="require", connect_timeout=2, autocommit=True)
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail(f"PostgreSQL did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
        with conn:
            conn.execute(f"CREATE DATABASE {srv.DB_NAME}")
        yield {"port": port, "proc": proc}
    finally:
        stop(proc)
        shutil.rmtree(root, ignore_errors=True)


def driver_path(tmp_path: Path) -> str:
    """A directory holding only psycopg (from the test extra), for the MLflow runtime's PYTHONPATH."""
    import psycopg

    site = Path(psycopg.__file__).parent.parent
    target = tmp_path / "driver"
    target.mkdir()
    for path in site.glob("psycopg*"):  # packages, their libs and dist-info (SQLAlchemy checks the version)
        (target / path.name).symlink_to(path)
    return str(target)


@contextlib.contextmanager
def started(postgres: dict, tmp_path: Path, log: Path) -> Iterator[dict]:
    """The start script, with the environment a cloud component hands the container; its output in `log`."""
    mlflow = PREPARED_HOME.runtimes_dir / "mlflow-3.17.2" / "bin" / "mlflow"
    if not mlflow.exists():
        mlflow = next(PREPARED_HOME.runtimes_dir.glob("mlflow-*/bin/mlflow"), mlflow)
    port, artifacts = free_port(), tmp_path / "artifacts"
    driver = tmp_path / "driver"
    env = {
        **srv.plain_env("127.0.0.1", artifacts.as_uri(), "mlflow.example.test,127.0.0.1:*", auth=True),
        "PORT": str(port), "HOST": "127.0.0.1", "DB_PORT": str(postgres["port"]), "WORKERS": "1",
        "DB_PASSWORD": DB_PASSWORD, "MLFLOW_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "flask-secret-0123456789abcdef",
        "PATH": f"{mlflow.parent}{os.pathsep}/usr/bin:/bin",
        "PYTHONPATH": str(driver) if driver.exists() else driver_path(tmp_path),
        "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
    }
    with log.open("a") as out:
        proc = subprocess.Popen(srv.COMMAND, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                cwd=tmp_path)
    try:
        wait_for(f"http://127.0.0.1:{port}{srv.HEALTH_PATH}", proc, log)
        yield {"url": f"http://127.0.0.1:{port}", "port": port, "artifacts": artifacts, "postgres": postgres,
               "env": env, "mlflow": mlflow}
    finally:
        stop(proc)


@pytest.fixture()
def server(postgres: dict, tmp_path: Path) -> Iterator[dict]:
    with started(postgres, tmp_path, tmp_path / "mlflow.log") as running:
        yield running


def get(url: str, auth: tuple[str, str] | None = None, host: str | None = None) -> int:
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
    if host:
        request.add_header("Host", host)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_start_script_serves_mlflow_on_postgres_behind_basic_auth(server):
    search = server["url"] + "/api/2.0/mlflow/experiments/search?max_results=1"
    assert get(search) == 401, "no credentials, no access"
    assert get(search, (srv.ADMIN, "wrong-password")) == 401
    assert get(search, (srv.ADMIN, ADMIN_PASSWORD)) == 200
    assert get(search, (srv.ADMIN, ADMIN_PASSWORD), host="evil.example.test") == 403, "Host header is checked"
    assert get(search, (srv.ADMIN, ADMIN_PASSWORD), host="mlflow.example.test") == 200

    client_env = {"MLFLOW_TRACKING_URI": server["url"], "MLFLOW_TRACKING_USERNAME": srv.ADMIN,
                  srv.PASSWORD_ENV: ADMIN_PASSWORD}
    run_id, _ = log_mlflow_run(client_env, "contract", 0.91)
    assert read_mlflow_metric(client_env, run_id) == pytest.approx(0.91)
    assert list(server["artifacts"].rglob("notes.txt")), "artifacts are proxied into the artifact destination"

    import psycopg

    with psycopg.connect(host="127.0.0.1", port=server["postgres"]["port"], user=srv.DB_USER, password=DB_PASSWORD,
                         dbname=srv.DB_NAME, sslmode="require", connect_timeout=5) as conn:
        metrics = conn.execute("SELECT key, value FROM metrics WHERE run_uuid = %s", (run_id,)).fetchall()
        assert metrics == [("accuracy", pytest.approx(0.91))], "runs live in PostgreSQL"
        users = conn.execute("SELECT username, is_admin FROM users").fetchall()
        assert users == [(srv.ADMIN, True)], "the auth app's users live in the same database"


def test_a_database_an_earlier_mlflow_wrote_is_migrated_before_the_server_starts(postgres, tmp_path):
    """The database is taken one schema revision back (what an earlier image wrote): the start script migrates it
    (`mlflow db upgrade`) before it starts the server, which would refuse an out-of-date schema; runs are kept."""
    log = tmp_path / "mlflow.log"
    with started(postgres, tmp_path, log) as first:
        client_env = {"MLFLOW_TRACKING_URI": first["url"], "MLFLOW_TRACKING_USERNAME": srv.ADMIN,
                      srv.PASSWORD_ENV: ADMIN_PASSWORD}
        run_id, _ = log_mlflow_run(client_env, "migration", 0.42)
        env, mlflow = first["env"], first["mlflow"]
    assert "migrating" not in log.read_text(), "an empty database is left to the server, which creates the schema"
    uri = (f"postgresql+psycopg://{srv.DB_USER}:{DB_PASSWORD}@127.0.0.1:{postgres['port']}/{srv.DB_NAME}"
           "?sslmode=require")
    downgrade = ("import sys\nfrom alembic import command\nfrom mlflow.store.db.utils import _get_alembic_config\n"
                 "command.downgrade(_get_alembic_config(sys.argv[1]), '-1')\n")
    subprocess.run([str(mlflow.parent / "python"), "-c", downgrade, uri], env=env, check=True, capture_output=True,
                   timeout=120)
    older = _revision(postgres)

    log.write_text("")
    with started(postgres, tmp_path, log) as second:
        assert _revision(postgres) != older, "the schema is this image's again"
        client_env["MLFLOW_TRACKING_URI"] = second["url"]
        assert read_mlflow_metric(client_env, run_id) == pytest.approx(0.42), "the runs are kept"
    assert "mlstack: migrating the MLflow database to this image's schema" in log.read_text()


def _revision(postgres: dict) -> str:
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=postgres["port"], user=srv.DB_USER, password=DB_PASSWORD,
                         dbname=srv.DB_NAME, sslmode="require", connect_timeout=5) as conn:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
