"""What ZenML's Kubernetes orchestrator needs to run pipeline pods in the stack's namespace: a service account
whose namespaced Role holds exactly the verbs the orchestrator uses (nothing cluster-wide), and the flows its pods
need: the stack's services, the API server and HTTPS (the ZenML server)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mlstack.clients.models import OrchestratorClient
from mlstack.components.base import Component
from mlstack.components.context import ComponentArgs
from mlstack.components.kubernetes import naming as n
from mlstack.components.kubernetes import workload as w
from mlstack.components.kubernetes.settings import KubernetesOrchestrator as OrchestratorSettings
from mlstack.components.outputs import OrchestratorOutputs, WorkloadIdentity

SERVICE_ACCOUNT = "zenml-pipelines"  # the orchestrator pod's: it launches the steps
STEP_ACCOUNT = "zenml-steps"  # the step pods': no Role, no token
# What ZenML 0.98's Kubernetes orchestrator calls in its namespace, from the user's machine and its orchestrator pod
# (zenml/integrations/kubernetes: kubernetes_orchestrator.py, the entrypoint, kube_utils.py): steps run as Jobs,
# their pods and logs are followed, schedules are CronJobs, the run's API token is a Secret. Verbs listed, never "*".
RULES = [
    {"api_groups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "list", "patch", "delete"]},
    {"api_groups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
    {"api_groups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    {"api_groups": ["batch"], "resources": ["cronjobs"], "verbs": ["create", "patch", "delete"]},
    {"api_groups": [""], "resources": ["secrets"], "verbs": ["create", "patch", "delete"]},
]
API_PORTS = (443, 6443)  # the API server (launching step pods) and HTTPS servers such as ZenML's
PIPELINE_PODS = {n.PIPELINE: "true"}  # ZenML's pipeline pods carry it (pod settings in the client config)
SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict"  # honoured by the autoscalers of EKS, GKE and AKS


class KubernetesOrchestrator(
    Component[OrchestratorSettings, w.KubernetesPlatform, OrchestratorOutputs, OrchestratorClient]
):
    TYPE = "mlstack:kubernetes:Orchestrator"

    def __init__(
        self,
        name: str,
        args: ComponentArgs[OrchestratorSettings, w.KubernetesPlatform],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, args, opts)
        platform = self.platform
        child = pulumi.ResourceOptions(parent=self)
        # A cloud's store (a managed cluster's): both accounts bound to identities scoped to it (ZenML's artifact
        # store is read and written by the orchestrator pod and the steps).
        store = self.uses.object_store
        bind = store.identity if store else None
        identities = {
            a: bind(f"{name}-{a}", platform.namespace, a, self) if bind else None
            for a in (SERVICE_ACCOUNT, STEP_ACCOUNT)
        }
        # The token is mounted: the orchestrator pod launches the step pods through the API server.
        account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=w.metadata(platform, SERVICE_ACCOUNT, name, annotations=_annotations(identities[SERVICE_ACCOUNT])),
            automount_service_account_token=True,
            opts=child,
        )
        k8s.core.v1.ServiceAccount(
            f"{name}-step-account",
            metadata=w.metadata(platform, STEP_ACCOUNT, name, annotations=_annotations(identities[STEP_ACCOUNT])),
            automount_service_account_token=False,
            opts=child,
        )
        role = k8s.rbac.v1.Role(
            f"{name}-role", metadata=w.metadata(platform, SERVICE_ACCOUNT, name), rules=RULES, opts=child
        )
        k8s.rbac.v1.RoleBinding(
            f"{name}-role-binding",
            metadata=w.metadata(platform, SERVICE_ACCOUNT, name),
            role_ref={"api_group": "rbac.authorization.k8s.io", "kind": "Role", "name": SERVICE_ACCOUNT},
            subjects=[{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": platform.namespace}],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account, role]),
        )
        # Pipeline pods call the services of the components the orchestrator is wired to (network.py derives the
        # policy), the API server (launching step pods) and HTTPS servers such as ZenML's.
        cloud = [i for i in identities.values() if i]  # the cloud's token endpoints (GKE's metadata server)
        self.flows = w.Flows(
            pods=PIPELINE_PODS,
            any_host_ports=API_PORTS,
            egress_name="pipelines",
            ip_blocks=tuple(dict.fromkeys(b for i in cloud for b in i.ip_blocks)),
        )
        labels = {**PIPELINE_PODS, **{k: v for i in cloud for k, v in i.pod_labels.items()}}
        env = {k: v for i in cloud for k, v in i.env.items()}  # what the cloud's store needs (its account)
        registry = self.uses.registry
        placed = platform.on_pool(self.settings.node_pool)  # where the step pods run (a managed cluster's pool)
        self.publish(
            OrchestratorOutputs(),
            pulumi.Output.all(**env).apply(
                lambda values: OrchestratorClient(
                    flavor="kubernetes",
                    kubernetes_context=platform.context,
                    kubernetes_namespace=platform.namespace,
                    service_account=SERVICE_ACCOUNT,
                    step_service_account=STEP_ACCOUNT,
                    pod_labels=labels,
                    image_pull_secrets=[pull] if (pull := registry.pull_secret if registry else None) else None,
                    local_registry=platform.nodes_pull_localhost,
                    step_node_selector=placed.node_selector if placed else None,
                    step_tolerations=list(placed.tolerations) if placed and placed.tolerations else None,
                    step_gpus=placed.gpus if placed and placed.gpus else None,
                    pod_env=dict(values) or None,
                    # on an autoscaled cluster (one the stack creates) a scale-down must not evict a running step
                    step_annotations={SAFE_TO_EVICT: "false"} if platform.cluster.creates_cluster else None,
                )
            ),
        )


def _annotations(identity: WorkloadIdentity | None) -> dict[str, pulumi.Output[str]] | None:
    return identity.annotations if identity else None
