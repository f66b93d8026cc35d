"""`orchestrator: airflow` on the kubernetes target, what can be proven here without Airflow's chart (no route to
its repository from these machines, and no Go module carries it):

- as data: the values mlstack gives the chart name keys of mlstack's own Secret that exist, with values Airflow
  accepts (a Fernet key, a database URL, an S3 connection), and the DAG bundle and remote logs point at the
  stack's first bucket; with the chart in a mirror (MLSTACK_CHART_MIRROR), every value is a key its values.yaml
  documents and its values.schema.json admits;
- the database Job's script on a real PostgreSQL: the role and database are made once, a rerun changes nothing but
  the password, and Airflow's connection URL logs in;
- a mirror directory without the chart stops a deploy before anything runs (exit 3 naming the archive).

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
from tests.cloud.test_server_contract import DB_PASSWORD, postgres, postgres_bin  # noqa: F401 - the fixture
from tests.conftest import RECIPES

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
