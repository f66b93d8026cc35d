"""ZenML's own `stack import` takes the stack file the kubernetes recipes emit: the Kubernetes orchestrator with our
context, namespace, service accounts and pod settings (or the airflow one with its pod operator's, or the kubeflow
one with KFP's API server, its integration's requirements installed), the S3 artifact store on the store's
in-cluster address (beside a managed cluster: the cloud's store and registry flavors, no credentials in them), the
MLflow tracker, the registry; the secrets it refers to are created with the commands the file prints."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from mlstack.clients.models import StackClients
from mlstack.clients.render import render
from mlstack.engine.offline import plan
from mlstack.engine.runtimes import ensure_runtime
from mlstack.recipe.loader import load_recipe
from tests.conftest import PREPARED_HOME, RECIPES
from tests.runtime_clients import ZENML, ZENML_AZURE, ZENML_GCP

# Beside a managed cluster, the cloud's store and registry, reached by the pods' and nodes' identities: no store or
# registry secret. ZenML's flavors of them, each from its integration (in a runtime with that integration's pins).
CLOUD = {"eks": ("s3", "aws", ZENML), "gke": ("gcp", "gcp", ZENML_GCP), "aks": ("azure", "azure", ZENML_AZURE)}


@pytest.mark.parametrize("name", ["kubernetes", "kind", "kubernetes-kserve", "kubernetes-airflow",
                                  "kubernetes-kubeflow", "eks", "gke", "aks"])
@pytest.mark.timeout(900)
def test_zenml_imports_the_kubernetes_stack_file(name: str, tmp_path: Path):
    from ruamel.yaml import YAML

    store_flavor, registry_flavor, runtime = CLOUD.get(name, ("s3", "default", ZENML))
    zenml = str(ensure_runtime(PREPARED_HOME, runtime, print))
    env = {**os.environ, "ZENML_CONFIG_PATH": str(tmp_path / "zenml"), "ZENML_ANALYTICS_OPT_IN": "false",
           "AUTO_OPEN_DASHBOARD": "false"}
    recipe = load_recipe(RECIPES / f"{name}.yaml")
    clients = StackClients.model_validate(plan(recipe).outputs["mlstack"])
    text = render(clients, {}, "zenml")
    stack_file = tmp_path / "stack.yaml"
    stack_file.write_text(text)
    commands = [ln.removeprefix("#   ") for ln in text.splitlines() if ln.startswith("#   zenml secret create")]
    keyless = name in CLOUD
    assert len(commands) == (1 if keyless else 2)
    for cmd in commands:  # what the file tells a user to run, with stand-in values for the variables it reads
        filled = re.sub(r'"\$[A-Z_]+"', "stand-in-value", cmd).replace("zenml ", zenml + " ", 1)
        done = subprocess.run(["bash", "-c", filled], capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr + done.stdout
    done = subprocess.run([zenml, "stack", "import", recipe.name, "-f", str(stack_file)], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr + done.stdout
    exported = tmp_path / "exported.yaml"
    subprocess.run([zenml, "stack", "export", recipe.name, str(exported)], check=True, capture_output=True, env=env,
                   timeout=300)
    components = YAML(typ="safe").load(exported.read_text())["components"]
    flavor = recipe.components.orchestrator.flavor
    assert {t: [c["flavor"] for c in cs] for t, cs in components.items()} == {
        "artifact_store": [store_flavor], "container_registry": [registry_flavor],
        "experiment_tracker": ["mlflow"],
        "image_builder": ["local"], "orchestrator": [flavor]}
    orchestrator = components["orchestrator"][0]["configuration"]
    namespace = recipe.target.namespace or recipe.name
    if flavor == "airflow":  # steps are KubernetesPodOperator pods; DAGs go to the object store
        assert orchestrator["local"] is False and orchestrator["operator"].endswith(".KubernetesPodOperator")
        args = orchestrator["operator_args"]
        assert args["namespace"] == namespace and args["service_account_name"] == "zenml-steps"
        assert args["labels"] == {"mlstack.dev/pipeline": "true"}
        assert args["image_pull_secrets"] == [{"name": "registry-pull"}]
        assert orchestrator["dag_output_dir"] == "s3://mlstack/airflow/dags"
    elif flavor == "kubeflow":  # KFP's API server by its address (`mlstack connect` forwards it); its namespace
        assert orchestrator["kubeflow_hostname"] == f"http://ml-pipeline.{namespace}.svc.cluster.local:8888"
        assert orchestrator["kubeflow_namespace"] == namespace
        assert "kubernetes_context" not in orchestrator  # the service proxy it would take is denied by the policies
        # the integration's requirements are installed: ZenML loads its orchestrator, which imports kfp
        done = subprocess.run([str(Path(zenml).with_name("python")), "-c",
                               "from zenml.integrations.kubeflow.orchestrators import KubeflowOrchestrator; "
                               "import kfp, kfp.kubernetes; print(kfp.__version__)"],
                              capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0 and done.stdout.strip() == "2.17.3", done.stderr
    else:
        assert orchestrator["kubernetes_namespace"] == namespace
        assert orchestrator["service_account_name"] == "zenml-pipelines"
        assert orchestrator["step_pod_service_account_name"] == "zenml-steps"
        assert orchestrator["pass_zenml_token_as_secret"] is True
        wi = {"azure.workload.identity/use": "true"} if name == "aks" else {}  # AKS' webhook injects the token
        assert orchestrator["pod_settings"]["labels"] == {"mlstack.dev/pipeline": "true", **wi}
        assert orchestrator["pod_settings"]["image_pull_secrets"] == ([] if keyless else ["registry-pull"])
        steps, pipeline = orchestrator["pod_settings"], orchestrator["orchestrator_pod_settings"]
        if keyless:  # the steps run on the GPU pool: ZenML takes its selector, tolerations and GPU limit
            assert steps["node_selectors"] == {"mlstack.dev/pool": "gpu"}
            gpu = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
            spot = {"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot",
                    "effect": "NoSchedule"}  # the aks recipe's GPU pool is spot: AKS taints such nodes
            assert steps["tolerations"] == ([gpu, spot] if name == "aks" else [gpu])
            assert steps["resources"] == {"limits": {"nvidia.com/gpu": "1"}}
            # an autoscaled cluster: a scale-down does not evict a running step
            assert steps["annotations"] == {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}
        assert not pipeline.get("node_selectors") and not pipeline.get("tolerations")  # the orchestrator pod: anywhere
    store = components["artifact_store"][0]["configuration"]
    registry = components["container_registry"][0]["configuration"]
    if keyless:
        assert not {"key", "secret", "token", "account_key", "sas_token", "connection_string", "client_secret",
                    "authentication_secret"} & set(store)
    if name == "eks":  # the cloud's own S3: the credential chain (IRSA in the pods), no key, no endpoint
        assert store["path"] == "s3://mlops-eks-artifacts/zenml"
        assert store["client_kwargs"] == {"region_name": "eu-west-1"}
        assert registry["uri"].endswith(".dkr.ecr.eu-west-1.amazonaws.com")
    elif name == "gke":  # GCS by Workload Identity (the metadata server's credentials in the pods): no token
        assert store == {"path": "gs://mlops-gke-artifacts/zenml"}
        assert registry["uri"] == "europe-west1-docker.pkg.dev/my-ml-project/mlops-gke-models"
    elif name == "aks":  # Blob Storage by Workload Identity: the account's name in the pods' environment, no key
        assert store == {"path": "az://artifacts/zenml"}
        assert registry["uri"].endswith(".azurecr.io")
        account = clients.components["object_store"]["endpoint_url"].removeprefix("https://").split(".")[0]
        assert f"# AZURE_STORAGE_ACCOUNT_NAME={account} " in text  # what a laptop running pipelines sets too
        for pods in (steps, pipeline):
            assert {"name": "AZURE_STORAGE_ACCOUNT_NAME", "value": account} in pods["env"]
            assert pods["labels"]["azure.workload.identity/use"] == "true"
    else:
        assert store["client_kwargs"]["endpoint_url"] == f"http://seaweedfs.{namespace}.svc.cluster.local:8333"
    tracker = components["experiment_tracker"][0]["configuration"]
    assert tracker["tracking_uri"] == f"http://mlflow.{namespace}.svc.cluster.local:5000"
