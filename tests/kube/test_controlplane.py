"""The test control plane behaves like a cluster where it matters to mlstack: PodSecurity admission is enforced,
Deployments become Ready, PVCs bind through the default StorageClass, Services get endpoints."""

from __future__ import annotations

import ipaddress
import json
import time
from typing import Any

import pytest

from tests.kube.controlplane import CONTEXT, ControlPlane

# What a `restricted` namespace admits (https://kubernetes.io/docs/concepts/security/pod-security-standards/).
RESTRICTED_CONTAINER = """
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: web
        image: registry.invalid/web:1
        ports: [{containerPort: 8080}]
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
"""


def deployment(name: str, replicas: int = 1) -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:{RESTRICTED_CONTAINER}"""


def get_json(cp: ControlPlane, *args: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(cp.kubectl("get", *args, "-o", "json").stdout)
    return obj


@pytest.mark.timeout(120)
def test_kubeconfig_reaches_a_ready_node(control_plane: ControlPlane) -> None:
    assert control_plane.kubectl("config", "current-context").stdout.strip() == CONTEXT
    nodes = get_json(control_plane, "nodes")["items"]
    assert [n["status"]["allocatable"]["cpu"] for n in nodes] == ["32"]
    default = get_json(control_plane, "storageclass", "standard")
    assert default["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"


@pytest.mark.timeout(120)
def test_restricted_namespace_refuses_privileged_pod(control_plane: ControlPlane, namespace: str) -> None:
    control_plane.kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    pod = """
apiVersion: v1
kind: Pod
metadata: {name: root}
spec:
  containers:
  - name: root
    image: registry.invalid/root:1
    securityContext: {privileged: true}
"""
    done = control_plane.kubectl("apply", "--server-side", "-n", namespace, "-f", "-", input=pod, check=False)
    assert done.returncode != 0
    assert 'violates PodSecurity "restricted:latest"' in done.stderr
    assert "privileged" in done.stderr


@pytest.mark.timeout(120)
def test_restricted_namespace_admits_compliant_deployment(control_plane: ControlPlane, namespace: str) -> None:
    control_plane.kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    applied = control_plane.kubectl("apply", "--server-side", "-n", namespace, "-f", "-", input=deployment("web"))
    assert "Warning" not in applied.stderr  # PodSecurity warns about non-compliant pod templates
    control_plane.kubectl("rollout", "status", "-n", namespace, "deployment/web", "--timeout=60s")
    assert get_json(control_plane, "-n", namespace, "deployment/web")["status"]["readyReplicas"] == 1


@pytest.mark.timeout(120)
def test_pvc_binds_through_default_storage_class(control_plane: ControlPlane, namespace: str) -> None:
    pvc = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\n" \
          "spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n"
    control_plane.kubectl("apply", "-n", namespace, "-f", "-", input=pvc)
    control_plane.kubectl("wait", "-n", namespace, "pvc/data", "--for=jsonpath={.status.phase}=Bound",
                          "--timeout=60s")
    claim = get_json(control_plane, "-n", namespace, "pvc/data")
    assert claim["spec"]["storageClassName"] == "standard"
    # Reclaim policy Delete removes the PV (and its directory under /tmp/hostpath_pv) once the claim is gone.
    control_plane.kubectl("delete", "-n", namespace, "pvc/data", "--timeout=60s")
    control_plane.kubectl("wait", f"pv/{claim['spec']['volumeName']}", "--for=delete", "--timeout=60s")


@pytest.mark.timeout(120)
def test_cluster_ip_service_gets_endpoints(control_plane: ControlPlane, namespace: str) -> None:
    service = """
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: ClusterIP
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
"""
    control_plane.kubectl("apply", "-n", namespace, "-f", "-", input=deployment("web", replicas=2) + "\n---" + service)
    control_plane.kubectl("rollout", "status", "-n", namespace, "deployment/web", "--timeout=60s")
    cluster_ip = get_json(control_plane, "-n", namespace, "service/web")["spec"]["clusterIP"]
    assert ipaddress.ip_address(cluster_ip) in ipaddress.ip_network("10.0.0.0/24")

    deadline = time.monotonic() + 60
    while True:  # the EndpointSlice controller catches up with pod readiness asynchronously
        slices = get_json(control_plane, "-n", namespace, "endpointslices",
                          "-l", "kubernetes.io/service-name=web")["items"]
        ready = [e for s in slices for e in s.get("endpoints") or [] if e.get("conditions", {}).get("ready")]
        if len(ready) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(ready) == 2, slices
    assert {p["port"] for s in slices for p in s.get("ports") or []} == {8080}
