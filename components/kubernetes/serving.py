"""MLServer (V2 inference protocol) in the cluster: a Deployment serving the models of a model repository on a kept
volume; clients load models through MLServer's repository API."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mlstack.clients.models import ServingClient
from mlstack.components.base import Component
from mlstack.components.context import ComponentArgs
from mlstack.components.kubernetes import naming as n
from mlstack.components.kubernetes import workload as w
from mlstack.components.kubernetes.settings import KubernetesMlserverServing
from mlstack.components.outputs import ServingOutputs
from mlstack.versions import KUBERNETES_IMAGES

APP, PORT, UID = "mlserver", 8080, 1000
MODELS = "/mnt/models"


class KubernetesServing(Component[KubernetesMlserverServing, w.KubernetesPlatform, ServingOutputs, ServingClient]):
    TYPE = "mlstack:kubernetes:Serving"

    def __init__(
        self,
        name: str,
        args: ComponentArgs[KubernetesMlserverServing, w.KubernetesPlatform],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, args, opts)
        platform = self.platform
        self.volume = w.volume_claim(f"{name}-volume", platform, f"{APP}-models", name, self.settings.storage_gb, self)
        self.server = self._server(name)
        w.service(f"{name}-service", platform, APP, name, PORT, self)
        service = w.endpoint(platform, APP, PORT)
        self.flows = w.Flows(serves=service)
        cluster_url = f"http://{service.host}:{PORT}"
        url = f"http://127.0.0.1:{n.host_port('serving', self.settings.port)}" if platform.node_ports else cluster_url
        self.publish(
            ServingOutputs(pulumi.Output.from_input(cluster_url), service=service),
            ServingClient(
                flavor="mlserver",
                base_url=url,
                cluster_base_url=cluster_url,
                protocol="v2",
                model_repository=f"pvc://{platform.namespace}/{APP}-models",
            ),
        )

    def _server(self, name: str) -> k8s.apps.v1.Deployment:
        env = {
            "MLSERVER_HTTP_PORT": str(PORT),
            "MLSERVER_GRPC_PORT": "8081",
            "MLSERVER_METRICS_PORT": "8082",
            "MLSERVER_MODELS_DIR": MODELS,
            "MLSERVER_LOAD_MODELS_AT_STARTUP": "true",
            "HOME": "/tmp",
        }
        container = {
            "name": APP,
            "image": KUBERNETES_IMAGES["mlserver"],
            "command": ["mlserver", "start", MODELS],
            "env": [{"name": k, "value": v} for k, v in env.items()],
            "ports": [{"name": "http", "container_port": PORT}],
            "readiness_probe": w.http_probe("/v2/health/ready", PORT, delay=10),
            "liveness_probe": w.http_probe("/v2/health/live", PORT, delay=30),
            "resources": w.resources("250m", "512Mi", "2", "2Gi"),
            "security_context": w.container_security(),
            "volume_mounts": [{"name": "models", "mount_path": MODELS}, {"name": "tmp", "mount_path": "/tmp"}],
        }
        volumes = [
            {"name": "models", "persistent_volume_claim": {"claim_name": f"{APP}-models"}},
            {"name": "tmp", "empty_dir": {"size_limit": "1Gi"}},
        ]
        return k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=w.metadata(self.platform, APP, name),
            spec={
                "replicas": 1,
                "selector": {"match_labels": n.selector(APP)},
                "template": w.pod_template(
                    self.platform, APP, name, [container], UID, volumes, pool=self.settings.node_pool
                ),
            },
            opts=w.workload_opts(self, self.platform, self.volume),
        )
