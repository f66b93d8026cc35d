"""The recipe model (pydantic v2). Field descriptions here are the recipe reference in the docs and schema."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, Discriminator, Field, Tag, create_model, field_validator

from mlstack import registry
from mlstack.cost.usage import CostAssumptions
from mlstack.recipe import rules
from mlstack.recipe.base import UserModel
from mlstack.versions import ZENML_VERSION

Format = Literal["json", "yaml", "env", "zenml"]
DEFAULT_FORMATS: tuple[Format, ...] = ("json", "env", "zenml")

API_VERSION = "mlstack/v1"
NAME_PATTERN = r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$"
# Every pattern a recipe field has, as its rule in words with an example (tests/recipe/test_schema.py checks that
# each pattern of the schema has one): an error never shows a raw regular expression.
DNS_LABEL_WORDS = (
    "must be a DNS label: up to 63 lowercase letters, digits and '-', not starting or ending with '-' (e.g. mlops)"
)
PATTERN_HINTS = {
    NAME_PATTERN: "must be 3-40 characters of lowercase letters, digits and '-', starting with a letter",
    r"^1\.\d{2}$": "must be a Kubernetes minor version, e.g. 1.35",
    r"^[A-Za-z0-9._-]{1,64}$": "must be a profile name: 1-64 letters, digits, '.', '_' and '-'",
    r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$": "must be a machine type: 2-64 letters, digits, '.', '_' and '-' "
    "(e.g. m6i.xlarge, e2-standard-4, Standard_D4ds_v5)",
    r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$": "must be a network name: 1-63 lowercase letters, digits and '-', "
    "starting with a letter",
    r"^[a-z][a-z0-9]{0,11}$": "must be a pool name: 1-12 lowercase letters and digits, starting with a letter",
    r"^nvidia-[a-z0-9-]{2,40}$": "must be an NVIDIA accelerator, e.g. nvidia-l4, nvidia-a100",
    r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$": DNS_LABEL_WORDS,
    r"^[A-Za-z0-9@._:/-]{1,253}$": "must be a kubeconfig context name: letters, digits and @ . _ : / - (e.g. kind-dev)",
    r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$": "must be a StorageClass name: lowercase letters, digits, '-' and '.' "
    "(e.g. standard)",
    r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$": "must be a bucket name: 3-63 lowercase letters, digits, '.' and '-', "
    "starting and ending with a letter or digit (e.g. ml-artifacts)",
    r"^[a-z0-9][a-z0-9_-]*[a-z0-9]$": "must be lowercase letters, digits, '_' and '-', starting and ending with a "
    "letter or digit (e.g. artifacts)",
    r"^[a-z0-9][a-z0-9-]*[a-z0-9]$": "must be lowercase letters, digits and '-', starting and ending with a letter or "
    "digit (e.g. artifacts)",
    r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$": "must be a repository name: lowercase letters and digits, separated by single "
    "'.', '_' or '-' (e.g. models)",
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$": "must be lowercase letters and digits, separated by single '-' (e.g. models)",
    r"^[a-z]([-a-z0-9/]*[a-z0-9])?$": "must be lowercase letters, digits, '-' and '/', starting with a letter "
    "(e.g. mlflow/artifacts)",
    r"^[a-z]+-[a-z]+\d+$": "must be a GCP region (e.g. europe-west1)",
    r"^[a-z]{2}(-[a-z]+)+-\d$": "must be an AWS region (e.g. eu-west-1)",
    r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$": "must be a GCP project ID: 6-30 lowercase letters, digits and '-', starting "
    "with a letter (e.g. ml-platform-1234)",
    r"^[a-z0-9]+$": "must be lowercase letters and digits only (e.g. westeurope)",
    r"^subnet-[0-9a-f]{8,17}$": "must be a subnet ID (e.g. subnet-0a1b2c3d4e5f67890)",
    r"^vpc-[0-9a-f]{8,17}$": "must be a VPC ID (e.g. vpc-0a1b2c3d4e5f67890)",
    r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$": "must be a Cloud KMS key name "
    "(projects/P/locations/L/keyRings/R/cryptoKeys/K)",
    r"^arn:aws[a-z-]*:kms:": "must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)",
    r"^arn:aws[a-z-]*:acm:": "must be an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)",
    r"^\d+\.\d+\.\d+$": "must be a version MAJOR.MINOR.PATCH (e.g. 3.17.2)",
    r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$": "must be an image with a registry and "
    "a tag or digest (e.g. ghcr.io/mlflow/mlflow:v3.17.2-full)",
    r"^[A-Za-z0-9._/-]+$": "must be letters, digits and . _ / - only",
    r"^[A-Za-z0-9._-]+$": "must be letters, digits and . _ - only",
    r"^Z[A-Z0-9]{1,31}$": "must be a Route 53 hosted zone ID (e.g. Z0123456789ABC)",
    r"^(passphrase$|(awskms|gcpkms|azurekeyvault|hashivault)://[^\s]+$)": "must be `passphrase` or a KMS URL "
    "(awskms://, gcpkms://, azurekeyvault://, hashivault://)",
    r"^(file|s3|gs|azblob|postgres)://": "must be a backend URL: file://, s3://, gs://, azblob:// or postgres://",
    r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$": "must be a DNS name (e.g. mlflow.example.com)",
    r"(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/virtualNetworks/[^/]+"
    r"/subnets/[^/]+$": "must be an Azure subnet resource ID "
    "(/subscriptions/S/resourceGroups/G/providers/Microsoft.Network/virtualNetworks/V/subnets/N)",
}


@cache
def target_model() -> Any:
    """The recipe's `target:` block: each registered target's placement model, discriminated by `type`."""
    models = tuple(t.placement for t in registry.targets())
    # Union[...] of a tuple built at run time: `X | Y` cannot spell it.
    return Annotated[Union[models], Field(discriminator="type")] if len(models) > 1 else models[0]  # noqa: UP007


def _backend(url: str) -> str:
    return rules.backend_directory(url) if url.startswith("file://") else url


class StateSpec(UserModel):
    """Where Pulumi keeps this stack's state and how it encrypts secrets."""

    backend: Annotated[str, AfterValidator(_backend)] | None = Field(
        default=None,
        description="Pulumi backend URL (file://, s3://, gs://, azblob://, postgres://). "
        "Default: PULUMI_BACKEND_URL, else file:// under MLSTACK_HOME.",
        pattern=r"^(file|s3|gs|azblob|postgres)://",
    )
    secrets_provider: str | None = Field(
        default=None,
        description="Pulumi secrets provider (awskms://, gcpkms://, azurekeyvault://, hashivault://). "
        "Default: a passphrase generated on first use and kept 0600 in MLSTACK_HOME.",
        pattern=r"^(passphrase$|(awskms|gcpkms|azurekeyvault|hashivault)://[^\s]+$)",
    )


