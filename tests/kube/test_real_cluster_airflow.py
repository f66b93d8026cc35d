"""The airflow flavor's whole lifecycle with the real chart, on a cluster whose nodes run containers (a kind
cluster, a cloud's): deploy, `verify` (Airflow's health: its database and scheduler), a DAG uploaded where ZenML
uploads it (the object store) is parsed by Airflow's DAG processor, and `destroy --purge` leaves nothing. It needs
MLSTACK_TEST_KUBE_CONTEXT, the kubeconfig context of such a cluster (KUBECONFIG honoured), and the chart: from
airflow.apache.org, or the mirror MLSTACK_CHART_MIRROR names. It skips without that context: the test control
plane of these machines runs no container (kwok), so no Airflow process answers there (tests/kube/test_airflow.py
proves the rest on it)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from mlstack.components.kubernetes import airflow
from tests.conftest import PREPARED_HOME, RECIPES
from tests.kube.plugin_home import link_plugin
from tests.local.conftest import mlstack, mlstack_json

CONTEXT = os.environ.get("MLSTACK_TEST_KUBE_CONTEXT")
pytestmark = [
    pytest.mark.engine,
    pytest.mark.skipif(not CONTEXT, reason="needs MLSTACK_TEST_KUBE_CONTEXT: a cluster whose nodes run containers "
                                           "(the test control plane here runs none, so no Airflow answers there)"),
]
DAG = '''
from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG("mlstack_probe", start_date=datetime(2026, 1, 1), schedule=None):
    EmptyOperator(task_id="nothing")
'''


def _kubectl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kubectl", f"--context={CONTEXT}", *args], capture_output=True, text=True, timeout=300,
                          input=stdin)


@pytest.mark.timeout(3600)
def test_airflow_deploys_answers_reads_a_dag_from_the_object_store_and_is_purged(engine_home, tmp_path: Path):
    assert link_plugin(PREPARED_HOME.pulumi_home, engine_home.pulumi_home), "`mlstack doctor --fix` installs the plugin"
    name = "airflow-real"
    text = (RECIPES / "kubernetes-airflow.yaml").read_text().replace("name: mlops-airflow", f"name: {name}")
    recipe = tmp_path / f"{name}.yaml"
    recipe.write_text(text.replace("  namespace: mlops-airflow\n", f"  namespace: {name}\n  context: {CONTEXT}\n"))
    try:
        mlstack_json("deploy", str(recipe), "--yes", timeout=2400)
        checks = {c["kind"]: c for c in mlstack_json("verify", str(recipe), timeout=600)["result"]["checks"]}
        assert checks["orchestrator"]["ok"]
        assert "metadatabase, scheduler, dag_processor, triggerer healthy" in checks["orchestrator"]["detail"]

        # a DAG put where ZenML puts its archives, with the stack's own keys, from inside the cluster
        client = json.loads(mlstack("output", str(recipe)).stdout)["components"]["orchestrator"]
        bucket, _, prefix = client["dags_uri"].removeprefix("s3://").partition("/")
        done = _kubectl("-n", name, "exec", "deploy/airflow-scheduler", "-c", "scheduler", "--", "python", "-c",
                        "import sys; from airflow.providers.amazon.aws.hooks.s3 import S3Hook; "
                        f"S3Hook(aws_conn_id={airflow.CONNECTION!r}).load_string(sys.stdin.read(), "
                        f"{prefix + 'mlstack_probe.py'!r}, {bucket!r}, replace=True)", stdin=DAG)
        assert done.returncode == 0, done.stderr
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            listed = _kubectl("-n", name, "exec", "deploy/airflow-scheduler", "-c", "scheduler", "--", "airflow",
                              "dags", "list", "-o", "json")
            if listed.returncode == 0 and any(d["dag_id"] == "mlstack_probe" for d in json.loads(listed.stdout)):
                break
            time.sleep(15)
        else:
            pytest.fail("Airflow did not read the DAG from the object store in 10 minutes")
        last = mlstack_json("destroy", str(recipe), "--yes", "--purge", timeout=1800)["result"]
        assert last["deleted_data"]
        assert _kubectl("get", "namespace", name).returncode != 0
    finally:
        mlstack("destroy", str(recipe), "--yes", "--purge", check=False, timeout=1800)
