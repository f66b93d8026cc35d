"""The `existing` cluster provisioner (the default): a cluster that already exists, reached through a kubeconfig
context. mlstack never creates or deletes it: preflight checks that it answers and that the stack's namespace is the
stack's own, `destroy --purge` deletes that namespace with its volumes, and services stay cluster-internal
(`mlstack connect` port-forwards them)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mlstack.components.kubernetes.clusters import ClusterProvisioner
from mlstack.recipe.base import UserModel


class ExistingCluster(UserModel):
    """A cluster that already exists, reached through a kubeconfig context; mlstack never creates or deletes it."""

    type: Literal["existing"] = Field(description="Cluster provisioner.")


class Existing(ClusterProvisioner):
    type = "existing"
    spec = ExistingCluster
    summary = "any cluster your kubeconfig reaches"


PROVISIONER = Existing()
