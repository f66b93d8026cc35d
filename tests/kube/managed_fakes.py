"""Stand-ins for what only a cloud has, for test_real_managed_clusters.py: the cluster (the test control plane,
reached through the kubeconfig the cluster type's own module writes) and the cloud CLI's exec credential plugin
(a script on PATH under the cloud's name that records how it was called and answers with the control plane's
client certificate)."""

from __future__ import annotations

import base64
import json
import stat
import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from mlstack.components.kubernetes.clusters import _managed as m
from mlstack.components.kubernetes.clusters import aks, eks, gke

BUILDER = f"{__name__}:build"
CONTROL_PLANE: dict[str, str] = {}  # server, ca: the control plane the stand-in cluster is (set by the test)


def control_plane_of(kubeconfig: Path) -> dict[str, str]:
    """server, ca (base64), cert and key (PEM) of a kubeconfig with one cluster and one client-certificate user."""
    config = YAML(typ="safe").load(kubeconfig.read_text())
    cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
    return {
        "server": cluster["server"],
        "ca": cluster["certificate-authority-data"],
        "cert": base64.b64decode(user["client-certificate-data"]).decode(),
        "key": base64.b64decode(user["client-key-data"]).decode(),
    }


def build(provisioner: Any, stack: str, placement: Any, tags: dict[str, str]) -> m.ClusterAccess:
    """The ClusterAccess a deploy would get from the cluster's resources, with the control plane's server and CA
    where the cloud's would be: the same kubeconfig function, the same exec credential plugin."""
    import pulumi

    server, ca = CONTROL_PLANE["server"], CONTROL_PLANE["ca"]
    context = provisioner.context(stack, placement) or stack
    spec = placement.cluster
    if provisioner.type == "eks":
        config = eks.kubeconfig(context, stack, server, ca, spec.region, spec.profile)
    elif provisioner.type == "gke":
        config = gke.kubeconfig(context, server.removeprefix("https://"), ca)
    else:  # aks: its own kubeconfig comes from listClusterUserCredential, base64
        given = {"clusters": [{"cluster": {"server": server, "certificate-authority-data": ca}}]}
        config = aks.kubeconfig(context, base64.b64encode(json.dumps(given).encode()).decode())
    issuer = pulumi.Output.from_input("https://issuer.invalid")
    cloud = {"eks": FakeAws, "gke": FakeGcp, "aks": FakeAzure}.get(provisioner.type)
    cloud = cloud(stack, spec) if cloud else None

    def autoscaler(opts: Any) -> None:  # EKS' cluster autoscaler, as cloud/eks.py deploys it, with the stand-in role
        from mlstack.components.kubernetes import autoscaler

        annotations = {eks.IRSA_ANNOTATION: role_arn(*eks.AUTOSCALER)}
        autoscaler.deploy(stack, stack, spec.region, annotations, opts)

    in_cluster = autoscaler if provisioner.type == "eks" else None
    return m.ClusterAccess(pulumi.Output.from_input(config), [], issuer, cloud=cloud, in_cluster=in_cluster)


ACCOUNT = "123456789012"
DATABASE_ADDRESS = "192.0.2.20"  # the stand-in Cloud SQL's private address (TEST-NET-1: never a real one)
# the stand-in RDS instance's name, and its subnets' address ranges (TEST-NET-2 and -3: never real ones)
RDS_ADDRESS = "mlops-eks-tracking.abcdefghijkl.eu-west-1.rds.amazonaws.com"
RDS_SUBNETS = ("198.51.100.0/24", "203.0.113.0/24")
FLEXIBLE_ADDRESS = "mlops-aks-tracking.private.postgres.database.azure.com"  # the stand-in flexible server's name
FLEXIBLE_SUBNET = "198.51.100.64/28"  # its delegated subnet's range (TEST-NET-2)


def role_arn(namespace: str, account: str) -> str:
    """The role the stand-in binds a service account to: one per account, named after it."""
    return f"arn:aws:iam::{ACCOUNT}:role/{namespace}-{account}"


