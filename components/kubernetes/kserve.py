"""KServe serving in the stack's namespace (KServe itself is a cluster add-on, addons/kserve.py): a ServingRuntime
for MLServer (V2 protocol, the image the mlserver flavor runs), a service account whose Secret holds the object
store's read-only keys with KServe's S3 annotations, and the flows of the predictor pods: to the object store (the
storage initializer pulls the model) and from the pipeline pods. An InferenceService names the runtime and the
service account; KServe makes its Deployment and a Service `<name>-predictor`, inside the cluster only."""

from __future__ import annotations

from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s

from mlstack.clients.models import ServingClient
from mlstack.components.base import Component
from mlstack.components.context import ComponentArgs
from mlstack.components.kubernetes import naming as n
from mlstack.components.kubernetes import workload as w
from mlstack.components.kubernetes.settings import KubernetesKserveServing
from mlstack.components.outputs import Endpoint, ServingOutputs
from mlstack.versions import KUBERNETES_IMAGES

APP = "kserve-predictor"  # the predictor pods' name label: the runtime gives it to them
RUNTIME, ACCOUNT, SECRET = "mlstack-mlserver", "kserve-models", "kserve-s3"
PORT = 8080  # MLServer's HTTP port in the predictor pod; the predictor Service listens on 80
UID = 1000
# ServingRuntime: serving.kserve.io/v1alpha1. Its pod spec is at spec (containers), not spec.template.spec.
POD_SPECS = {"kubernetes:serving.kserve.io/v1alpha1:ServingRuntime": ("spec",)}
# Its pods run as the InferenceService's service account (ours: no token), the runtime's spec has no field for it.
POD_ACCOUNTS = {"kubernetes:serving.kserve.io/v1alpha1:ServingRuntime": ACCOUNT}
FORMATS = [("sklearn", "1"), ("xgboost", "2"), ("lightgbm", "4"), ("mlflow", "2")]


class KubernetesKserve(Component[KubernetesKserveServing, w.KubernetesPlatform, ServingOutputs, ServingClient]):
    TYPE = "mlstack:kubernetes:KserveServing"

    def __init__(
        self,
        name: str,
        args: ComponentArgs[KubernetesKserveServing, w.KubernetesPlatform],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, args, opts)
        platform, child = self.platform, pulumi.ResourceOptions(parent=self)
        store = self.uses.store()
        if store.endpoint is None or store.reader_key is None or store.reader_secret is None:
            raise ValueError("KServe pulls models from an in-cluster S3 store with a read-only identity")
        endpoint = store.endpoint.apply(lambda url: urlsplit(url).netloc)
        secret = k8s.core.v1.Secret(
            f"{name}-s3",
            metadata=w.metadata(
                platform,
                SECRET,
                name,
                annotations={  # how KServe's storage initializer reaches the store (plain HTTP inside the cluster)
                    "serving.kserve.io/s3-endpoint": endpoint,
                    "serving.kserve.io/s3-usehttps": "0",
                    "serving.kserve.io/s3-region": "us-east-1",
                    "serving.kserve.io/s3-useanoncredential": "false",
                },
            ),
            type="Opaque",
            string_data={"AWS_ACCESS_KEY_ID": store.reader_key, "AWS_SECRET_ACCESS_KEY": store.reader_secret},
            opts=child,
        )
        k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=w.metadata(platform, ACCOUNT, name),
            automount_service_account_token=False,  # the predictor pods never call the API server
            secrets=[{"name": SECRET}],  # KServe reads the S3 keys of the secrets listed here
            opts=pulumi.ResourceOptions(parent=self, depends_on=[secret]),
        )
        self.runtime = self._runtime(name)
        service = Endpoint(APP, n.selector(APP), PORT, f"{{model}}-predictor.{platform.namespace}.svc.cluster.local")
        self.flows = w.Flows(pods=n.selector(APP), serves=service)
        url = f"http://{service.host}"
        bucket = self.uses.store().buckets[0].name
        self.publish(
            ServingOutputs(pulumi.Output.from_input(url), service=service),
            bucket.apply(
                lambda b: ServingClient(
                    flavor="kserve",
                    base_url=url,
                    protocol="v2",
                    model_repository=f"s3://{b}/models",
                    namespace=platform.namespace,
                    service_account=ACCOUNT,
                    runtime=RUNTIME,
                )
            ),
        )

    def _runtime(self, name: str) -> k8s.apiextensions.CustomResource:
        container = {
            "name": "kserve-container",
            "image": KUBERNETES_IMAGES["mlserver"],
            "env": [  # `{{...}}`: filled from each InferenceService's metadata by KServe's controller
                {"name": "MLSERVER_MODEL_IMPLEMENTATION", "value": "{{.Labels.modelClass}}"},
                {"name": "MLSERVER_MODEL_NAME", "value": "{{.Name}}"},  # the V2 path: /v2/models/<isvc name>
                {"name": "MLSERVER_MODEL_URI", "value": "/mnt/models"},  # where the storage initializer puts it
                {"name": "MLSERVER_HTTP_PORT", "value": str(PORT)},
                {"name": "MLSERVER_GRPC_PORT", "value": "9000"},
                {"name": "MLSERVER_METRICS_PORT", "value": "8082"},
                {"name": "HOME", "value": "/tmp"},
            ],
            "resources": w.resources("250m", "512Mi", "2", "2Gi"),
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
                "privileged": False,
                "readOnlyRootFilesystem": True,
                "runAsNonRoot": True,
                "runAsUser": UID,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        }
        return k8s.apiextensions.CustomResource(
            f"{name}-runtime",
            api_version="serving.kserve.io/v1alpha1",
            kind="ServingRuntime",
            # the annotation makes KServe treat it as MLServer: it labels each InferenceService `modelClass` (the
            # MLServer runtime of its model format) and sets the model's name and path, as for its own kserve-mlserver
            metadata=w.metadata(
                self.platform, RUNTIME, name, annotations={"serving.kserve.io/server-type": "mlserver"}
            ),
            spec={
                "labels": n.labels(self.platform.stack, APP, name),  # on every predictor pod of this runtime
                "protocolVersions": ["v2"],
                "supportedModelFormats": [
                    {"name": fmt, "version": version, "autoSelect": True, "priority": 2} for fmt, version in FORMATS
                ],
                "containers": [container],
                "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}],
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
