"""`orchestrator: airflow` on the kubernetes target, what can be proven here without Airflow's chart (no route to
its repository from these machines, and no Go module carries it):

- as data: the values mlstack gives the chart name keys of mlstack's own Secret that exist, with values Airflow
  accepts (a Fernet key, a database URL, an S3 connection), and the DAG bundle and remote logs point at the
  stack's first bucket; with the chart in a mirror (MLSTACK_CHART_MIRROR), every value is a key its values.yaml
  documents and its values.schema.json admits;
- the database Job's script on a real PostgreSQL: the role and database are made once, a rerun changes nothing but
  the password, and Airflow's connection URL logs in;
- a mirror directory without the chart stops a deploy before anything runs (exit 3 naming the archive);
- Airflow itself (the image's version, from PyPI) with the configuration mlstack gives the chart, against a real
  SeaweedFS: `verify`'s check, mlstack's admin script, a DAG archive read from the store, a run, its log in the store;
- with the chart in a mirror: the chart through the engine on the real API server (Pod Security `restricted`).

mlstack's own objects (Secret, Jobs, service account, NetworkPolicies) are applied to the real API server by
tests/kube/test_manifests.py; ZenML's import of the stack file is tests/kube/test_zenml_import.py; the whole
lifecycle with the real chart is tests/kube/test_real_cluster_airflow.py."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from mlstack.components.kubernetes import airflow
from mlstack.components.kubernetes.addons import MIRROR_ENV
from mlstack.engine.offline import Plan, plan
from mlstack.recipe.loader import load_recipe
from mlstack.versions import CHARTS
from tests.cloud.test_server_contract import DB_PASSWORD, free_port, postgres, postgres_bin, stop  # noqa: F401
from tests.conftest import RECIPES
from tests.local.conftest import local_home  # noqa: F401 - the fixture

RECIPE = RECIPES / "kubernetes-airflow.yaml"


@cache
def planned() -> Plan:
    return plan(load_recipe(RECIPE))


def _values() -> dict:
    return next(r for r in planned().resources if r.type == "kubernetes:helm.sh/v4:Chart").inputs["values"]


def _secret(name: str) -> dict[str, str]:
    return next(r for r in planned().of_type("kubernetes:core/v1:Secret")
                if r.inputs["metadata"]["name"] == name).raw["stringData"]


def test_the_chart_reads_mlstack_s_secret_by_name_with_values_airflow_accepts():
    from cryptography.fernet import Fernet

    values, secret = _values(), _secret(airflow.SECRETS)
    # the chart's fixed key names, in the Secret its values name
    assert values["data"]["metadataSecretName"] == airflow.SECRETS and "connection" in secret
    for value, key in (("fernetKeySecretName", "fernet-key"), ("apiSecretKeySecretName", "api-secret-key"),
                       ("jwtSecretName", "jwt-secret")):
        assert values[value] == airflow.SECRETS and len(secret[key]) >= 43
    assert all(e["secretName"] == airflow.SECRETS and e["secretKey"] in secret for e in values["secret"])
    Fernet(secret["fernet-key"].encode())  # raises on a key that is not 32 bytes of URL-safe base64

    url = urlsplit(secret["connection"])
    namespace = load_recipe(RECIPE).target.namespace
    assert (url.scheme, url.username, url.password, url.path) == (
        "postgresql", airflow.DB_USER, secret["db-password"], f"/{airflow.DB_NAME}")
    assert (url.hostname, url.port) == (f"mlflow-postgres.{namespace}.svc.cluster.local", 5432)

    connection = json.loads(secret["s3-connection"])
    store = next(r for r in planned().of_type("kubernetes:core/v1:Secret")
                 if r.inputs["metadata"]["name"] == "seaweedfs-credentials").raw["stringData"]
    assert connection["conn_type"] == "aws"
    assert (connection["login"], connection["password"]) == (store["root-user"], store["root-password"])
    assert connection["extra"]["endpoint_url"] == f"http://seaweedfs.{namespace}.svc.cluster.local:8333"
    assert values["secret"][0]["envName"] == f"AIRFLOW_CONN_{airflow.CONNECTION.upper()}"


def test_dags_and_logs_are_in_the_stack_s_first_bucket_and_nothing_runs_outside_the_stack():
    values, client = _values(), planned().outputs["mlstack"]["components"]["orchestrator"]
    bundle = values["dagProcessor"]["dagBundleConfigList"][0]
    assert bundle["classpath"] == "airflow.providers.amazon.aws.bundles.s3.S3DagBundle"
    assert bundle["kwargs"] == {"aws_conn_id": airflow.CONNECTION, "bucket_name": "mlstack",
                                "prefix": "airflow/dags", "refresh_interval": 60}
    assert client["dags_uri"] == "s3://mlstack/airflow/dags/"
    assert values["config"]["logging"] == {"remote_logging": "True", "remote_log_conn_id": airflow.CONNECTION,
                                           "remote_base_log_folder": "s3://mlstack/airflow/logs"}
    assert values["executor"] == "KubernetesExecutor"
    # the stack's PostgreSQL, not the chart's; no Celery broker; v4 runs no Helm hook, so the jobs are plain
    assert [values[k]["enabled"] for k in ("postgresql", "redis", "statsd", "pgbouncer")] == [False] * 4
    for job in ("migrateDatabaseJob", "createUserJob"):
        assert values[job]["useHelmHooks"] is False and values[job]["applyCustomEnv"] is False
    # the admin Job mlstack runs uses the auth manager the chart is configured with
    admin = next(r for r in planned().of_type("kubernetes:batch/v1:Job")
                 if r.inputs["metadata"]["name"] == "airflow-admin")
    env = {e["name"]: e for e in admin.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["AIRFLOW__CORE__AUTH_MANAGER"]["value"] == values["config"]["core"]["auth_manager"]
    assert env["ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": airflow.SECRETS, "key": "admin-password"}
    assert client["url"] == f"http://airflow-api-server.{load_recipe(RECIPE).target.namespace}.svc.cluster.local:8080"


def _mirror_archive() -> Path | None:
    where = os.environ.get(MIRROR_ENV)
    archive = Path(where).expanduser() / CHARTS["airflow"].archive if where and "://" not in where else None
    return archive if archive and archive.is_file() else None


needs_chart = pytest.mark.skipif(
    _mirror_archive() is None, reason=f"needs Airflow's chart {CHARTS['airflow'].archive} in the mirror directory "
    f"${MIRROR_ENV} (`mlstack doctor --fix` fills it where airflow.apache.org is reachable; it is not from these "
    "machines, and no Go module carries the chart)")


@needs_chart
def test_the_values_are_keys_the_chart_documents_and_its_schema_admits():
    import jsonschema

    archive = _mirror_archive()
    assert archive is not None
    with tarfile.open(archive) as tar:
        def member(name: str) -> bytes:
            found = tar.extractfile(f"airflow/{name}")
            assert found is not None, name
            return found.read()

        documented = yaml.safe_load(member("values.yaml"))
        schema = json.loads(member("values.schema.json"))
    given = _values()

    def check(ours: dict, theirs: object, path: str) -> None:
        for key, value in ours.items():
            if not isinstance(theirs, dict) or not theirs:  # an open map of the chart's (labels, config sections)
                return
            assert key in theirs, f"{path}{key} is not in the chart's values.yaml"
            if isinstance(value, dict):
                check(value, theirs[key], f"{path}{key}.")

    check({k: v for k, v in given.items() if k not in ("config", "labels")}, documented, "")

    def merged(base: object, over: object) -> object:
        if isinstance(base, dict) and isinstance(over, dict):
            return {**base, **{k: merged(base.get(k), v) for k, v in over.items()}}
        return over

    jsonschema.validate(merged(documented, given), schema)


def test_the_database_job_makes_airflow_s_database_once_and_sets_its_password(postgres, tmp_path):  # noqa: F811
    import psycopg

    from mlstack.components import mlflow_server as srv

    bindir = postgres_bin()
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "PGHOST": "127.0.0.1",
           "PGPORT": str(postgres["port"]), "PGUSER": srv.DB_USER, "PGDATABASE": "postgres",
           "PGPASSWORD": DB_PASSWORD, "PGSSLMODE": "require", "PGCONNECT_TIMEOUT": "5"}

    def run(password: str) -> None:
        done = subprocess.run(["/bin/sh", "-c", airflow._database_script()], env={**env, "AIRFLOW_DB_PASSWORD":
                              password}, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert password not in done.stdout + done.stderr

    def login(password: str) -> str:
        with psycopg.connect(host="127.0.0.1", port=postgres["port"], user=airflow.DB_USER, password=password,
                             dbname=airflow.DB_NAME, sslmode="require", connect_timeout=5) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS probe (id int)")  # the owner may create its tables
            return conn.execute("SELECT current_user, current_database()").fetchone()[0]

    run("First-pass-0123456789abcdefXYZ")
    assert login("First-pass-0123456789abcdefXYZ") == airflow.DB_USER
    run("Second-pass-0123456789abcdefXYZ")  # a rerun (a redeploy, a retried pod) keeps the database
    assert login("Second-pass-0123456789abcdefXYZ") == airflow.DB_USER
    with pytest.raises(psycopg.OperationalError):
        login("First-pass-0123456789abcdefXYZ")
    with psycopg.connect(host="127.0.0.1", port=postgres["port"], user=airflow.DB_USER,
                         password="Second-pass-0123456789abcdefXYZ", dbname=airflow.DB_NAME, sslmode="require") as c:
        assert c.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'probe'").fetchone()[0] == 1


def test_a_mirror_without_the_chart_stops_a_deploy_before_anything_runs(plugin_home, control_plane, tmp_path,
                                                                        monkeypatch):
    from tests.local.conftest import mlstack

    monkeypatch.setenv(MIRROR_ENV, str(tmp_path / "mirror"))
    (tmp_path / "mirror").mkdir()
    done = mlstack("deploy", str(RECIPE), "--yes", "--json", check=False, timeout=120)
    assert done.returncode == 3, done.stdout + done.stderr
    [error] = json.loads(done.stdout)["errors"]
    assert CHARTS["airflow"].archive in error["message"]
    assert "helm pull airflow --repo https://airflow.apache.org --version 1.22.0" in error["hint"]
    namespace = load_recipe(RECIPE).target.namespace
    assert control_plane.kubectl("get", "namespace", namespace, "--ignore-not-found", "-o", "name").stdout == ""
    assert not plugin_home.stack_dir(load_recipe(RECIPE).name).joinpath("run").exists()


@pytest.mark.engine
@pytest.mark.timeout(1500)
@needs_chart
def test_the_chart_through_the_engine_on_a_real_api_server(plugin_home, control_plane, tmp_path, monkeypatch):
    """With the chart in a mirror: a deploy installs it next to mlstack's own objects, every object it renders is
    admitted under Pod Security `restricted`, its migration Job and mlstack's admin Job complete (the test control
    plane's node completes pods without running them), a second deploy changes nothing, and a purge leaves
    nothing. That Airflow then answers is the real-cluster test's (tests/kube/test_real_cluster_airflow.py)."""
    from tests.local.conftest import mlstack_json

    archive = _mirror_archive()
    assert archive is not None
    monkeypatch.setenv(MIRROR_ENV, str(archive.parent))
    cp, name = control_plane, "airflow-engine"
    text = RECIPE.read_text().replace("name: mlops-airflow", f"name: {name}")
    recipe = tmp_path / f"{name}.yaml"
    recipe.write_text(text.replace("  namespace: mlops-airflow\n", f"  namespace: {name}\n  context: {cp.context}\n"))
    try:
        mlstack_json("deploy", str(recipe), "--yes", timeout=1200)
        deployments = {d["metadata"]["name"]: d for d in json.loads(
            cp.kubectl("-n", name, "get", "deploy", "-o", "json").stdout)["items"]}
        assert {"airflow-scheduler", "airflow-api-server", "airflow-dag-processor", "airflow-triggerer"} <= set(
            deployments)
        assert all(d["status"].get("readyReplicas") == d["spec"]["replicas"] for d in deployments.values())
        for job in ("airflow-run-airflow-migrations", "airflow-admin", "airflow-database"):
            cp.kubectl("-n", name, "wait", "--for=condition=complete", f"job/{job}", "--timeout=120s")
        pods = json.loads(cp.kubectl("-n", name, "get", "pods", "-l", "tier=airflow", "-o", "json").stdout)["items"]
        assert pods and all(p["metadata"]["labels"].get("mlstack.dev/pipeline") == "true" for p in pods)
        api = deployments["airflow-api-server"]["spec"]["template"]["metadata"]["labels"]
        assert api["app.kubernetes.io/name"] == airflow.API_APP  # the label the stack's network policies select
        # the chart made no Secret of its own: it reads mlstack's
        secrets = json.loads(cp.kubectl("-n", name, "get", "secrets", "-o", "json").stdout)["items"]
        assert not [s["metadata"]["name"] for s in secrets if s["metadata"]["name"].startswith("airflow-")
                    and s["metadata"]["name"] != airflow.SECRETS and s["type"] == "Opaque"]
        again = mlstack_json("deploy", str(recipe), "--yes", timeout=600)["result"]
        assert again["changed"] is False, again["changes"]
    finally:
        mlstack_json("destroy", str(recipe), "--yes", "--purge", timeout=900)
    left = cp.kubectl("get", "namespace", name, "--ignore-not-found", "-o", "name").stdout.strip()
    assert left == ""