class FakeAws:
    """The eks cluster's cloud side (cloud/eks.py: EksCloud) without AWS: the buckets and repositories by the names
    the aws target gives them, and a binding per service account, annotated as IRSA annotates it, with the role
    the account alone would assume. No cloud resource is made."""

    def __init__(self, stack: str, spec: Any) -> None:
        self.stack, self.region = stack, spec.region

    def object_store(self, name: str, settings: Any, context: Any, parent: Any) -> tuple[Any, Any]:
        import pulumi

        from mlstack.clients.models import ObjectStoreClient
        from mlstack.components.aws.naming import s3_bucket_name
        from mlstack.components.outputs import Bucket, ObjectStoreOutputs, WorkloadIdentity

        names = [s3_bucket_name(self.stack, b) for b in settings.buckets]
        buckets = tuple(
            Bucket(key, pulumi.Output.from_input(n), pulumi.Output.from_input(f"s3://{n}"),
                   pulumi.Output.from_input(f"arn:aws:s3:::{n}"))
            for key, n in zip(settings.buckets, names, strict=True)
        )

        def bind(resource: str, namespace: str, account: str, parent: Any) -> WorkloadIdentity:
            arn = pulumi.Output.from_input(role_arn(namespace, account))
            return WorkloadIdentity({eks.IRSA_ANNOTATION: arn}, env={"AWS_REGION": self.region})

        client = ObjectStoreClient(flavor="s3", region=self.region, buckets=[f"s3://{n}" for n in names])
        return ObjectStoreOutputs(buckets, identity=bind), client

    def registry(self, name: str, settings: Any, context: Any, parent: Any) -> tuple[Any, Any]:
        import pulumi

        from mlstack.clients.models import RegistryClient
        from mlstack.components.outputs import RegistryOutputs

        host = f"{ACCOUNT}.dkr.ecr.{self.region}.amazonaws.com"
        return RegistryOutputs(pulumi.Output.from_input(host)), RegistryClient(flavor="ecr", uri=host, insecure=False)

    def database(self, name: str, settings: Any, context: Any, parent: Any, password: Any) -> Any:
        """MLflow's RDS (`database: managed`) as its name and its subnets' ranges alone: no instance is made."""
        import pulumi

        from mlstack.components.outputs import CloudDatabase

        return CloudDatabase(pulumi.Output.from_input(RDS_ADDRESS), tuple((r, 5432) for r in RDS_SUBNETS))


def credential_plugin(directory: Path, name: str, cert: str, key: str, calls: Path) -> Path:
    """An executable `name` that appends its arguments to `calls` and prints an ExecCredential with `cert`/`key`."""
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        "status": {"clientCertificateData": cert, "clientKeyData": key},
    }
    path = directory / name
    path.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(calls)!r}, 'a') as log:\n"
        "    info = json.loads(os.environ.get('KUBERNETES_EXEC_INFO') or '{}').get('spec') or {}\n"
        "    log.write(json.dumps({'args': sys.argv[1:], 'cluster': 'cluster' in info}) + '\\n')\n"
        f"print({json.dumps(credential)!r})\n"
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def google_account(project: str, namespace: str, account: str) -> str:
    """The Google service account the stand-in binds a Kubernetes service account to: one per account."""
    return f"{namespace}-{account}"[:30] + f"@{project}.iam.gserviceaccount.com"