class OutputsSpec(UserModel):
    """Client config files `deploy` writes into the stack's home (MLSTACK_HOME/stacks/<name>/outputs/)."""

    formats: list[Format] = Field(
        default_factory=lambda: list(DEFAULT_FORMATS),
        description="Formats to write: json (versioned, for CI), yaml, env (shell-sourceable), zenml (stack import).",
    )
    zenml_version: str = Field(
        default=ZENML_VERSION,
        pattern=r"^\d+\.\d+\.\d+$",
        description="ZenML version written into the ZenML stack file.",
    )
    include_secrets: bool = Field(
        default=False,
        description="Write secret values into the files (then 0600); default: secrets referenced, not written.",
    )


def _component_field(target: str, kind: str) -> Any:
    models = [f.settings for f in registry.flavors_for(target, kind)]
    if not models:
        return (None, Field(default=None, description=f"No {kind} flavor is implemented on {target} yet."))
    union: Any = Union[tuple(models)]  # noqa: UP007 - a tuple built at run time: `X | Y` cannot spell it
    typ: Any = models[0] if len(models) == 1 else Annotated[union, Field(discriminator="flavor")]
    flavors = ", ".join(sorted(f.name for f in registry.flavors_for(target, kind)))
    # Optional, but never an explicit null: an empty `registry:` block must not silently drop the component.
    return (typ, Field(default=None, description=f"The {kind.replace('_', ' ')} (flavors: {flavors})."))


