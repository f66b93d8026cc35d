"""CNCF distribution in the cluster: a Deployment on a kept volume, htpasswd auth from generated credentials, a
Service, and an image pull Secret for pods. On kind the node port is mapped to 127.0.0.1 and containerd is told
to pull `localhost:<port>` from it, so what is pushed from the host runs in the cluster under the same name; on
another cluster the nodes must reach the registry through a name they resolve (see the README)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlstack.clients.models import RegistryClient, SecretRef
from mlstack.components.base import Component
from mlstack.components.context import ComponentArgs
from mlstack.components.generated import GeneratedSecret
from mlstack.components.kubernetes import naming as n
from mlstack.components.kubernetes import workload as w
from mlstack.components.kubernetes.settings import KubernetesDistributionRegistry
from mlstack.components.outputs import RegistryOutputs
from mlstack.versions import KUBERNETES_IMAGES

APP, PORT, UID = "registry", 5000, 1000
AUTH_SECRET, PULL_SECRET = "registry-auth", "registry-pull"
USERNAME, PASSWORD_OUTPUT, PASSWORD_ENV = "mlstack", "registry_password", "MLSTACK_REGISTRY_PASSWORD"


def docker_config(host: str, password: str) -> str:
    token = base64.b64encode(f"{USERNAME}:{password}".encode()).decode()
    return json.dumps({"auths": {host: {"username": USERNAME, "password": password, "auth": token}}})


class KubernetesRegistry(
    Component[KubernetesDistributionRegistry, w.KubernetesPlatform, RegistryOutputs, RegistryClient]
):
    TYPE = "mlstack:kubernetes:Registry"

    def __init__(
        self,
        name: str,
        args: ComponentArgs[KubernetesDistributionRegistry, w.KubernetesPlatform],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, args, opts)
        platform, child, auth = self.platform, pulumi.ResourceOptions(parent=self), self.settings.auth
        host_port = n.host_port("registry", self.settings.port)
        self.uri = (
            f"localhost:{host_port}"
            if platform.nodes_pull_localhost
            else f"{n.service_host(APP, platform.namespace)}:{PORT}"
        )
        http_secret = GeneratedSecret(f"{name}-http-secret", opts=child).value
        self.password = GeneratedSecret(f"{name}-password", with_bcrypt=True, opts=child) if auth else None
        data = {"http-secret": http_secret}
        if self.password:
            data["htpasswd"] = self.password.bcrypt.apply(lambda h: f"{USERNAME}:{h}\n")
        self.auth = k8s.core.v1.Secret(
            f"{name}-auth",
            metadata=w.metadata(platform, AUTH_SECRET, name, APP),
            type="Opaque",
            string_data=data,
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["stringData"]),
        )
        if self.password:
            k8s.core.v1.Secret(
                f"{name}-pull-secret",
                metadata=w.metadata(platform, PULL_SECRET, name, APP),
                type="kubernetes.io/dockerconfigjson",
                string_data={".dockerconfigjson": self.password.value.apply(lambda pw: docker_config(self.uri, pw))},
                opts=child,
            )
        self.volume = w.volume_claim(f"{name}-volume", platform, f"{APP}-data", name, self.settings.storage_gb, self)
        self.server = self._server(name)
        self.service = w.service(f"{name}-service", platform, APP, name, PORT, self)
        service = w.endpoint(platform, APP, PORT)
        self.flows = w.Flows(serves=service)
        self.publish(
            RegistryOutputs(
                pulumi.Output.from_input(self.uri),
                password=self.password.value if self.password else None,
                pull_secret=PULL_SECRET if auth else None,
                service=service,
            ),
            RegistryClient(
                flavor="distribution",
                uri=self.uri,
                insecure=True,
                username=USERNAME if auth else None,
                password=SecretRef(output=PASSWORD_OUTPUT, env=PASSWORD_ENV) if auth else None,
                pull_secret=PULL_SECRET if auth else None,
                cluster_uri=f"{n.service_host(APP, platform.namespace)}:{PORT}",
            ),
            {PASSWORD_OUTPUT: self.password.value} if self.password else None,
        )

    def _server(self, name: str) -> k8s.apps.v1.Deployment:
        env = [
            {"name": "REGISTRY_HTTP_ADDR", "value": f":{PORT}"},
            w.secret_env("REGISTRY_HTTP_SECRET", AUTH_SECRET, "http-secret"),
            {"name": "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", "value": "/var/lib/registry"},
            {"name": "REGISTRY_STORAGE_DELETE_ENABLED", "value": "true"},
        ]
        mounts: list[dict[str, Any]] = [{"name": "data", "mount_path": "/var/lib/registry"}]
        volumes = [{"name": "data", "persistent_volume_claim": {"claim_name": f"{APP}-data"}}]
        if self.settings.auth:
            env += [
                {"name": "REGISTRY_AUTH", "value": "htpasswd"},
                {"name": "REGISTRY_AUTH_HTPASSWD_REALM", "value": "mlstack"},
                {"name": "REGISTRY_AUTH_HTPASSWD_PATH", "value": "/auth/htpasswd"},
            ]
            mounts.append({"name": "auth", "mount_path": "/auth", "read_only": True})
            volumes.append(
                {
                    "name": "auth",
                    "secret": {
                        "secret_name": AUTH_SECRET,
                        "items": [{"key": "htpasswd", "path": "htpasswd"}],
                        "default_mode": 0o440,  # the pod's group (fsGroup) reads it, nobody else
                    },
                }
            )
        probe = {"tcp_socket": {"port": PORT}, "period_seconds": 10, "failure_threshold": 6}  # /v2/ answers 401
        container = {
            "name": APP,
            "image": KUBERNETES_IMAGES["registry"],
            "env": env,
            "ports": [{"name": "http", "container_port": PORT}],
            "readiness_probe": probe,
            "liveness_probe": {**probe, "initial_delay_seconds": 10},
            "resources": w.resources("50m", "64Mi", "1", "512Mi"),
            "security_context": w.container_security(),
            "volume_mounts": mounts,
        }
        return k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=w.metadata(self.platform, APP, name),
            spec={
                "replicas": 1,
                "strategy": {"type": "Recreate"},
                "selector": {"match_labels": n.selector(APP)},
                "template": w.pod_template(self.platform, APP, name, [container], UID, volumes),
            },
            opts=w.workload_opts(self, self.platform, self.auth, self.volume),
        )
