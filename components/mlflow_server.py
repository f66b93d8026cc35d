"""The MLflow server container every cloud runs: one start script, configured only through environment variables.

The cloud's secret store injects the database and admin passwords as environment variables (never in the task
definition or the image); the script builds the database URI and MLflow's basic-auth config from them, in the
container's tmpfs, and then execs `mlflow server`. Artifacts are proxied (`--serve-artifacts`), so clients need
only the tracking URI; the server reaches the object store through the cloud identity it runs as.
"""

from __future__ import annotations

import pulumi

from mlstack.clients.models import SecretRef, TrackingClient
from mlstack.components.generated import GeneratedSecret

# The client contract, the same on every target: user `admin`, password in the `secrets` output under this key.
ADMIN = "admin"
PASSWORD_OUTPUT = "tracking_password"
PASSWORD_ENV = "MLFLOW_TRACKING_PASSWORD"

PORT = 5000
DB_USER = "mlflow"
DB_NAME = "mlflow"
HEALTH_PATH = "/health"

# Environment the script reads. Secrets: DB_PASSWORD, MLFLOW_ADMIN_PASSWORD, MLFLOW_FLASK_SERVER_SECRET_KEY.
SECRET_ENV = {
    "db_password": "DB_PASSWORD",
    "admin_password": "MLFLOW_ADMIN_PASSWORD",
    "flask_secret": "MLFLOW_FLASK_SERVER_SECRET_KEY",
}

START_SCRIPT = r"""set -eu
umask 077
db="postgresql+psycopg://${DB_USER}:${DB_PASSWORD}@${DB_HOST}:${DB_PORT:-5432}/${DB_NAME}?sslmode=${DB_SSLMODE:-require}"
set --
if [ -n "${MLFLOW_ADMIN_PASSWORD:-}" ]; then
  printf '[mlflow]\ndefault_permission = READ\ndatabase_uri = %s\nadmin_username = %s\nadmin_password = %s\nauthorization_function = mlflow.server.auth:authenticate_request_basic_auth\n' \
    "$db" "$MLFLOW_ADMIN_USERNAME" "$MLFLOW_ADMIN_PASSWORD" > /tmp/basic_auth.ini
  export MLFLOW_AUTH_CONFIG_PATH=/tmp/basic_auth.ini
  set -- --app-name basic-auth
fi
# A database an earlier MLflow wrote is migrated to this image's schema before the server starts (the server
# refuses an out-of-date schema); one with no MLflow tables yet is left to the server, which creates them.
found=0
python -c 'import sys, sqlalchemy as sa; sys.exit(3 if sa.inspect(sa.create_engine(sys.argv[1])).has_table("alembic_version") else 0)' "$db" || found=$?
if [ "$found" = 3 ]; then
  echo "mlstack: migrating the MLflow database to this image's schema (mlflow db upgrade)"
  mlflow db upgrade "$db"
elif [ "$found" != 0 ]; then
  echo "mlstack: the MLflow database cannot be read (exit $found)" >&2
  exit "$found"
fi
exec mlflow server --host "${HOST:-0.0.0.0}" --port "$PORT" --workers "${WORKERS:-2}" \
  --backend-store-uri "$db" --artifacts-destination "$ARTIFACTS_DESTINATION" --serve-artifacts "$@"
"""

COMMAND = ["/bin/sh", "-c", START_SCRIPT]


def plain_env(db_host: str, artifacts: str, allowed_hosts: str, auth: bool) -> dict[str, str]:
    """Non-secret environment of the server container."""
    env = {
        "DB_USER": DB_USER,
        "DB_NAME": DB_NAME,
        "DB_HOST": db_host,
        "PORT": str(PORT),
        "ARTIFACTS_DESTINATION": artifacts,
        # Host-header check (DNS rebinding); /health is exempt, so load balancer probes pass.
        "MLFLOW_SERVER_ALLOWED_HOSTS": allowed_hosts,
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
    }
    if auth:
        env["MLFLOW_ADMIN_USERNAME"] = ADMIN
    return env


def generate_secrets(name: str, auth: bool, parent: pulumi.Resource) -> dict[str, pulumi.Output[str]]:
    """The server's secrets, generated once and kept as Pulumi secrets; keyed as in SECRET_ENV."""
    child = pulumi.ResourceOptions(parent=parent)
    values = {"db_password": GeneratedSecret(f"{name}-db-password", nbytes=24, mixed=True, opts=child).value}
    if auth:
        values["admin_password"] = GeneratedSecret(f"{name}-admin-password", opts=child).value
        values["flask_secret"] = GeneratedSecret(f"{name}-flask-secret", nbytes=32, opts=child).value
    return values


def stack_secrets(generated: dict[str, pulumi.Output[str]]) -> dict[str, pulumi.Output[str]]:
    """What the stack's `secrets` output carries: the admin password clients log in with (when auth is on)."""
    return {PASSWORD_OUTPUT: generated["admin_password"]} if "admin_password" in generated else {}


def secret_name(key: str) -> str:
    """A generated secret's name in a cloud secret store (`db-password`): lowercase letters, digits and '-'."""
    return key.replace("_", "-")


def client(
    flavor: str, url: str, artifacts: str, auth: bool, dns_target: str | None = None, cluster_uri: str | None = None
) -> TrackingClient:
    return TrackingClient(
        flavor=flavor,
        tracking_uri=url,
        artifact_root=artifacts,
        dns_target=dns_target,
        username=ADMIN if auth else None,
        password=SecretRef(output=PASSWORD_OUTPUT, env=PASSWORD_ENV) if auth else None,
        cluster_tracking_uri=cluster_uri,
    )
