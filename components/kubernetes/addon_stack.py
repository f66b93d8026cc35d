"""The cluster's add-ons stack: one namespace per add-on (Pod Security `restricted`, every flow denied but DNS, the
API server and the webhooks the API server calls), then its charts, each after what it needs; CRDs come with their
charts and the provider applies them first, so every custom resource finds its type."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlstack.components.kubernetes import naming as n
from mlstack.components.kubernetes.addons import APPLIED_OUTPUT, Addon, chart_source, load_manifests
from mlstack.components.kubernetes.assembly import POD_SECURITY
from mlstack.registry import SHARED_OUTPUT
from mlstack.versions import CHARTS

TYPE = "mlstack:kubernetes:Addon"
API_PORTS = (443, 6443)  # the API server (controllers watch it); HTTPS (cert-manager's ACME issuers)


class AddonResource(pulumi.ComponentResource):
    """One add-on: its namespace, its NetworkPolicies, its charts in order."""

    def __init__(
        self,
        addon: Addon,
        mirror: str | None,
        after: list[pulumi.Resource],
        opts: pulumi.ResourceOptions,
        applied: dict[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        super().__init__(TYPE, addon.name, None, opts)
        labels = {n.PART_OF: "mlstack", n.MANAGED_BY: "mlstack", n.COMPONENT: addon.name}
        previous: list[pulumi.Resource] = [*after]
        if addon.namespace is not None:
            previous.append(self._namespace(addon, labels))
        for name in addon.charts:
            installed = k8s.helm.v4.Chart(
                f"{addon.name}-{name}",
                name=name,  # the release name: the chart's objects get their usual names (cert-manager-webhook)
                **chart_source(CHARTS[name], mirror),
                namespace=addon.namespace,
                values=addon.values(name),
                opts=pulumi.ResourceOptions(parent=self, depends_on=previous),
            )
            previous = [installed]
        self.applied: dict[str, list[dict[str, Any]]] = {}
        for name in addon.manifests:
            objects = load_manifests(name, mirror)
            if objects is not None:
                selected = [_labelled(o, labels) for o in addon.select(name, objects)]
            elif name in (applied or {}):  # held, and no render here: what it applied before stays as it is
                selected = (applied or {})[name]
            else:  # an offline plan without the mirror (a deploy checks it first: exit 3)
                continue
            self.applied[name] = selected
            group = k8s.yaml.v2.ConfigGroup(
                f"{addon.name}-{name}",
                objs=selected,
                opts=pulumi.ResourceOptions(parent=self, depends_on=previous),
            )
            previous = [group]
        self.last = previous[-1] if previous else self
        self.register_outputs({})

    def _namespace(self, addon: Addon, labels: dict[str, str]) -> k8s.core.v1.Namespace:
        """Its namespace: Pod Security `restricted`, and one policy: DNS, the API server, HTTPS, its webhooks."""
        child = pulumi.ResourceOptions(parent=self)
        namespace = k8s.core.v1.Namespace(
            f"{addon.name}-namespace",
            metadata={"name": addon.namespace, "labels": {**labels, **POD_SECURITY}},
            opts=child,
        )
        meta = {"namespace": namespace.metadata["name"], "labels": labels}
        ingress = (
            [{"ports": [{"port": p, "protocol": "TCP"} for p in addon.webhook_ports]}] if addon.webhook_ports else []
        )
        k8s.networking.v1.NetworkPolicy(
            f"{addon.name}-policy",
            metadata={**meta, "name": "mlstack-addon"},
            spec={
                "pod_selector": {},
                "policy_types": ["Ingress", "Egress"],
                "ingress": ingress,  # the API server calls the webhooks: it is no pod, so no selector admits it
                "egress": [
                    {
                        "to": [
                            {
                                "namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": "kube-system"}},
                                "pod_selector": {"match_labels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                        "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
                    },
                    {"ports": [{"port": p, "protocol": "TCP"} for p in API_PORTS]},
                ],
            },
            opts=child,
        )
        return namespace


def _labelled(obj: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    """The object with mlstack's labels added to its own (so `drift` and `kubectl` tell whose it is)."""
    metadata = dict(obj.get("metadata") or {})
    metadata["labels"] = {**(metadata.get("labels") or {}), **labels}
    return {**obj, "metadata": metadata}


def build(context: str | None, wanted: list[Addon], mirror: str | None, applied: dict[str, Any] | None = None) -> None:
    """The add-ons stack's program: `wanted` in order (each after those it needs); `applied`: what it applied from
    rendered manifests before (its last export), for an add-on it holds whose render this machine lacks."""
    provider = k8s.Provider(
        "kubernetes", context=context, enable_server_side_apply=True, suppress_deprecation_warnings=True
    )
    opts = pulumi.ResourceOptions(providers={"kubernetes": provider})
    built: dict[str, AddonResource] = {}
    for addon in wanted:
        after = [built[a].last for a in addon.after if a in built]
        built[addon.name] = AddonResource(addon, mirror, after, opts, (applied or {}).get(addon.name))
    pulumi.export(SHARED_OUTPUT, {a.name: a.versions() for a in wanted})
    pulumi.export(APPLIED_OUTPUT, {name: r.applied for name, r in built.items() if r.applied})
