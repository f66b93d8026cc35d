"""MLflow tracking server on 127.0.0.1: SQLite backend store; artifacts proxied by the server into the
stack's object store (clients need only the tracking URI, no S3 keys)."""

from __future__ import annotations

import os
from pathlib import Path

import pulumi

from mlstack.clients.models import SecretRef, TrackingClient
from mlstack.components.base import Component
from mlstack.components.context import ComponentArgs
from mlstack.components.generated import GeneratedSecret
from mlstack.components.local.generated import port_of
from mlstack.components.local.process import ManagedProcess
from mlstack.components.mlflow_server import ADMIN, PASSWORD_ENV, PASSWORD_OUTPUT
from mlstack.components.outputs import TrackingOutputs, as_secret
from mlstack.recipe.settings import MlflowTracking
from mlstack.versions import RUNTIMES


def auth_config(password: str, database: str) -> str:
    """basic_auth.ini of MLflow's basic-auth app; the user database is recreated on each deploy with this password."""
    return (
        "[mlflow]\ndefault_permission = READ\n"
        f"database_uri = sqlite:///{database}\n"
        f"admin_username = {ADMIN}\nadmin_password = {password}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )


class LocalTracking(Component[MlflowTracking, None, TrackingOutputs, TrackingClient]):
    TYPE = "mlstack:local:Tracking"

    def __init__(
        self, name: str, args: ComponentArgs[MlflowTracking, None], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, args, opts)
        self.store = args.uses.object_store
        self.port = port_of(name, self.settings.port, self)
        child = pulumi.ResourceOptions(parent=self)
        self.password = GeneratedSecret(f"{name}-admin-password", opts=child) if self.settings.auth else None
        self.flask_key = GeneratedSecret(f"{name}-flask-secret", nbytes=32, opts=child) if self.settings.auth else None
        self.artifact_root = self._artifact_root(name)
        self.process = self._create_process(name)
        auth = self.settings.auth
        client = pulumi.Output.all(self.process.served_port, self.artifact_root).apply(  # the server that runs
            lambda a: TrackingClient(
                flavor="mlflow",
                tracking_uri=f"http://127.0.0.1:{a[0]}",
                artifact_root=a[1],
                username=ADMIN if auth else None,
                password=SecretRef(output=PASSWORD_OUTPUT, env=PASSWORD_ENV) if auth else None,
            )
        )
        self.publish(
            TrackingOutputs(self.port.apply(lambda p: f"http://127.0.0.1:{p}")),
            client,
            {PASSWORD_OUTPUT: self.password.value} if self.password else None,
        )

    def _artifact_root(self, name: str) -> pulumi.Output[str]:
        if self.store is None:  # no object store in the recipe: artifacts on local disk
            return pulumi.Output.from_input((self.context.data_dir(name) / "artifacts").as_uri())
        prefix = self.settings.artifact_prefix.strip("/")
        return self.store.buckets[0].uri.apply(lambda uri: f"{uri}/{prefix}")

    def _env(self) -> pulumi.Output[dict]:
        mlflow_bin = str(Path(self.context.runtime("mlflow")).parent)
        base = {
            # mlflow starts uvicorn by name: its own virtualenv's bin must come first on PATH.
            "PATH": f"{mlflow_bin}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",  # else ~10 processes and 1.8 GiB
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
        }
        if self.settings.auth:
            base["MLFLOW_AUTH_CONFIG_PATH"] = str(self.context.run_dir("tracking") / "basic_auth.ini")
        store = [self.store.endpoint, self.store.access_key, self.store.secret_key] if self.store else [None] * 3
        key = self.flask_key.value if self.flask_key else None
        return pulumi.Output.secret(
            pulumi.Output.all(key, *store).apply(
                lambda a: {
                    **base,
                    **({"MLFLOW_FLASK_SERVER_SECRET_KEY": a[0]} if a[0] else {}),
                    **(
                        {
                            "MLFLOW_S3_ENDPOINT_URL": a[1],
                            "AWS_ACCESS_KEY_ID": a[2],
                            "AWS_SECRET_ACCESS_KEY": a[3],
                            "AWS_DEFAULT_REGION": "us-east-1",
                        }
                        if a[1]
                        else {}
                    ),
                }
            )
        )

    def _create_process(self, name: str) -> ManagedProcess:
        run, data = self.context.run_dir(name), self.context.data_dir(name)
        auth = ["--app-name", "basic-auth"] if self.settings.auth else []
        argv = pulumi.Output.all(self.port, self.artifact_root).apply(
            lambda a: [
                self.context.runtime("mlflow"),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(a[0]),
                "--workers",
                "1",
                "--backend-store-uri",
                f"sqlite:///{data / 'mlflow.db'}",
                "--artifacts-destination",
                a[1],
                "--serve-artifacts",
                *auth,
            ]
        )
        auth_ini, auth_db = str(run / "basic_auth.ini"), str(run / "basic_auth.db")
        files: pulumi.Input[dict] = (
            as_secret(self.password.value.apply(lambda pw: {auth_ini: auth_config(pw, auth_db)}))
            if self.password
            else {}
        )
        return ManagedProcess(
            f"{name}-server",
            service="mlflow",
            argv=argv,
            port=self.port,
            health_url=self.port.apply(lambda p: f"http://127.0.0.1:{p}/health"),
            log_file=str(run / "mlflow.log"),
            env=self._env(),
            files=files,
            dirs=[str(data), str(run)],
            cwd=str(run),
            ready_timeout=120.0,
            # `mlflow server` forwards TERM to its uvicorn and waits for it; then it only tears down an interpreter
            # that imported all of MLflow (0.8 s alone, 2 s beside other services stopping): killed instead.
            supervisor=True,
            port_setting=f"components.{name}.port",
            # A new MLflow pin may change the database schema: it is migrated before the new version starts.
            migrate={
                "argv": [self.context.runtime("mlflow"), "db", "upgrade", f"sqlite:///{data / 'mlflow.db'}"],
                "version": RUNTIMES["mlflow"].version,
                "data": str(data / "mlflow.db"),
                "stamp": str(data / "mlflow.db.version"),
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
