"""CNCF distribution registry (Debian `docker-registry`) on 127.0.0.1 with filesystem storage and htpasswd auth."""

from __future__ import annotations

import json

import pulumi

from mlstack.clients.models import RegistryClient, SecretRef
from mlstack.components.base import Component
from mlstack.components.context import ComponentArgs
from mlstack.components.generated import GeneratedSecret
from mlstack.components.local.generated import port_of
from mlstack.components.local.process import ManagedProcess
from mlstack.components.outputs import RegistryOutputs
from mlstack.recipe.settings import DistributionRegistry

USERNAME = "mlstack"
PASSWORD_OUTPUT = "registry_password"
PASSWORD_ENV = "MLSTACK_REGISTRY_PASSWORD"


def registry_config(port: int, storage: str, http_secret: str, htpasswd: str | None) -> str:
    """distribution's config.yml; JSON is YAML, so no template is needed."""
    config: dict = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "text"},
        "storage": {"filesystem": {"rootdirectory": storage}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": http_secret},
    }
    if htpasswd:
        config["auth"] = {"htpasswd": {"realm": "mlstack", "path": htpasswd}}
    return json.dumps(config, indent=2)


class LocalRegistry(Component[DistributionRegistry, None, RegistryOutputs, RegistryClient]):
    TYPE = "mlstack:local:Registry"

    def __init__(
        self, name: str, args: ComponentArgs[DistributionRegistry, None], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, args, opts)
        self.port = port_of(name, self.settings.port, self)
        self.http_secret = GeneratedSecret(f"{name}-http-secret", opts=pulumi.ResourceOptions(parent=self))
        self.password = (
            GeneratedSecret(f"{name}-password", with_bcrypt=True, opts=pulumi.ResourceOptions(parent=self))
            if self.settings.auth
            else None
        )
        self.process = self._create_process(name)
        self.publish(
            RegistryOutputs(
                self.port.apply(lambda p: f"127.0.0.1:{p}"), password=self.password.value if self.password else None
            ),
            self.process.served_port.apply(self._client),  # the server that runs, not the recipe's wish
            {PASSWORD_OUTPUT: self.password.value} if self.password else None,
        )

    def _create_process(self, name: str) -> ManagedProcess:
        run, data = self.context.run_dir(name), self.context.data_dir(name)
        config_path, htpasswd_path = str(run / "config.yml"), str(run / "htpasswd")
        bcrypt_hash = self.password.bcrypt if self.password else None
        files = pulumi.Output.all(self.port, self.http_secret.value, bcrypt_hash).apply(
            lambda a: {
                config_path: registry_config(a[0], str(data), a[1], htpasswd_path if a[2] else None),
                **({htpasswd_path: f"{USERNAME}:{a[2]}\n"} if a[2] else {}),
            }
        )
        return ManagedProcess(
            f"{name}-server",
            service="registry",
            argv=[self.context.runtime("registry"), "serve", config_path],
            port=self.port,
            health_url=self.port.apply(lambda p: f"http://127.0.0.1:{p}/v2/"),
            log_file=str(run / "registry.log"),
            files=pulumi.Output.secret(files),
            dirs=[str(data)],
            ready_timeout=30.0,
            port_setting=f"components.{name}.port",
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _client(self, port: int) -> RegistryClient:
        auth = self.settings.auth
        return RegistryClient(
            flavor="distribution",
            uri=f"127.0.0.1:{port}",
            insecure=True,
            username=USERNAME if auth else None,
            password=SecretRef(output=PASSWORD_OUTPUT, env=PASSWORD_ENV) if auth else None,
        )
