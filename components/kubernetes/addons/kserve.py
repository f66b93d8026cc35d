"""KServe in Standard mode (no Knative, no Istio): its CRDs, then its controller, whose webhook certificate
cert-manager issues. InferenceServices become Deployments and Services in the stack's namespace, reachable only
inside the cluster: the chart creates no Ingress and no Gateway."""

from __future__ import annotations

from typing import Any

from mlstack.components.kubernetes.addons import Addon

MODE = "Standard"  # v0.20's name for the mode once called RawDeployment; the chart defaults to Knative


def values(chart: str) -> dict[str, Any]:
    if chart != "kserve-resources":
        return {}
    return {
        "kserve": {
            "controller": {
                "deploymentMode": MODE,
                "gateway": {
                    "disableIngressCreation": True,  # nothing exposed outside the cluster
                    "ingressGateway": {"enableGatewayApi": False, "createGateway": False},
                },
            },
            "localmodel": {"enabled": False},
        }
    }


ADDON = Addon(
    name="kserve",
    summary=f"KServe's CRDs and controller, {MODE} mode",
    namespace="kserve",
    charts=("kserve-crd", "kserve-resources"),
    crds=("inferenceservices.serving.kserve.io", "servingruntimes.serving.kserve.io"),
    after=("cert-manager",),
    webhook_ports=(9443,),
    values=values,
)