# -- with Airflow itself ---------------------------------------------------------------------------------------


def _airflow_env(values: dict, store: dict, home: Path, port: int) -> dict[str, str]:
    """What the chart gives Airflow's containers from mlstack's values, as Airflow reads it: `config` sections as
    AIRFLOW__SECTION__KEY, the DAG bundle list as JSON, the `secret` entries from mlstack's Secret (here the object
    store's connection, made by the flavor's own function). The executor is the local one: the KubernetesExecutor
    needs a cluster that runs pods."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    for section, options in values["config"].items():
        env.update({f"AIRFLOW__{section.upper()}__{key.upper()}": str(v) for key, v in options.items()})
    bundles = json.loads(json.dumps(values["dagProcessor"]["dagBundleConfigList"]))
    for bundle in bundles:
        bundle["kwargs"]["refresh_interval"] = 5  # the recipe's is a minute: the test looks sooner
    connection = airflow.s3_connection(store["key"], store["secret"], store["endpoint"])
    assert [e["envName"] for e in values["secret"]] == [f"AIRFLOW_CONN_{airflow.CONNECTION.upper()}"]
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(home / "bundles"),
        f"AIRFLOW_CONN_{airflow.CONNECTION.upper()}": connection,
    })
    return env


PROBE_DAG = '''
from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator

with DAG("mlstack_probe", start_date=datetime(2026, 1, 1), schedule=None):
    PythonOperator(task_id="hello", python_callable=lambda: print("hello from mlstack"))
'''


@pytest.mark.timeout(900)
def test_airflow_answers_verify_reads_a_dag_archive_from_the_store_and_logs_there(local_home, tmp_path):  # noqa: F811
    """Airflow (the chart's image's version, from PyPI) with the configuration mlstack gives the chart, against a
    real SeaweedFS (the local target's): mlstack's admin Job script makes the admin, then gives it a new password
    (the admin logs in to the API with it, not the old one), `verify`'s check passes
    on its health, a DAG archive put where ZenML puts them is parsed from the object store, its run succeeds,
    and the task's log lands in the store. Every process listens on 127.0.0.1 and is stopped by its group."""
    import time
    import zipfile

    import boto3

    from mlstack.clients.models import OrchestratorClient
    from mlstack.clients.verify import check_airflow
    from mlstack.engine.runtimes import ensure_runtime
    from tests.conftest import PREPARED_HOME
    from tests.local.conftest import mlstack
    from tests.runtime_clients import AIRFLOW

    bindir = ensure_runtime(PREPARED_HOME, AIRFLOW, print).parent
    recipe = tmp_path / "store.yaml"
    recipe.write_text("apiVersion: mlstack/v1\nname: afstore\ntarget: local\ncomponents:\n"
                      "  object_store: {flavor: seaweedfs, buckets: [mlstack]}\n")
    mlstack("deploy", str(recipe), "--yes", "--json", timeout=300)
    out = json.loads(mlstack("output", "--stack", "afstore", "--show-secrets").stdout)
    client = out["components"]["object_store"]
    store = {"key": client["access_key_id"], "secret": out["secrets"][client["secret_access_key"]["output"]],
             "endpoint": client["endpoint_url"]}
    home, port = tmp_path / "airflow", free_port()
    home.mkdir()
    values = _values()
    env = _airflow_env(values, store, home, port)
    cli = str(bindir / "airflow")

    def run(*args: str, extra: dict | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([cli, *args], env={**env, **(extra or {})}, capture_output=True, text=True,
                              timeout=300, cwd=home)

    assert run("db", "migrate").returncode == 0
    first, second = "Admin-pass-0123456789abcdefXYZ", "Other-pass-0123456789abcdefXYZ"
    for password in (first, second):  # made, then given the password a redeploy generated (the user is kept)
        done = subprocess.run(["/bin/sh", "-c", airflow._admin_script()], capture_output=True, text=True, timeout=300,
                              env={**env, "ADMIN_PASSWORD": password, "PATH": f"{bindir}:{env['PATH']}"}, cwd=home)
        assert done.returncode == 0, done.stdout + done.stderr
        assert password not in done.stdout + done.stderr
    processes = []
    try:
        for argv in (["api-server", "--host", "127.0.0.1", "--port", str(port)], ["scheduler", "--skip-serve-logs"],
                     ["dag-processor"]):
            log = (home / f"{argv[0]}.log").open("w")
            processes.append(subprocess.Popen([cli, *argv], env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT,
                                              start_new_session=True))
        url = f"http://127.0.0.1:{port}"
        deadline, detail = time.monotonic() + 180, ""
        while time.monotonic() < deadline:
            try:
                detail = check_airflow(OrchestratorClient(flavor="airflow", url=url), {})
                break
            except (OSError, RuntimeError, ValueError):
                assert all(p.poll() is None for p in processes), (home / "api-server.log").read_text()[-3000:]
                time.sleep(2)
        assert detail == f"metadatabase, scheduler, dag_processor healthy at {url}"  # no triggerer runs here

        def token(password: str) -> int:  # the admin's login to Airflow's API (the auth manager's token endpoint)
            import urllib.error
            import urllib.request

            request = urllib.request.Request(f"{url}/auth/token", method="POST", headers={
                "Content-Type": "application/json"}, data=json.dumps({"username": airflow.ADMIN,
                                                                       "password": password}).encode())
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    assert json.loads(answer.read())["access_token"]
                    return answer.status
            except urllib.error.HTTPError as exc:
                return exc.code

        assert token(second) in (200, 201) and token(first) == 401

        s3 = boto3.client("s3", endpoint_url=store["endpoint"], aws_access_key_id=store["key"],
                          aws_secret_access_key=store["secret"], region_name="us-east-1")
        archive = tmp_path / "mlstack_probe.zip"
        with zipfile.ZipFile(archive, "w") as z:  # what ZenML uploads: a zip with the DAG file at its root
            z.writestr("dag.py", PROBE_DAG)
        bucket, _, prefix = planned().outputs["mlstack"]["components"]["orchestrator"]["dags_uri"].removeprefix(
            "s3://").partition("/")
        s3.upload_file(str(archive), bucket, prefix + archive.name)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            listed = run("dags", "list", "-o", "json")
            if listed.returncode == 0 and '"mlstack_probe"' in listed.stdout:
                break
            time.sleep(3)
        else:
            pytest.fail("the DAG archive was not read: " + (home / "dag-processor.log").read_text()[-3000:])
        assert run("dags", "unpause", "mlstack_probe").returncode == 0
        assert run("dags", "trigger", "mlstack_probe").returncode == 0
        deadline, state = time.monotonic() + 240, ""
        while time.monotonic() < deadline and state not in ("success", "failed"):
            time.sleep(3)
            runs = run("dags", "list-runs", "mlstack_probe", "-o", "json")
            state = json.loads(runs.stdout.strip().splitlines()[-1])[0]["state"] if runs.returncode == 0 else ""
        assert state == "success", (home / "scheduler.log").read_text()[-3000:]
        folder = values["config"]["logging"]["remote_base_log_folder"].removeprefix(f"s3://{bucket}/")
        deadline, logs = time.monotonic() + 120, []
        while time.monotonic() < deadline and not logs:  # uploaded once the task's process has ended
            logs = [o for o in s3.list_objects_v2(Bucket=bucket, Prefix=folder).get("Contents", [])
                    if "dag_id=mlstack_probe" in o["Key"] and o["Size"] > 0]
            time.sleep(2)
        assert logs, (home / "scheduler.log").read_text()[-3000:]
    finally:
        for process in processes:
            stop(process)  # its process group: TERM, then KILL what is left
        mlstack("destroy", "--stack", "afstore", "--yes", "--purge", check=False, timeout=300)


def test_overlapping_prefixes_are_exit_2_naming_the_line_and_field(home, tmp_path):
    from typer.testing import CliRunner

    from mlstack.cli import app
    from tests.conftest import state_files

    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE.read_text().replace("    dags_prefix: airflow/dags\n", "    dags_prefix: airflow\n"))
    line_of = next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if ln.strip() == "orchestrator:")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert line.startswith(f"{path}:{line_of}: components.orchestrator: ") and "overlap" in line
    assert state_files(home) == []


