"""How the offline plan fakes the Kubernetes provider: it echoes what it is given. The API server's defaults are not
part of a plan, and `mlstack render` writes the plan's objects as they are: nothing is added here. The resources of
a cluster the stack creates (eks, gke, aks) are answered by its provisioner, as that cloud's target fakes them."""

from __future__ import annotations

from typing import Any

from mlstack.components.aws.offline import PLACEHOLDERS as AWS
from mlstack.components.azure.offline import PLACEHOLDERS as AZURE
from mlstack.components.gcp.offline import PLACEHOLDERS as GCP
from mlstack.components.kubernetes import clusters
from mlstack.components.kubernetes import settings as s

# what a managed cluster's cloud answers only on deploy (ids, accounts), shown as `<known after deploy>`
PLACEHOLDERS = (*AWS, *GCP, *AZURE)


def attributes(typ: str, name: str, inputs: dict[str, Any], placement: s.KubernetesTarget) -> dict[str, Any]:
    if typ.startswith("kubernetes:"):
        return {}
    return clusters.of(placement).offline_attributes(typ, name, inputs, placement)


def call(placement: s.KubernetesTarget, token: str, args: dict[str, Any]) -> dict[str, Any]:
    return clusters.of(placement).offline_call(placement, token, args)
