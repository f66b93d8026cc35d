"""cert-manager: issues the serving certificates of other add-ons' webhooks (KServe's)."""

from __future__ import annotations

from typing import Any

from mlstack.components.kubernetes.addons import Addon


def values(chart: str) -> dict[str, Any]:
    return {
        "crds": {"enabled": True, "keep": False},  # installed with it, and removed with it (last stack's purge)
        "startupapicheck": {"enabled": False},  # a Helm post-install hook: helm.v4.Chart runs no hooks
        "prometheus": {"enabled": False},  # no ServiceMonitor CRD is assumed
        # the chart's pods already meet Pod Security `restricted`; mlstack's NetworkPolicies scope their flows
    }


ADDON = Addon(
    name="cert-manager",
    summary="certificates for the webhooks of the other add-ons",
    namespace="cert-manager",
    charts=("cert-manager",),
    crds=("certificates.cert-manager.io", "issuers.cert-manager.io"),
    webhook_ports=(10250,),
    values=values,
)
