"""Apache Airflow in the stack's namespace, from its official chart (versions.CHARTS["airflow"], `helm.v4.Chart`):
the KubernetesExecutor (a pod per task: no Celery, no Redis), its metadata in a database of its own on the stack's
PostgreSQL (the tracking component's server), task logs and DAGs in the stack's object store (remote logging, and
an S3 DAG bundle: ZenML uploads each pipeline's DAG archive under `dags_prefix`).

What mlstack makes besides the chart, and so what the engine test proves on a real API server:
- one Secret with what the chart reads by name (the metadata connection, the Fernet key, the API and JWT secrets)
  and what mlstack's Jobs and the pods read (the database and admin passwords, the object store connection), all
  generated once and kept as Pulumi secrets;
- a Job that makes the database and its owner on the stack's PostgreSQL (idempotent, as its superuser, whose
  password it reads from the tracking component's Secret), and a Job that makes the admin user after the chart
  migrated the database (the chart's own would carry the password in its Job spec);
- the service account ZenML's step pods run as (no token), and the NetworkPolicies: Airflow's pods to the
  database, the object store, the API server (the executor launches pods) and their own API server (task pods
  report through its execution API).

The chart's values (`values()`) turn off what mlstack provides (its PostgreSQL, Redis, StatsD) and Helm hooks
(v4 runs none: the migration is a plain Job, as the chart documents for such installers), and give every pod the
`restricted` security context."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlstack.clients.models import OrchestratorClient, SecretRef
from mlstack.components.base import Component
from mlstack.components.context import ComponentArgs
from mlstack.components.generated import GeneratedSecret
from mlstack.components.kubernetes import addons
from mlstack.components.kubernetes import naming as n
from mlstack.components.kubernetes import workload as w
from mlstack.components.kubernetes.orchestrator import API_PORTS, PIPELINE_PODS, STEP_ACCOUNT
from mlstack.components.kubernetes.settings import KubernetesAirflowOrchestrator
from mlstack.components.outputs import Database, ObjectStoreOutputs, OrchestratorOutputs
from mlstack.versions import CHARTS, KUBERNETES_IMAGES

RELEASE = "airflow"  # the chart's objects are named airflow-<component> (the release name holds "airflow")
SECRETS = "airflow-secrets"
DB_NAME = DB_USER = "airflow"
SETUP_APP = "airflow-setup"  # mlstack's Jobs: the database, the admin user
API_APP, API_PORT = "airflow-api-server", 8080  # the chart's api-server Service, and the name label mlstack gives it
CONNECTION = "mlstack_s3"  # Airflow's connection to the object store (logs, DAGs): AIRFLOW_CONN_MLSTACK_S3
ADMIN = "admin"
AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"  # the chart's default
UID = 50000  # the image's airflow user; group 0 as the image expects
AIRFLOW_PODS = {"tier": "airflow", "release": RELEASE}
# Service-account tokens only where the API server is called: the scheduler (the executor launches task pods), the
# task pods (ZenML's steps are pods they launch) and the triggerer (deferred pod operators watch their pods).
NO_TOKEN = {"automountServiceAccountToken": False}
NEEDS_NO_TOKEN = ("apiServer", "dagProcessor", "migrateDatabaseJob")  # on every pod of the chart, task pods included
PASSWORD_OUTPUT, PASSWORD_ENV = "orchestrator_password", "MLSTACK_ORCHESTRATOR_PASSWORD"
DB_CLIENT = {n.DATABASE_CLIENT: "true"}  # the stack's PostgreSQL admits the pods that carry it
# Airflow's parts that keep its metadata: they carry DB_CLIENT. Task pods use the API server's execution API.
DB_PARTS = ("scheduler", "apiServer", "dagProcessor", "triggerer", "migrateDatabaseJob")


class KubernetesAirflow(
    Component[KubernetesAirflowOrchestrator, w.KubernetesPlatform, OrchestratorOutputs, OrchestratorClient]
):
    TYPE = "mlstack:kubernetes:AirflowOrchestrator"

    def __init__(
        self,
        name: str,
        args: ComponentArgs[KubernetesAirflowOrchestrator, w.KubernetesPlatform],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, args, opts)
        platform, st, child = self.platform, self.settings, pulumi.ResourceOptions(parent=self)
        store = self.uses.store()
        tracking = self.uses.tracking
        if tracking is None or tracking.database is None:
            raise ValueError("Airflow keeps its metadata on the stack's PostgreSQL (the tracking component's)")
        if store.endpoint is None or store.access_key is None or store.secret_key is None:
            raise ValueError("Airflow keeps logs and DAGs in an in-cluster S3 store with keys")
        database = tracking.database
        bucket = store.buckets[0].name
        self.secret = self._secret(name, database, store)
        k8s.core.v1.ServiceAccount(
            f"{name}-step-account",
            metadata=w.metadata(platform, STEP_ACCOUNT, name),
            automount_service_account_token=False,
            opts=child,
        )
        created = self._job(name, "database", _database_script(), database, after=[self.secret])
        self.chart = k8s.helm.v4.Chart(
            f"{name}-chart",
            name=RELEASE,
            namespace=platform.namespace_name,
            values=bucket.apply(lambda b: values(platform, st, b, name)),
            **addons.chart_source(CHARTS["airflow"], addons.mirror()),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[created]),
        )
        self._job(name, "admin", _admin_script(), database, after=[self.chart])
        # The parts of Airflow that keep its metadata (DB_PARTS) and mlstack's Jobs reach the database, which admits
        # them by their label (DB_CLIENT); task pods do not (they report through the API server's execution API).
        db = database.service
        w.allow_egress(
            f"{name}-db-egress", platform, "airflow-metadata", name, [(db.selector, db.port)], self, selector=DB_CLIENT
        )
        # Airflow's pods are pipeline pods too (the chart labels them): they reach what pipelines reach (the object
        # store among them), their API server and the Kubernetes API; the API server admits Airflow's own pods (the
        # task pods report to it).
        api = w.endpoint(platform, API_APP, API_PORT)
        self.flows = w.Flows(
            pods=PIPELINE_PODS,
            serves=api,
            admits=(AIRFLOW_PODS,),
            reaches=(api,),
            any_host_ports=API_PORTS,
            egress_name="pipelines",
        )
        registry = self.uses.registry
        pull = registry.pull_secret if registry else None
        cluster_url = f"http://{api.host}:{API_PORT}"
        self.publish(
            OrchestratorOutputs(),
            bucket.apply(
                lambda b: OrchestratorClient(
                    flavor="airflow",
                    url=cluster_url,
                    cluster_url=cluster_url,
                    kubernetes_context=platform.context,
                    kubernetes_namespace=platform.namespace,
                    step_service_account=STEP_ACCOUNT,
                    pod_labels=PIPELINE_PODS,
                    image_pull_secrets=[pull] if pull else None,
                    dags_uri=f"s3://{b}/{st.dags_prefix.strip('/')}/",
                    logs_uri=f"s3://{b}/{st.logs_prefix.strip('/')}",
                    username=ADMIN,
                    password=SecretRef(output=PASSWORD_OUTPUT, env=PASSWORD_ENV),
                )
            ),
            {PASSWORD_OUTPUT: self.admin_password},
        )

    def _secret(self, name: str, database: Database, store: ObjectStoreOutputs) -> k8s.core.v1.Secret:
        child = pulumi.ResourceOptions(parent=self)

        def generated(key: str, nbytes: int = 24) -> pulumi.Output[str]:
            return GeneratedSecret(f"{name}-{key}", nbytes=nbytes, mixed=key.endswith("password"), opts=child).value

        db_password = generated("db-password")
        self.admin_password = generated("admin-password")
        connection: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.format(
                "postgresql://{0}:{1}@{2}:{3}/{4}",
                DB_USER,
                db_password,
                database.service.host,
                database.service.port,
                DB_NAME,
            )
        )
        s3 = pulumi.Output.all(store.access_key, store.secret_key, store.endpoint).apply(lambda a: s3_connection(*a))
        data: dict[str, pulumi.Input[str]] = {
            "connection": connection,  # the chart's metadataSecretName
            "fernet-key": generated("fernet-key", 32).apply(lambda v: v + "="),  # base64url of 32 bytes, padded
            "api-secret-key": generated("api-secret-key", 32),
            "jwt-secret": generated("jwt-secret", 32),
            "db-password": db_password,
            "admin-password": self.admin_password,
            "s3-connection": s3,  # made of secrets: a secret
        }
        return k8s.core.v1.Secret(
            f"{name}-secrets",
            metadata=w.metadata(self.platform, SECRETS, name, RELEASE),
            type="Opaque",
            string_data=data,
            opts=child,
        )

    def _job(
        self, name: str, what: str, script: str, database: Database, after: list[pulumi.Resource]
    ) -> k8s.batch.v1.Job:
        """One of mlstack's set-up Jobs: `database` with PostgreSQL's client as its superuser, `admin` with Airflow's
        CLI against the migrated database. Secrets come by reference."""
        env = [
            {"name": "HOME", "value": "/tmp"},
            {"name": "PGHOST", "value": database.service.host},
            {"name": "PGPORT", "value": str(database.service.port)},
            {"name": "PGUSER", "value": database.admin_user},
            {"name": "PGDATABASE", "value": "postgres"},
            w.secret_env("PGPASSWORD", database.secret, database.password_key),
            w.secret_env("AIRFLOW_DB_PASSWORD", SECRETS, "db-password"),
        ]
        image, uid = KUBERNETES_IMAGES["postgres"], 70
        if what == "admin":
            image, uid = KUBERNETES_IMAGES["airflow"], UID
            env = [
                {"name": "HOME", "value": "/tmp"},
                {"name": "AIRFLOW_HOME", "value": "/tmp/airflow"},  # the CLI writes its config there
                {"name": "AIRFLOW__CORE__AUTH_MANAGER", "value": AUTH_MANAGER},
                w.secret_env("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", SECRETS, "connection"),
                w.secret_env("AIRFLOW__CORE__FERNET_KEY", SECRETS, "fernet-key"),
                w.secret_env("ADMIN_PASSWORD", SECRETS, "admin-password"),
            ]
        container = {
            "name": what,
            "image": image,
            "command": ["/bin/sh", "-c", script],
            "env": env,
            "resources": w.resources("50m", "128Mi", "1", "1Gi"),
            "security_context": w.container_security(),
            "volume_mounts": [{"name": "tmp", "mount_path": "/tmp"}],
        }
        template = w.pod_template(
            self.platform, SETUP_APP, name, [container], uid, [{"name": "tmp", "empty_dir": {"size_limit": "64Mi"}}]
        )
        template["spec"]["restart_policy"] = "OnFailure"
        template["metadata"]["labels"].update(DB_CLIENT)  # the database admits it
        return k8s.batch.v1.Job(
            f"{name}-{what}",
            metadata=w.metadata(self.platform, f"airflow-{what}", name, SETUP_APP),
            spec={"backoff_limit": 10, "template": template},
            opts=w.workload_opts(self, self.platform, *after, delete_before_replace=True),
        )


def s3_connection(access_key: str, secret_key: str, endpoint: str) -> str:
    """Airflow's connection to the object store (AIRFLOW_CONN_MLSTACK_S3), as the JSON Airflow reads from the
    environment: the amazon provider's `aws` type, the store's keys, its endpoint."""
    return json.dumps(
        {
            "conn_type": "aws",
            "login": access_key,
            "password": secret_key,
            "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"},
        }
    )


def _database_script() -> str:
    """The database and its owner, made once; the owner's password set on every run (idempotent)."""
    sql = (
        f"SELECT 'CREATE ROLE {DB_USER} LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{DB_USER}')"
        "\\gexec\n"
        "\\getenv pw AIRFLOW_DB_PASSWORD\n"
        f"ALTER ROLE {DB_USER} WITH LOGIN PASSWORD :'pw';\n"
        f"SELECT 'CREATE DATABASE {DB_NAME} OWNER {DB_USER}' "
        f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DB_NAME}')\\gexec\n"
    )
    return f"set -eu\nuntil pg_isready -t 5; do sleep 2; done\npsql -v ON_ERROR_STOP=1 <<'SQL'\n{sql}SQL\n"