def test_an_invalid_prefix_is_one_line_though_the_cross_prefix_rule_cannot_read_it(home, tmp_path):
    """The loader's lenient settings leave an invalid field out: the model-level rule that reads it is skipped, not
    crashed, and not misled by the field's default."""
    from typer.testing import CliRunner

    from mlstack.cli import app

    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE.read_text().replace("    dags_prefix: airflow/dags\n", '    dags_prefix: "bad prefix!"\n'))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert "components.orchestrator.dags_prefix: must be letters" in line


def test_verify_and_connect_reach_airflow_s_api_server_through_a_forward():
    """`mlstack connect` (and `verify`) forward to the chart's api-server Service (its name and port, as the chart
    names them for a release called `airflow`) and point the client's URL at it."""
    from mlstack.components.kubernetes.connect import at_local_ports, forwards

    recipe = load_recipe(RECIPE)
    clients = planned().outputs["mlstack"]["components"]
    [forward] = [f for f in forwards(recipe.target, recipe.name, clients) if f.kind == "orchestrator"]
    assert (forward.service, forward.port, forward.namespace) == ("airflow-api-server", 8080, recipe.target.namespace)
    assert at_local_ports(clients, {forward: 41234})["orchestrator"]["url"] == "http://127.0.0.1:41234"
    assert clients["orchestrator"]["username"] == airflow.ADMIN
    assert clients["orchestrator"]["password"] == {"output": airflow.PASSWORD_OUTPUT, "env": airflow.PASSWORD_ENV}
