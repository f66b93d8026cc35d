"""Client code run with a service runtime's own libraries (the MLflow client, scikit-learn), as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

from mlstack.engine import runtimes
from mlstack.versions import ZENML_VERSION, PythonRuntime
from tests.conftest import PREPARED_HOME

# ZenML pins many packages: it gets an environment of its own, never a dependency of mlstack. With the S3, MLflow and
# Kubernetes integrations' requirements (`zenml integration requirements ...` at this version), so their flavors load.
ZENML = PythonRuntime("zenml", ZENML_VERSION, (
    f"zenml[local]=={ZENML_VERSION}", "mlflow==3.17.2", "python-rapidjson==1.14", "s3fs==2026.9.0",
    "boto3==1.43.117", "aws-profile-manager==0.7.3", "kubernetes==25.3.0",
    # the kubeflow integration's requirements (kfp>=2.6.0, kfp-kubernetes>=1.1.0): the release of the KFP it talks to
    "kfp==2.17.3", "kfp-kubernetes==2.17.3"), "zenml")

# ZenML with its GCP integration's requirements (`zenml integration requirements gcp` at this version, each at the
# release pip chose for it on 2026-12-07), so its GCS artifact store and Artifact Registry flavors load. They pin
# gcsfs <= 2024.12.0, and so fsspec 2024.12.0, which ZENML's s3fs refuses: an environment of its own.
ZENML_GCP = PythonRuntime("zenml-gcp", ZENML_VERSION, (
    f"zenml[local]=={ZENML_VERSION}", "mlflow==3.17.2", "python-rapidjson==1.14", "kubernetes==25.3.0",
    "gcsfs==2024.12.0", "kfp==2.16.1", "urllib3==2.5.0", "grpcio==1.85.4", "google-cloud-secret-manager==2.32.0",
    "google-cloud-container==2.67.0", "google-cloud-artifact-registry==1.23.0", "google-cloud-storage==3.17.2",
    "google-cloud-aiplatform==1.165.1", "google-cloud-build==3.43.0", "google-cloud-pipeline-components==2.22.0",
    "google-cloud-run==0.16.2", "google-cloud-logging==3.17.0"), "zenml")

# The same with its Azure integration's (`zenml integration requirements azure`): Blob Storage (adlfs) and ACR
# flavors. Their pins (azure-mgmt-resource < 25, OpenTelemetry's) would move ZENML's for the other stacks.
ZENML_AZURE = PythonRuntime("zenml-azure", ZENML_VERSION, (
    f"zenml[local]=={ZENML_VERSION}", "mlflow==3.17.2", "python-rapidjson==1.14", "kubernetes==25.3.0",
    "adlfs==2026.8.0", "azure-identity==1.27.0", "azure-mgmt-containerregistry==15.0.0",
    "azure-mgmt-containerservice==41.8.0", "azure-mgmt-storage==25.3.0", "azure-mgmt-resource==24.0.0",
    "azure-storage-blob==12.31.1", "requests==2.34.2", "azure-ai-ml==1.35.2",
    "opentelemetry-instrumentation-logging==0.64b0", "opentelemetry-sdk==1.43.0", "marshmallow==3.26.2"), "zenml")

# Apache Airflow, the version of the image the airflow flavor's chart runs (versions.KUBERNETES_IMAGES["airflow"]),
# with the providers that image carries and the flavor uses (amazon: S3 DAG bundle, logs; fab: the auth manager).
# Airflow pins its dependencies with a constraints file on GitHub (unreachable here): FastAPI is pinned instead,
# since 0.156 and later refuse Airflow 3.2.2's execution API models at import.
AIRFLOW = PythonRuntime("airflow", "3.2.2", (
    "apache-airflow==3.2.2", "apache-airflow-providers-amazon==9.39.0", "apache-airflow-providers-fab==3.10.2",
    "fastapi[standard-no-fastapi-cloud-cli]==0.155.0"), "airflow")


def runtime_python(name: str) -> str:
    return str(Path(runtimes.expected_path(PREPARED_HOME, name)).parent / "python")


def run_in_runtime(name: str, code: str, env: dict | None = None) -> str:
    """The last line the code prints; `env` is added to this process's environment."""
    proc = subprocess.run([runtime_python(name), "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=180, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def log_mlflow_run(env: dict, experiment: str, accuracy: float) -> tuple[str, str]:
    """(run id, experiment id) of a run with an `accuracy` metric and a `notes.txt` artifact."""
    out = run_in_runtime("mlflow", f"""
        import json, os, tempfile, mlflow
        mlflow.set_experiment({experiment!r})
        with mlflow.start_run() as run:
            mlflow.log_metric("accuracy", {accuracy!r})
            path = os.path.join(tempfile.mkdtemp(), "notes.txt")
            open(path, "w").write("trained")
            mlflow.log_artifact(path)
        print(json.dumps([run.info.run_id, run.info.experiment_id]))
    """, env)
    run_id, experiment_id = json.loads(out)
    return run_id, experiment_id


def read_mlflow_metric(env: dict, run_id: str) -> float:
    return float(run_in_runtime("mlflow", f"""
        import mlflow
        print(mlflow.MlflowClient().get_run({run_id!r}).data.metrics["accuracy"])
    """, env))


# MLServer's XGBoost runtime, of the MLServer release the kserve flavor's image runs, beside the local MLServer
# runtime (which serves scikit-learn only), with XGBoost's CPU-only build (its full wheel pulls NCCL, hundreds of MB).
# Two XGBoost releases: the image's is one of 2.x or 3.x, and the check's model must load in both.
MLSERVER_XGBOOST = {
    "2.1.4": ("mlserver-xgboost==1.7.1", "xgboost-cpu==2.1.4"),
    "3.2.0": ("mlserver-xgboost==1.7.1", "xgboost-cpu==3.2.0"),
}
OVERLAYS = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlstack" / "test-overlays"


def xgboost_overlay(version: str) -> Path:
    """A folder of MLSERVER_XGBOOST[version] (no dependencies: the MLServer runtime has them), for PYTHONPATH;
    installed once from PyPI into the cache."""
    import shutil
    import sys
    import tempfile

    target = OVERLAYS / f"xgboost-{version}"
    if (target / "mlserver_xgboost").is_dir():
        return target
    OVERLAYS.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=OVERLAYS))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(work),
                    *MLSERVER_XGBOOST[version]], check=True, timeout=600)
    shutil.rmtree(target, ignore_errors=True)
    work.rename(target)
    return target
