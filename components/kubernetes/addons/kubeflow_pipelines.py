"""What every Kubeflow Pipelines on a cluster shares: Argo Workflows' CRDs and KFP's scheduled workflows' (from
KFP's `cluster-scoped-resources`), and the PriorityClass Argo's controller runs at (from its namespaced render). The
rest of those renders is left out: the `kubeflow` namespace (each stack's KFP runs in the stack's own) and the cache
deployer's cluster-wide rights (it serves v1 pipelines only, and mlstack does not install it: see
../kubeflow.py). Nothing of it runs a pod, so it has no namespace."""

from __future__ import annotations

from typing import Any

from mlstack.components.kubernetes.addons import Addon

CLUSTER, STACK = "kubeflow-pipelines-cluster", "kubeflow-pipelines"  # versions.MANIFESTS keys
PRIORITY_CLASS = "workflow-controller"  # Argo's controller Deployment names it


def wanted_crd(name: str) -> bool:
    """Argo's CRDs and KFP's scheduled workflows; not the Application CRD (nothing here uses it, and a full Kubeflow
    install owns it) nor KFP's viewers (their controller serves v1 pipelines' TensorBoards: not installed)."""
    return name.endswith(".argoproj.io") or name == "scheduledworkflows.kubeflow.org"


def select(manifest: str, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if manifest == CLUSTER:
        return [o for o in objects if o["kind"] == "CustomResourceDefinition" and wanted_crd(o["metadata"]["name"])]
    return [o for o in objects if o["kind"] == "PriorityClass" and o["metadata"]["name"] == PRIORITY_CLASS]


ADDON = Addon(
    name="kubeflow-pipelines",
    summary="Kubeflow Pipelines' and Argo Workflows' CRDs, and Argo's PriorityClass",
    namespace=None,
    charts=(),
    manifests=(CLUSTER, STACK),
    # every CRD it applies: a cluster that serves any of them already (Argo Workflows installed on its own) is refused
    crds=(
        "scheduledworkflows.kubeflow.org",
        *(
            f"{kind}.argoproj.io"
            for kind in (
                "clusterworkflowtemplates",
                "cronworkflows",
                "workflowartifactgctasks",
                "workfloweventbindings",
                "workflows",
                "workflowtaskresults",
                "workflowtasksets",
                "workflowtemplates",
            )
        ),
    ),
    select=select,
)