def _not_empty(value: Any, info: Any) -> Any:
    if value is None:
        flavors = ", ".join(sorted({f.name for f in registry.flavors_for(kind=info.field_name)}))
        raise ValueError(f"an empty block: give it a `flavor` ({flavors}) or remove the key")
    return value


@cache
def components_model(target: str) -> type[UserModel]:
    """A target's `components` section, computed from the registry: one optional field per kind, offering that
    target's flavors with exactly the settings each takes there."""
    return create_model(
        f"{_title(target)}Components",
        __base__=UserModel,
        __doc__=f"Components of a stack on {target}, keyed by kind; each has a `flavor` and that flavor's settings.",
        __validators__={"_not_empty": field_validator(*registry.KINDS, mode="before")(_not_empty)},
        **{kind: _component_field(target, kind) for kind in registry.KINDS},
    )


def _title(target: str) -> str:
    return registry.target(target).placement.__name__.removesuffix("Target")


@cache
def any_components() -> type[UserModel]:
    """The `components` section of a recipe whose target is unknown: its kinds, each a mapping."""
    fields: dict[str, Any] = {
        kind: (dict[str, Any] | None, Field(default=None, description=f"The {kind.replace('_', ' ')}."))
        for kind in registry.KINDS
    }
    return create_model(
        "AnyComponents",
        __base__=UserModel,
        __doc__="Components of the stack, keyed by kind (their settings depend on the target).",
        **fields,
    )