class FakeGcp:
    """The gke cluster's cloud side (cloud/gke.py: GkeCloud) without Google Cloud: the buckets and repositories by
    the names the gcp target gives them, and a Google service account per Kubernetes service account, annotated as
    Workload Identity annotates it, with the metadata server its pods must reach. No cloud resource is made."""

    def __init__(self, stack: str, spec: Any) -> None:
        self.stack, self.spec = stack, spec

    def object_store(self, name: str, settings: Any, context: Any, parent: Any) -> tuple[Any, Any]:
        import pulumi

        from mlstack.clients.models import ObjectStoreClient
        from mlstack.components.gcp.naming import gcs_bucket_name
        from mlstack.components.outputs import Bucket, ObjectStoreOutputs, WorkloadIdentity

        names = [gcs_bucket_name(self.stack, b) for b in settings.buckets]
        buckets = tuple(
            Bucket(key, pulumi.Output.from_input(n), pulumi.Output.from_input(f"gs://{n}"))
            for key, n in zip(settings.buckets, names, strict=True)
        )

        def bind(resource: str, namespace: str, account: str, parent: Any) -> WorkloadIdentity:
            email = pulumi.Output.from_input(google_account(self.spec.project, namespace, account))
            return WorkloadIdentity({gke.WI_ANNOTATION: email}, ip_blocks=gke.METADATA_SERVER)

        client = ObjectStoreClient(flavor="gcs", region=self.spec.region, buckets=[f"gs://{n}" for n in names])
        return ObjectStoreOutputs(buckets, identity=bind), client

    def database(self, name: str, settings: Any, context: Any, parent: Any, password: Any) -> Any:
        """MLflow's Cloud SQL (`database: managed`) as its private address alone: no instance is made."""
        import pulumi

        from mlstack.components.outputs import CloudDatabase

        return CloudDatabase(pulumi.Output.from_input(DATABASE_ADDRESS), ((f"{DATABASE_ADDRESS}/32", 5432),))

    def registry(self, name: str, settings: Any, context: Any, parent: Any) -> tuple[Any, Any]:
        import pulumi

        from mlstack.clients.models import RegistryClient
        from mlstack.components.gcp.naming import artifact_registry_id
        from mlstack.components.outputs import RegistryOutputs

        first = artifact_registry_id(self.stack, settings.repositories[0])
        uri = f"{self.spec.region}-docker.pkg.dev/{self.spec.project}/{first}"
        return (
            RegistryOutputs(pulumi.Output.from_input(uri)),
            RegistryClient(flavor="artifact_registry", uri=uri, insecure=False),
        )


def client_id(namespace: str, account: str) -> str:
    """The managed identity's client id the stand-in binds a Kubernetes service account to: one per account."""
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mlstack:{namespace}/{account}"))


class FakeAzure:
    """The aks cluster's cloud side (cloud/aks.py: AksCloud) without Azure: the containers and registry by the names
    the azure target gives them, and a managed identity per Kubernetes service account, annotated and labelled as
    AKS' Workload Identity webhook reads them. No cloud resource is made."""

    def __init__(self, stack: str, spec: Any) -> None:
        self.stack, self.spec = stack, spec

    def object_store(self, name: str, settings: Any, context: Any, parent: Any) -> tuple[Any, Any]:
        import pulumi

        from mlstack.clients.models import ObjectStoreClient
        from mlstack.components.azure.naming import azure_storage_account_name
        from mlstack.components.outputs import Bucket, ObjectStoreOutputs, WorkloadIdentity

        account = azure_storage_account_name(self.stack)
        buckets = tuple(
            Bucket(c, pulumi.Output.from_input(c), pulumi.Output.from_input(f"wasbs://{c}@{account}.blob.core.windows.net"))
            for c in settings.containers
        )

        def bind(resource: str, namespace: str, account_name: str, parent: Any) -> WorkloadIdentity:
            given = pulumi.Output.from_input(client_id(namespace, account_name))
            return WorkloadIdentity({aks.WI_ANNOTATION: given}, pod_labels=dict(aks.WI_LABEL))

        client = ObjectStoreClient(
            flavor="azure_blob",
            endpoint_url=f"https://{account}.blob.core.windows.net/",
            region=self.spec.location,
            buckets=[f"az://{c}" for c in settings.containers],
        )
        return ObjectStoreOutputs(buckets, identity=bind), client

    def database(self, name: str, settings: Any, context: Any, parent: Any, password: Any) -> Any:
        """MLflow's flexible server (`database: managed`) as its name and its subnet's range alone: none is made."""
        import pulumi

        from mlstack.components.outputs import CloudDatabase

        return CloudDatabase(pulumi.Output.from_input(FLEXIBLE_ADDRESS), ((FLEXIBLE_SUBNET, 5432),))

    def registry(self, name: str, settings: Any, context: Any, parent: Any) -> tuple[Any, Any]:
        import pulumi

        from mlstack.clients.models import RegistryClient
        from mlstack.components.azure.naming import azure_registry_name
        from mlstack.components.outputs import RegistryOutputs

        server = f"{azure_registry_name(self.stack)}.azurecr.io"
        return RegistryOutputs(pulumi.Output.from_input(server)), RegistryClient(flavor="acr", uri=server, insecure=False)
