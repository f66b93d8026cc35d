"""MLflow in the cluster, on the server contract every cloud runs (components/mlflow_server.py): the official image
and start script, basic auth with a generated admin password, artifacts proxied into the stack's object store.
Its PostgreSQL is a StatefulSet on a kept volume with a generated password, reachable from MLflow and from the pods
of components that keep a database of their own on it (`TrackingOutputs.database`; they carry the label
n.DATABASE_CLIENT: Airflow).

In-cluster PostgreSQL runs without TLS (`DB_SSLMODE=disable`): its clients are admitted by a NetworkPolicy and the
traffic stays on the cluster network; the clouds' managed databases keep `require`. Beside a cluster the stack
creates, `database: managed` puts it in the cloud's managed PostgreSQL instead (the cluster's cloud side makes it:
cloud/<type>.py), reached on its private address: MLflow's egress allows that address alone, on 5432."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mlstack.clients.models import TrackingClient
from mlstack.components import mlflow_server as srv
from mlstack.components.base import Component
from mlstack.components.context import ComponentArgs
from mlstack.components.kubernetes import naming as n
from mlstack.components.kubernetes import workload as w
from mlstack.components.kubernetes.settings import KubernetesMlflowTracking
from mlstack.components.outputs import Database, ObjectStoreOutputs, TrackingOutputs
from mlstack.versions import KUBERNETES_IMAGES

APP, DB_APP = "mlflow", "mlflow-postgres"
SECRETS = "mlflow-secrets"  # keys: SECRET_ENV's names with '-' (db-password, admin-password, flask-secret)
UID, DB_UID = 1000, 70  # postgres:alpine's own uid


class KubernetesTracking(Component[KubernetesMlflowTracking, w.KubernetesPlatform, TrackingOutputs, TrackingClient]):
    TYPE = "mlstack:kubernetes:Tracking"

    def __init__(
        self,
        name: str,
        args: ComponentArgs[KubernetesMlflowTracking, w.KubernetesPlatform],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, args, opts)
        platform, st = self.platform, self.settings
        store = args.uses.store()
        prefix = st.artifact_prefix.strip("/")
        self.artifacts = store.buckets[0].uri.apply(lambda uri: f"{uri}/{prefix}")
        generated = srv.generate_secrets(name, st.auth, self)
        self.secret = k8s.core.v1.Secret(
            f"{name}-secrets",
            metadata=w.metadata(platform, SECRETS, name, APP),
            type="Opaque",
            string_data={srv.secret_name(k): v for k, v in generated.items()},
            opts=pulumi.ResourceOptions(parent=self),
        )
        if st.database == "managed":  # the cloud's, beside a cluster the stack creates (validation refuses others)
            self.managed = platform.cloud_side("database").database(
                name, st, self.context, self, generated["db_password"]
            )
            self.database: k8s.apps.v1.StatefulSet | None = None
        else:
            self.managed = None
            self.db_volume = w.volume_claim(
                f"{name}-db-volume", platform, f"{DB_APP}-data", name, st.database_storage_gb, self
            )
            self.database = self._database(name)
            w.service(f"{name}-db-service", platform, DB_APP, name, 5432, self, exposed=False)
            # MLflow, and the pods of components that keep a database of their own here (they carry the label)
            clients = [n.selector(APP), {n.DATABASE_CLIENT: "true"}]
            w.allow_ingress(f"{name}-db-ingress", platform, DB_APP, name, 5432, clients, self)
        # a cloud's store (a managed cluster's): MLflow's own service account, bound to an identity scoped to it
        self.identity = store.identity(name, platform.namespace, APP, self) if store.identity else None
        self.account = (
            w.service_account(f"{name}-service-account", platform, APP, name, self.identity, self)
            if self.identity
            else None
        )
        self.server = self._server(name, store, list(generated))
        w.service(f"{name}-service", platform, APP, name, srv.PORT, self)
        service = w.endpoint(platform, APP, srv.PORT)
        # MLflow calls its database (in the cluster, or a managed one's private address) and the object store
        # (network.py admits both; a cloud's store on its HTTPS endpoints, any host); pipelines call MLflow.
        self.flows = w.Flows(
            pods=n.selector(APP),
            serves=service,
            reaches=() if self.managed else (w.endpoint(platform, DB_APP, 5432),),
            any_host_ports=self.identity.ports if self.identity else (),
            ip_blocks=(
                *(self.identity.ip_blocks if self.identity else ()),
                *(self.managed.ip_blocks if self.managed else ()),
            ),
        )

        cluster_uri = f"http://{n.service_host(APP, platform.namespace)}:{srv.PORT}"
        host_uri = f"http://127.0.0.1:{n.host_port('tracking', st.port)}"
        uri = host_uri if platform.node_ports else cluster_uri
        self.publish(
            TrackingOutputs(
                pulumi.Output.from_input(cluster_uri),
                service=service,
                # where other components may keep a database of their own: the in-cluster one only (validation
                # refuses Airflow beside a managed one)
                database=None
                if self.managed
                else Database(w.endpoint(platform, DB_APP, 5432), srv.DB_USER, SECRETS, "db-password"),
            ),
            self.artifacts.apply(lambda a: srv.client("mlflow", uri, a, st.auth, cluster_uri=cluster_uri)),
            srv.stack_secrets(generated),
        )

    def _database(self, name: str) -> k8s.apps.v1.StatefulSet:
        env = [
            {"name": "POSTGRES_USER", "value": srv.DB_USER},
            {"name": "POSTGRES_DB", "value": srv.DB_NAME},
            w.secret_env("POSTGRES_PASSWORD", SECRETS, "db-password"),
            {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
        ]
        ready = {
            "exec": {"command": ["pg_isready", "-U", srv.DB_USER, "-d", srv.DB_NAME, "-h", "127.0.0.1"]},
            "period_seconds": 10,
            "failure_threshold": 6,
        }
        container = {
            "name": "postgres",
            "image": KUBERNETES_IMAGES["postgres"],
            "env": env,
            "ports": [{"name": "postgres", "container_port": 5432}],
            "readiness_probe": ready,
            "liveness_probe": {**ready, "initial_delay_seconds": 30},
            "resources": w.resources("100m", "256Mi", "1", "1Gi"),
            "security_context": w.container_security(),
            # the image takes POSTGRES_PASSWORD only when it makes the database: a volume `destroy` kept would keep
            # the old password, and a redeploy generates a new one
            "lifecycle": {"post_start": {"exec": {"command": ["/bin/sh", "-c", password_sync_script()]}}},
            "volume_mounts": [
                {"name": "data", "mount_path": "/var/lib/postgresql/data"},
                {"name": "run", "mount_path": "/var/run/postgresql"},
                {"name": "tmp", "mount_path": "/tmp"},
            ],
        }
        volumes = [
            {"name": "data", "persistent_volume_claim": {"claim_name": f"{DB_APP}-data"}},
            {"name": "run", "empty_dir": {"size_limit": "16Mi"}},
            {"name": "tmp", "empty_dir": {"size_limit": "256Mi"}},
        ]
        return k8s.apps.v1.StatefulSet(
            f"{name}-database",
            metadata=w.metadata(self.platform, DB_APP, name),
            spec={
                "service_name": DB_APP,
                "replicas": 1,
                "selector": {"match_labels": n.selector(DB_APP)},
                "template": w.pod_template(self.platform, DB_APP, name, [container], DB_UID, volumes),
            },
            opts=w.workload_opts(self, self.platform, self.secret, self.db_volume),
        )

    def _server(self, name: str, store: ObjectStoreOutputs, secret_keys: list[str]) -> k8s.apps.v1.Deployment:
        st, platform = self.settings, self.platform
        hosts = [
            APP,
            n.service_host(APP, platform.namespace),
            f"{APP}.{platform.namespace}.svc",
            "127.0.0.1",
            "localhost",
        ]
        allowed = ",".join(h for host in hosts for h in (host, f"{host}:*"))

        plain = srv.plain_env(n.service_host(DB_APP, platform.namespace), "", allowed, st.auth)
        # the in-cluster database has no TLS (the module's docstring); a managed one: the script's `require`
        plain.update({**({} if self.managed else {"DB_SSLMODE": "disable"}), "WORKERS": "1", "HOME": "/tmp"})
        if not self.identity:  # an in-cluster store answers any region; a cloud's region comes with its identity
            plain["AWS_DEFAULT_REGION"] = "us-east-1"
        outputs = {"ARTIFACTS_DESTINATION": self.artifacts, **({"DB_HOST": self.managed.host} if self.managed else {})}
        env: list[dict] = [{"name": k, "value": outputs.get(k, v)} for k, v in plain.items()]
        env += [w.secret_env(srv.SECRET_ENV[key], SECRETS, srv.secret_name(key)) for key in secret_keys]
        if store.endpoint is not None:
            env.append({"name": "MLFLOW_S3_ENDPOINT_URL", "value": store.endpoint})
        if store.credentials_ref:  # MinIO's keys, read from its Secret: never copied into this pod's spec
            creds = store.credentials_ref
            env += [
                w.secret_env("AWS_ACCESS_KEY_ID", creds.secret, creds.access_key),
                w.secret_env("AWS_SECRET_ACCESS_KEY", creds.secret, creds.secret_key),
            ]
        container = {
            "name": APP,
            "image": st.image,
            "command": srv.COMMAND,
            "env": env,
            "ports": [{"name": "http", "container_port": srv.PORT}],
            "readiness_probe": w.http_probe(srv.HEALTH_PATH, srv.PORT, delay=10),
            "liveness_probe": w.http_probe(srv.HEALTH_PATH, srv.PORT, delay=60),
            "resources": w.resources("250m", "512Mi", "2", "2Gi"),
            "security_context": w.container_security(),
            "volume_mounts": [{"name": "tmp", "mount_path": "/tmp"}],
        }
        template = w.pod_template(
            platform,
            APP,
            name,
            [container],
            UID,
            [{"name": "tmp", "empty_dir": {"size_limit": "1Gi"}}],
            identity=(APP, self.identity) if self.identity else None,
        )
        return k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=w.metadata(platform, APP, name),
            spec={"replicas": 1, "selector": {"match_labels": n.selector(APP)}, "template": template},
            opts=w.workload_opts(
                self,
                self.platform,
                self.secret,
                *(self.managed.resources if self.managed else [self.database]),
                *filter(None, [self.account]),
            ),
        )


def password_sync_script(tries: int = 120) -> str:
    """PostgreSQL's `postStart` hook: the owner's password set to the Secret's on every start (a kept volume keeps
    the password of the deploy that made it). Through the pod's own socket, which the image trusts (its pg_hba.conf:
    `local all all trust`; clients come over TCP with the password). It retries until the server answers, and always
    exits 0: a failed hook would kill the container, and a server that never answers fails its probes anyway."""
    return (
        "i=0\n"
        "until psql -X -q -v ON_ERROR_STOP=1 -d postgres -U \"$POSTGRES_USER\" >/dev/null 2>&1 <<'SQL'\n"
        "\\getenv user POSTGRES_USER\n"
        "\\getenv pw POSTGRES_PASSWORD\n"
        "ALTER ROLE :\"user\" WITH PASSWORD :'pw';\n"
        "SQL\n"
        "do\n"
        f'  i=$((i+1)); [ "$i" -ge {tries} ] && exit 0; sleep 1\n'
        "done\n"
    )
