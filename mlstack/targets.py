"""What each target needs from the machine, read without calling a cloud: credentials and provider plugins."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TargetNeeds:
    credential_env: tuple[str, ...] = ()  # any one of these set counts as configured
    credential_files: tuple[str, ...] = ()  # any one of these existing counts as configured
    provider_module: str | None = None  # Python SDK of the Pulumi provider
    plugin: str | None = None  # engine plugin name (resource-<plugin>-v<version>)
    pinned_extra: str | None = None  # pip extra that installs the SDK

    def credentials(self, environ: dict[str, str] | None = None) -> tuple[bool, str]:
        if not self.credential_env and not self.credential_files:
            return True, "none needed"
        env = os.environ if environ is None else environ
        for name in self.credential_env:
            if env.get(name):
                return True, f"${name} is set"
        for name in self.credential_files:
            path = Path(os.path.expandvars(os.path.expanduser(name)))
            if path.exists():
                return True, f"{path} exists"
        return False, f"none of ${', $'.join(self.credential_env)} set, no {', '.join(self.credential_files)}"


TARGET_NEEDS: dict[str, TargetNeeds] = {
    "local": TargetNeeds(),
    "aws": TargetNeeds(("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE"),
                       ("~/.aws/credentials", "~/.aws/config"), "pulumi_aws", "aws", "aws"),
    "gcp": TargetNeeds(("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CREDENTIALS", "CLOUDSDK_AUTH_ACCESS_TOKEN"),
                       ("~/.config/gcloud/application_default_credentials.json",), "pulumi_gcp", "gcp", "gcp"),
    "azure": TargetNeeds(("ARM_CLIENT_ID", "AZURE_CLIENT_ID", "ARM_USE_MSI"),
                         ("~/.azure/azureProfile.json",), "pulumi_azure_native", "azure-native", "azure"),
    "kubernetes": TargetNeeds(("KUBECONFIG",), ("~/.kube/config",), "pulumi_kubernetes", "kubernetes", "kubernetes"),
    "kind": TargetNeeds(("KUBECONFIG",), ("~/.kube/config",), "pulumi_kubernetes", "kubernetes", "kubernetes"),
}