class Recipe(UserModel):
    """One MLOps stack: where it runs and what it contains. A recipe is validated by its target's own model
    (`recipe_model`): its `components` offer that target's flavors and settings only."""

    apiVersion: Literal["mlstack/v1"] = Field(description="Recipe format version.")
    name: str = Field(
        description="Stack name: 3-40 characters, lowercase letters, digits and '-'; one Pulumi stack per name.",
        pattern=NAME_PATTERN,
    )
    # Typed by each target's model (`recipe_model`), and, where the target is unknown, by every target's placement
    # (`unknown_target_model`): the base names no target, so reading a recipe imports only its own target.
    target: Any = Field(description="Where the stack runs, with its placement settings.")
    tags: dict[str, str] = Field(default_factory=dict, description="Tags put on every taggable resource.")
    state: StateSpec = Field(default_factory=StateSpec, description="Pulumi state backend and secrets provider.")
    outputs: OutputsSpec = Field(default_factory=OutputsSpec, description="Client config files written after deploy.")
    # None when absent, so a recipe without it resolves (and fingerprints) exactly as before it existed
    cost: CostAssumptions | None = Field(
        default=None,
        description="Usage `mlstack cost` assumes: each key set here replaces its default and range.",
    )
    # Every target's model types it; here (a recipe whose target is unknown) only its kinds are checked.
    components: any_components() = Field(  # type: ignore[valid-type]
        description="Components of the stack, keyed by kind."
    )

    @field_validator("target", mode="before")
    @classmethod
    def _target_shorthand(cls, value: Any) -> Any:
        # `target: local` is shorthand for `target: {type: local}`; `target: kind` for a kubernetes kind cluster.
        return registry.expand_alias(value)

    @field_validator("tags")
    @classmethod
    def _tags_follow_the_targets_rules(cls, tags: dict[str, str], info: Any) -> dict[str, str]:
        reserved = [k for k in tags if k.lower().startswith("mlstack-")]
        if reserved:
            raise ValueError(
                f"{reserved[0]!r}: tags starting with 'mlstack-' are mlstack's own (mlstack-stack names "
                "the stack on every resource)"
            )
        target = info.data.get("target")
        declared = registry.target(target.type) if target is not None else None
        for key, message in declared.tag_problems(tags) if declared and declared.tag_problems else []:
            raise ValueError(f"{key!r}: {message}")
        return tags

    @field_validator("components")
    @classmethod
    def _ports_are_distinct(cls, components: Any) -> Any:
        """Two services of one stack on one port: the second would never start (local) or never be mapped (kind)."""
        taken: dict[int, str] = {}
        for kind in registry.KINDS:
            port = getattr(getattr(components, kind), "port", None)
            if port is not None and port in taken:
                raise ValueError(f"{kind} and {taken[port]} both ask for port {port}")
            if port is not None:
                taken[port] = kind
        if not any(getattr(components, kind) is not None for kind in registry.KINDS):
            raise ValueError("a stack needs at least one component")
        return components

    def component_specs(self) -> dict[str, Any]:
        return {k: getattr(self.components, k) for k in registry.KINDS if getattr(self.components, k) is not None}

    def notes(self) -> list[str]:
        """What the recipe's flavors do without a kind they use that the recipe lacks (said, not refused), and what
        they need installed once per placement (a cluster's add-ons)."""
        specs = self.component_specs()
        notes = [
            f"{kind}: {why}"
            for kind, flavor in self.flavors().items()
            for missing, why in flavor.without.items()
            if missing not in specs
        ]
        shared, describe = self.shared_needs(), registry.target(self.target.type).shared_note
        return notes + ([describe(self.target, shared)] if shared and describe else [])

    def flavors(self) -> dict[str, registry.Flavor]:
        return {k: registry.lookup(self.target.type, k, v.flavor) for k, v in self.component_specs().items()}  # type: ignore[misc]

    def shared_needs(self) -> tuple[str, ...]:
        """What the flavors need installed once per placement (a cluster's add-ons), sorted."""
        return tuple(sorted({need for flavor in self.flavors().values() for need in flavor.shared}))


@cache
def recipe_model(target: str) -> type[Recipe]:
    """The recipe of a stack on `target`: its placement model and its components, nothing of another target's."""
    declared = registry.target(target)
    return create_model(
        f"{_title(target)}Recipe",
        __base__=Recipe,
        __doc__=f"One MLOps stack on {target}: {declared.summary}.",
        target=(declared.placement, Field(description="Where the stack runs, with its placement settings.")),
        components=(components_model(target), Field(description="Components of the stack, keyed by kind.")),
    )


def target_of(data: Any) -> str | None:
    """The registered target a recipe's data names (aliases expanded), else None."""
    if isinstance(data, Recipe):
        return data.target.type
    target = registry.expand_alias(data.get("target")) if isinstance(data, dict) else None
    name = target.get("type") if isinstance(target, dict) else None
    return name if isinstance(name, str) and name in registry.target_names() else None


@cache
def unknown_target_model() -> type[Recipe]:
    """The recipe whose target is unknown: the shape every recipe has, its `target:` any registered target's
    placement (so it fails naming the targets, and still reports the rest)."""
    return create_model(
        "Recipe",
        __base__=Recipe,
        __doc__=Recipe.__doc__,
        target=(target_model(), Field(description="Where the stack runs, with its placement settings.")),
    )


def validate(data: Any) -> Recipe:
    """A recipe validated by its target's model; where the target is unknown, by the shape every recipe has."""
    name = target_of(data)
    return (recipe_model(name) if name else unknown_target_model()).model_validate(data)


def recipe_union() -> Any:
    """Every target's recipe, discriminated by the target: what the JSON Schema offers editors."""
    variants = tuple(Annotated[recipe_model(t), Tag(t)] for t in registry.target_names())
    return Annotated[Union[variants], Discriminator(target_of)]  # noqa: UP007