def _admin_script() -> str:
    """The admin user of the chart's auth manager (FAB), once the chart's Job has migrated the database (applied from
    `render`'s manifests, it may start first): made with the generated password, or given it again (a redeploy after
    a destroy that kept the database generates a new one)."""
    return (
        "set -eu\nairflow db check-migrations --migration-wait-timeout 3600\n"
        f'if airflow users list -o json | grep -Eq \'"username": ?"{ADMIN}"\'; then\n'
        f'  exec airflow users reset-password --username {ADMIN} --password "$ADMIN_PASSWORD"\nfi\n'
        f"exec airflow users create --role Admin --username {ADMIN} --email {ADMIN}@localhost --firstname Admin "
        '--lastname User --password "$ADMIN_PASSWORD"\n'
    )


def chart_problems(given: dict[str, Any]) -> list[str]:
    """What the policy suite checks of the values Airflow's chart gets (CHART_RULES). Its containers keep a writable
    root (the image writes under its AIRFLOW_HOME: task logs before their upload, runtime files); `restricted` asks
    for none, and mlstack's own pods keep their read-only root."""

    def part(*path: str) -> dict[str, Any]:
        node: Any = given
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        return node if isinstance(node, dict) else {}

    found = []
    pod, container = part("securityContexts", "pod"), part("securityContexts", "containers")
    if pod.get("runAsNonRoot") is not True or (pod.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        found.append("securityContexts.pod: not non-root with the RuntimeDefault seccomp profile")
    if container.get("allowPrivilegeEscalation") is not False or (container.get("capabilities") or {}).get("drop") != [
        "ALL"
    ]:
        found.append("securityContexts.containers: privilege escalation or capabilities left")
    # what runs without the chart's security contexts (git-sync, the subcharts) or outside the namespace's flows
    for key in ("postgresql", "redis", "statsd", "pgbouncer", "flower"):
        if part(key).get("enabled", key in ("postgresql", "redis", "statsd")) is not False:
            found.append(f"{key}: on (it runs outside the chart's security contexts, or beside the stack's own)")
    if part("dags", "gitSync").get("enabled"):
        found.append("dags.gitSync: on (its sidecar runs outside the chart's security contexts)")
    ingress = given.get("ingress")
    if ingress and (
        not isinstance(ingress, dict) or any(v is True or part("ingress", k).get("enabled") for k, v in ingress.items())
    ):
        found.append("ingress: exposed outside the cluster")
    if part("apiServer", "service").get("type", "ClusterIP") != "ClusterIP":
        found.append("apiServer.service.type: exposed outside the cluster")
    for key in ("fernetKeySecretName", "apiSecretKeySecretName", "jwtSecretName"):
        if not given.get(key):
            found.append(f"{key}: unset (the chart would make a new secret at every render)")
    if not part("data").get("metadataSecretName"):
        found.append("data.metadataSecretName: unset (the connection would be a literal value)")
    for key in NEEDS_NO_TOKEN:
        if part(key, "serviceAccount").get("automountServiceAccountToken") is not False:
            found.append(f"{key}.serviceAccount: a token mounted where the API server is never called")
    if part("createUserJob").get("enabled", True) is not False:
        found.append("createUserJob: on (its Job spec carries the admin password)")
    return found


CHART_RULES = {RELEASE: chart_problems}
# What the keys of mlstack's Secret hold (render's SECRETS.md): for a GitOps user who creates it.
SECRET_MEANINGS = {
    (SECRETS, "connection"): "Airflow's metadata database URL: `postgresql://airflow:<db-password>@mlflow-postgres."
    "<namespace>.svc.cluster.local:5432/airflow` (URL-encode a password you choose)",
    (SECRETS, "fernet-key"): "Airflow's Fernet key: 32 random bytes, URL-safe base64 with its padding (`python -c "
    "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`); keep it while the database "
    "is kept: what Airflow encrypted with it (connections, variables) cannot be read with another",
    (SECRETS, "api-secret-key"): "Airflow's API server secret key: 43 random characters",
    (SECRETS, "jwt-secret"): "Airflow's JWT signing secret: 43 random characters",
    (SECRETS, "db-password"): "the password of Airflow's own PostgreSQL role `airflow`: 32 random characters "
    "(letters, digits, - and _)",
    (SECRETS, "admin-password"): "Airflow's admin password (log in as `admin`)",
    (SECRETS, "s3-connection"): "Airflow's connection to the object store, as JSON: "
    '`{"conn_type": "aws", "login": <access key id>, "password": <secret key>, "extra": {"endpoint_url": <the '
    'store\'s in-cluster URL>, "region_name": "us-east-1"}}`',
}


def values(
    platform: w.KubernetesPlatform, st: KubernetesAirflowOrchestrator, bucket: str, component: str = "orchestrator"
) -> dict[str, Any]:
    """The chart's values mlstack sets (checked as data against the chart's schema where a mirror holds it)."""
    repository, _, tag = KUBERNETES_IMAGES["airflow"].rpartition(":")
    secret = [
        {"envName": f"AIRFLOW_CONN_{CONNECTION.upper()}", "secretName": SECRETS, "secretKey": "s3-connection"},
    ]
    restricted_pod = {
        "runAsUser": UID,
        "runAsGroup": 0,
        "fsGroup": 0,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    restricted_container = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    # plain Jobs (v4 runs no hook), kept once finished as mlstack's own are: Pulumi owns the object, and one that
    # deleted itself (the chart's default is after 300 s) would read as drift. (A null, the chart's way to leave the
    # field out, is not carried to the chart by every engine path: the longest TTL Kubernetes takes instead.)
    no_hook = {"useHelmHooks": False, "applyCustomEnv": False, "ttlSecondsAfterFinished": 2**31 - 1}
    given: dict[str, Any] = {
        "executor": "KubernetesExecutor",
        "defaultAirflowRepository": repository,
        "defaultAirflowTag": tag,
        "airflowVersion": tag,
        # every pod of the chart is a pipeline pod (the stack's services admit it); `component` names it in `drift`
        "labels": {**PIPELINE_PODS, n.STACK: platform.stack, n.PART_OF: "mlstack", n.COMPONENT: component},
        "securityContexts": {"pod": restricted_pod, "containers": restricted_container},
        "data": {"metadataSecretName": SECRETS},
        "fernetKeySecretName": SECRETS,
        "apiSecretKeySecretName": SECRETS,
        "jwtSecretName": SECRETS,
        "secret": secret,
        "postgresql": {"enabled": False},
        "redis": {"enabled": False},
        "statsd": {"enabled": False},
        "pgbouncer": {"enabled": False},
        "migrateDatabaseJob": {**no_hook, "serviceAccount": NO_TOKEN},
        "createUserJob": {**no_hook, "enabled": False},  # mlstack's Job makes the admin, its password by reference
        "apiServer": {"serviceAccount": NO_TOKEN},
        "triggerer": {"persistence": {"enabled": False}},  # task logs go to the object store
        "dagProcessor": {
            "serviceAccount": NO_TOKEN,
            "dagBundleConfigList": [
                {
                    "name": "mlstack-s3",
                    "classpath": "airflow.providers.amazon.aws.bundles.s3.S3DagBundle",
                    "kwargs": {
                        "aws_conn_id": CONNECTION,
                        "bucket_name": bucket,
                        "prefix": st.dags_prefix.strip("/"),
                        "refresh_interval": st.dag_refresh_s,
                    },
                }
            ],
        },
        "config": {
            "core": {"auth_manager": AUTH_MANAGER},
            "logging": {
                "remote_logging": "True",
                "remote_base_log_folder": f"s3://{bucket}/{st.logs_prefix.strip('/')}",
                "remote_log_conn_id": CONNECTION,
            },
        },
    }
    for key in DB_PARTS:  # the parts that keep the metadata: the database admits them (the API server: its name too)
        given.setdefault(key, {})["labels"] = {**DB_CLIENT, **(n.selector(API_APP) if key == "apiServer" else {})}
    return given
