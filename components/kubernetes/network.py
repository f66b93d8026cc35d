"""The stack's network, derived in one place from the wiring the flavors declare (registry: `needs`, `uses`) and
the flows each component declares (`workload.Flows`): the namespace denies everything (assembly.py), and each flow
the stack needs gets exactly one allow.

- Into a component's service: from the pods of every component wired to it (in build order), then from its own
  helpers (`admits`); a cluster that maps node ports to 127.0.0.1 (kind) admits any source on an exposed port. A
  service nothing in the cluster calls gets no allow at all (`mlstack connect` still reaches it).
- Out of a component's pods: to its own services first (`reaches`), then to the services of the components it is
  wired to (by name), then to any host on its `any_host_ports`.

Policies are children of the component they serve, named `<kind>-ingress` / `<kind>-egress`, so the derivation
runs once every component is built (the target's `finish` hook)."""

from __future__ import annotations

from typing import Any

from mlstack.components.kubernetes import naming as n
from mlstack.components.kubernetes import workload as w
from mlstack.components.outputs import Endpoint


def flows_of(component: Any) -> w.Flows:
    return getattr(component, "flows", None) or w.Flows()


def finish(platform: w.KubernetesPlatform, components: dict[str, Any], wiring: dict[str, tuple[str, ...]]) -> None:
    """Every NetworkPolicy between the recipe's components (`wiring`: kind -> the kinds it is wired to)."""
    for kind, component in components.items():
        flows = flows_of(component)
        if flows.serves is not None:
            callers = [
                pods
                for other in components
                if kind in wiring.get(other, ()) and (pods := flows_of(components[other]).pods) is not None
            ] + [
                pods
                for other in components
                if kind in wiring.get(other, ())
                for pods, kinds in flows_of(components[other]).also_calls
                if kind in kinds
            ]
            served, sources = flows.serves, [*callers, *flows.admits]
            # kind maps only these kinds' node ports to 127.0.0.1: kube-proxy's traffic comes from the node
            outside = platform.node_ports and kind in n.NODE_PORTS
            # nothing in the cluster calls it: the namespace's default deny stands (an empty `from` would admit
            # every source); its own pods' egress is still allowed below
            if sources or outside:
                w.allow_ingress(
                    f"{kind}-ingress",
                    platform,
                    served.app,
                    kind,
                    served.port,
                    sources,
                    component,
                    from_outside=outside,
                )
        if flows.pods is not None:
            used = sorted(
                (e for other in wiring.get(kind, ()) if (e := _served(components.get(other))) is not None),
                key=lambda e: e.app,
            )
            targets = [(e.selector, e.port) for e in (*flows.reaches, *used)]
            if targets or flows.any_host_ports or flows.ip_blocks:
                w.allow_egress(
                    f"{kind}-egress",
                    platform,
                    flows.egress_name or flows.pods[n.NAME],
                    kind,
                    targets,
                    component,
                    selector=flows.pods,
                    any_host_ports=flows.any_host_ports,
                    ip_blocks=flows.ip_blocks,
                )


def _served(component: Any) -> Endpoint | None:
    return flows_of(component).serves if component is not None else None
