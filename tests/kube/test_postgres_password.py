"""The in-cluster PostgreSQL (tracking: mlflow) takes its owner's password from the stack's Secret on every start, not
only when its volume is new: `destroy` keeps the volume, and a redeploy generates a new password. The `postStart`
script runs here against a real PostgreSQL set up as the official image sets it up (the owner made with the first
password, its socket trusted, TCP by password), with the second password in the environment as the Secret gives it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from mlstack.components import mlflow_server as srv
from mlstack.components.kubernetes.tracking import password_sync_script
from tests.cloud.test_server_contract import as_postgres, free_port, postgres_bin, stop

FIRST, SECOND = "first-password-made-with-the-volume", "second-password-of-the-redeploy"


def _login(port: int, password: str) -> bool:
    import psycopg

    try:
        psycopg.connect(host="127.0.0.1", port=port, user=srv.DB_USER, password=password, dbname="postgres",
                        sslmode="disable", connect_timeout=5).close()
        return True
    except psycopg.OperationalError:
        return False


@pytest.mark.timeout(300)
def test_a_kept_volume_takes_the_password_of_the_current_deploy():
    bindir = postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="mlstack-pg-"))  # outside pytest's 0700 tree: the postgres user enters it
    data, sock, pwfile, log = root / "data", root / "sock", root / "pw", root / "postgres.log"
    sock.mkdir()
    pwfile.write_text(FIRST + "\n")
    if os.geteuid() == 0:
        for path in (root, sock, pwfile):
            shutil.chown(path, "postgres")
    subprocess.run(as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", srv.DB_USER, "--pwfile", str(pwfile),
                                "--auth-local", "trust", "--auth-host", "scram-sha-256", "-E", "UTF8"]),
                   check=True, capture_output=True, timeout=120)
    port = free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(as_postgres([str(bindir / "postgres"), "-D", str(data), "-h", "127.0.0.1",
                                             "-p", str(port), "-k", str(sock)]),
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not _login(port, FIRST):
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()[-3000:]
            time.sleep(0.3)
        env = {"PATH": f"{bindir}:/usr/bin:/bin", "PGHOST": str(sock), "PGPORT": str(port),
               "POSTGRES_USER": srv.DB_USER, "POSTGRES_PASSWORD": SECOND}
        done = subprocess.run(as_postgres(["env", *(f"{k}={v}" for k, v in env.items()), "sh", "-c",
                                           password_sync_script()]), capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert _login(port, SECOND) and not _login(port, FIRST)
        # run again (every start runs it): nothing changes
        done = subprocess.run(as_postgres(["env", *(f"{k}={v}" for k, v in env.items()), "sh", "-c",
                                           password_sync_script()]), capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and _login(port, SECOND)
        # a server that never answers: the hook gives up and exits 0 (a failed hook would kill the container)
        started = time.monotonic()
        done = subprocess.run(as_postgres(["env", *(f"{k}={v}" for k, v in {**env, "PGHOST": str(root / "none")}
                                                    .items()), "sh", "-c", password_sync_script(tries=2)]),
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and time.monotonic() - started < 30
    finally:
        stop(proc)
        shutil.rmtree(root, ignore_errors=True)
