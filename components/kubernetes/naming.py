"""Kubernetes names and labels of a stack: deterministic, DNS-1123, the same in a deploy and in `mlstack render`."""

from __future__ import annotations

import re
from typing import Any

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
PART_OF = "app.kubernetes.io/part-of"
NAME = "app.kubernetes.io/name"
COMPONENT = "app.kubernetes.io/component"
MANAGED_BY = "app.kubernetes.io/managed-by"
STACK = "mlstack.dev/stack"
PIPELINE = "mlstack.dev/pipeline"  # set on ZenML's pipeline pods (orchestrator pod settings): network policies use it
HELM_CHART = "kubernetes:helm.sh/v4:Chart"  # the type of a chart a flavor installs (its objects render at deploy)
CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup"  # the type of a rendered manifest a flavor applies (its `objs`)
DATABASE_CLIENT = (
    "mlstack.dev/database-client"  # set on pods of components that keep a database on the stack's PostgreSQL
)

# A cluster that exposes services as node ports (kind) maps these to 127.0.0.1 (the recipe's `port` overrides the
# host side); inside the cluster every service keeps its own port.
NODE_PORTS = {"object_store": 30900, "registry": 30500, "tracking": 30501, "serving": 30800}


def host_port(component: str, port: int | None) -> int:
    """The port on 127.0.0.1 the cluster maps to a component's node port: the recipe's `port`, else the node port itself
    (so an image pushed to localhost:<port> has the same name on the nodes)."""
    return port or NODE_PORTS[component]


def namespace_of(stack: str, placement: Any) -> str:
    """The stack's namespace: the recipe's (typed placement), else the stack's name."""
    return placement.namespace or stack


def labels(stack: str, app: str, component: str) -> dict[str, str]:
    return {NAME: app, COMPONENT: component, PART_OF: "mlstack", STACK: stack, MANAGED_BY: "mlstack"}


def selector(app: str) -> dict[str, str]:
    return {NAME: app}


def service_host(app: str, namespace: str) -> str:
    """The in-cluster DNS name pipeline pods reach a service by."""
    return f"{app}.{namespace}.svc.cluster.local"
