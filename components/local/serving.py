"""Seldon MLServer on 127.0.0.1: the V2 (open inference) protocol over HTTP, with a model repository.

Clients put a model folder (model-settings.json + artifacts) into the repository directory and load it through
the repository API (`POST /v2/repository/models/{name}/load`); models found there load again at start-up.
"""

from __future__ import annotations

import pulumi

from mlstack.clients.models import ServingClient
from mlstack.components.base import Component
from mlstack.components.context import ComponentArgs
from mlstack.components.local.generated import port_of
from mlstack.components.local.process import ManagedProcess
from mlstack.components.outputs import ServingOutputs
from mlstack.recipe.settings import MlserverServing


def mlserver_env(http: int, grpc: int, metrics: int, run: str) -> dict[str, str]:
    """MLServer's settings as MLSERVER_* variables: every listener on 127.0.0.1 (its default host is 0.0.0.0).

    Environment, not settings.json: `mlserver start FOLDER` makes FOLDER the model repository, and the
    repository (kept data) is no place for the server's run-time settings.
    """
    return {
        "MLSERVER_HOST": "127.0.0.1",
        "MLSERVER_HTTP_PORT": str(http),
        "MLSERVER_GRPC_PORT": str(grpc),
        "MLSERVER_METRICS_PORT": str(metrics),
        "MLSERVER_LOAD_MODELS_AT_STARTUP": "true",
        "MLSERVER_PARALLEL_WORKERS": "0",  # inference in the server process: one process, ~200 MiB
        "MLSERVER_DEBUG": "false",
        "MLSERVER_ENVIRONMENTS_DIR": f"{run}/envs",
        "MLSERVER_METRICS_DIR": f"{run}/metrics",
    }


class LocalServing(Component[MlserverServing, None, ServingOutputs, ServingClient]):
    TYPE = "mlstack:local:Serving"

    def __init__(
        self, name: str, args: ComponentArgs[MlserverServing, None], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, args, opts)
        self.port = port_of(name, self.settings.port, self)
        # Side ports move with the main port, so a replacement on a new port starts beside the old server.
        self.grpc_port = port_of(f"{name}-grpc", None, self, follows=self.port)
        self.metrics_port = port_of(f"{name}-metrics", None, self, follows=self.port)
        self.repository = str(self.context.data_dir(name) / "models")
        self.process = self._create_process(name)
        client = self.process.served_port.apply(  # the server that runs: not a port a failed deploy never opened
            lambda p: ServingClient(
                flavor="mlserver", base_url=f"http://127.0.0.1:{p}", protocol="v2", model_repository=self.repository
            )
        )
        self.publish(ServingOutputs(client.apply(lambda c: c.base_url)), client)

    def _create_process(self, name: str) -> ManagedProcess:
        run = self.context.run_dir(name)
        env = pulumi.Output.all(self.port, self.grpc_port, self.metrics_port).apply(
            lambda p: mlserver_env(p[0], p[1], p[2], str(run))
        )
        return ManagedProcess(
            f"{name}-server",
            service="mlserver",
            argv=[self.context.runtime("mlserver"), "start", self.repository],
            port=self.port,
            extra_ports=pulumi.Output.all(self.grpc_port, self.metrics_port),
            health_url=self.port.apply(lambda p: f"http://127.0.0.1:{p}/v2/health/ready"),
            log_file=str(run / "mlserver.log"),
            env=env,
            dirs=[self.repository, str(run / "envs"), str(run / "metrics")],
            cwd=str(run),
            ready_timeout=60.0,
            port_setting=f"components.{name}.port",
            opts=pulumi.ResourceOptions(parent=self),
        )
