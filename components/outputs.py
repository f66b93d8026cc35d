"""What a component hands to the components that use it: typed outputs, one class per kind.

A consumer reads these and nothing else of its producer, so a tracking server takes an object store's buckets
whatever cloud they came from, and a producer may reorganise its resources freely. Values are Pulumi Outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import pulumi

T = TypeVar("T")


def as_secret(value: pulumi.Output[T]) -> pulumi.Output[T]:
    """`Output.secret` of a value that is already an Output. Typed as `Input[U]`, the SDK's signature lets U be
    either T or Output[T] for one, and mypy gives up with Never; widening to Input[T] first names U."""
    return pulumi.Output.secret(cast("pulumi.Input[T]", value))


@dataclass(frozen=True)
class Endpoint:
    """A service inside a cluster: pods matching `selector` serve `port`; clients in the cluster reach it at
    `host:port`. What the stack's network policies admit is derived from these (components/kubernetes/network.py)."""

    app: str  # the serving pods' name label
    selector: dict[str, str]
    port: int
    host: str  # in-cluster DNS name


@dataclass(frozen=True)
class Bucket:
    key: str  # the recipe's name for it (resource names are derived from it)
    name: pulumi.Output[str]  # the name the store knows it by
    uri: pulumi.Output[str]  # scheme://…: the root objects are addressed under (s3://b, gs://b, wasbs://c@account…)
    arn: pulumi.Output[str] | None = None  # what a cloud identity is granted on, where the cloud scopes by it (AWS)


@dataclass(frozen=True)
class WorkloadIdentity:
    """How pods act as a cloud identity, keylessly (a managed cluster's workload identity): the annotations their
    Kubernetes service account carries, the labels and environment their pods carry, the ports they reach the
    cloud's APIs on (any host: the cloud's endpoints have no fixed addresses) and the node-local addresses they get
    their tokens from (GKE's metadata server)."""

    annotations: dict[str, pulumi.Output[str]]
    pod_labels: dict[str, str] = field(default_factory=dict)
    env: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    ports: tuple[int, ...] = (443,)
    ip_blocks: tuple[tuple[str, int], ...] = ()  # (CIDR, port)


# (resource name prefix, namespace, service account, parent) -> the identity that account's pods act as, scoped to
# the store's buckets: what a consumer calls for each service account of its own that reaches the store
Binder = Callable[[str, str, str, Any], WorkloadIdentity]


@dataclass(frozen=True)
class SecretKeys:
    """Credentials kept in a Kubernetes Secret of the stack's namespace: consumers mount them by reference."""

    secret: str
    access_key: str  # key of the access key id in the Secret
    secret_key: str


@dataclass(frozen=True)
class ObjectStoreOutputs:
    buckets: tuple[Bucket, ...]  # in recipe order; the first holds MLflow's artifacts
    endpoint: pulumi.Output[str] | None = None  # S3 API endpoint (None: the cloud's own)
    access_key: pulumi.Output[str] | None = None  # credentials, where the store has keys (MinIO); else identities
    secret_key: pulumi.Output[str] | None = None
    scope_id: pulumi.Output[str] | None = None  # the one resource holding every bucket (Azure's storage account)
    credentials_ref: SecretKeys | None = None  # where in-cluster consumers read the keys from
    service: Endpoint | None = None  # where in-cluster clients reach it (kubernetes)
    # an identity that may only list and read the buckets (in-cluster stores): what serves models pulls with it
    reader_key: pulumi.Output[str] | None = None
    reader_secret: pulumi.Output[str] | None = None
    # a cloud's store on a managed cluster: no keys; each service account that reaches it is bound to an identity
    identity: Binder | None = None


@dataclass(frozen=True)
class Repository:
    key: str
    name: pulumi.Output[str]  # the id the registry knows it by
    arn: pulumi.Output[str] | None = None


@dataclass(frozen=True)
class RegistryOutputs:
    uri: pulumi.Output[str]  # host[/path] images are tagged with
    repositories: tuple[Repository, ...] = ()
    scope_id: pulumi.Output[str] | None = None  # the registry resource itself, where identities are granted on it
    username: pulumi.Output[str] | None = None
    password: pulumi.Output[str] | None = None
    pull_secret: str | None = None  # a Kubernetes Secret pods pull the registry's images with
    service: Endpoint | None = None  # where in-cluster clients reach it (kubernetes)


@dataclass(frozen=True)
class Database:
    """A PostgreSQL server in the cluster on which other components may keep a database of their own: where it
    serves, and its superuser, whose password is read from a Secret by reference."""

    service: Endpoint
    admin_user: str
    secret: str  # the Secret holding the superuser's password
    password_key: str


@dataclass(frozen=True)
class CloudDatabase:
    """A cloud's managed PostgreSQL beside a cluster the stack creates (tracking `database: managed`): the private
    address its clients connect to (TLS), the (CIDR, port) their pods' egress allows, and its resources (what the
    clients wait for)."""

    host: pulumi.Output[str]
    ip_blocks: tuple[tuple[pulumi.Input[str], int], ...]
    resources: tuple[pulumi.Resource, ...] = ()


@dataclass(frozen=True)
class TrackingOutputs:
    uri: pulumi.Output[str]
    service: Endpoint | None = None  # where in-cluster clients reach it (kubernetes)
    database: Database | None = None  # its PostgreSQL, where other components may keep theirs (kubernetes)


@dataclass(frozen=True)
class OrchestratorOutputs:
    workspace_name: pulumi.Output[str] | None = None  # a workspace serving may share (Azure ML)


@dataclass(frozen=True)
class ServingOutputs:
    base_url: pulumi.Output[str]
    service: Endpoint | None = None  # where in-cluster clients reach it (kubernetes)


@dataclass(frozen=True)
class Uses:
    """The outputs of the kinds a flavor is wired to (registry: `needs` and `uses`), None where absent."""

    object_store: ObjectStoreOutputs | None = None
    registry: RegistryOutputs | None = None
    tracking: TrackingOutputs | None = None
    orchestrator: OrchestratorOutputs | None = None
    serving: ServingOutputs | None = None

    def store(self) -> ObjectStoreOutputs:
        """The object store a flavor `needs` (validation guarantees it is in the recipe)."""
        if self.object_store is None:
            raise LookupError("this flavor needs an object store")
        return self.object_store
