"""`mlstack import mlstacks`: an mlstacks stack spec (spec_version 1) and its component specs as an mlstack recipe.

Each mlstacks component maps to the nearest mlstack flavor on the nearest target (k3d -> a kind cluster); what has
no counterpart is listed with the reason, never dropped silently. Spec files are read like recipes (bounded,
line-aware): a malformed spec is one `FILE:LINE: field: message` line, exit 2.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mlstack.errors import Problem, RecipeError, excerpt
from mlstack.recipe import source, yamltree

# mlstacks provider -> mlstack target block (k3d is a local Kubernetes in containers, as kind is).
TARGETS = {
    "aws": lambda region, meta: {"type": "aws", "region": region},
    "gcp": lambda region, meta: {
        "type": "gcp",
        "project": meta.get("project_id", "your-gcp-project"),
        "region": region,
    },
    "k3d": lambda region, meta: {"type": "kubernetes", "cluster": {"type": "kind"}},
}
# (mlstacks component_type, component_flavor) -> (mlstack kind, flavor), per target; None: no counterpart, reason
MAPPING: dict[tuple[str, str], Any] = {
    ("artifact_store", "s3"): ("object_store", "s3"),
    ("artifact_store", "gcp"): ("object_store", "gcs"),
    ("artifact_store", "minio"): ("object_store", "minio"),
    ("container_registry", "aws"): ("registry", "ecr"),
    ("container_registry", "gcp"): ("registry", "artifact_registry"),
    ("container_registry", "default"): ("registry", "distribution"),
    ("experiment_tracker", "mlflow"): ("tracking", "mlflow"),
    ("orchestrator", "kubernetes"): ("orchestrator", "kubernetes"),
    ("orchestrator", "kubeflow"): ("orchestrator", "kubeflow"),  # on the kubernetes target only (ONLY_ON)
    ("orchestrator", "sagemaker"): ("orchestrator", "sagemaker"),
    ("orchestrator", "vertex"): ("orchestrator", "vertex"),
    ("model_deployer", "seldon"): ("serving", "kserve"),
}
NO_COUNTERPART = {
    "mlops_platform": "mlstack deploys no ZenML server; `mlstack output --format zenml` writes the stack for yours",
    "step_operator": "mlstack has no step operators; the orchestrator runs every step",
    ("orchestrator", "tekton"): "Tekton is not an mlstack orchestrator",
    ("orchestrator", "skypilot"): "SkyPilot is not an mlstack orchestrator",
}
# mlstacks flavors mlstack offers on some of its targets only: (component) -> (providers, why not elsewhere)
ONLY_ON = {
    ("orchestrator", "kubeflow"): (
        ("k3d",),
        "mlstack runs Kubeflow Pipelines on the kubernetes target, on a cluster you name; mlstacks installed it on "
        "EKS/GKE, which mlstack does not create yet: use `target: {type: kubernetes}` with your cluster's context",
    ),
}
# Where mlstack needs what mlstacks never asked for: the cloud MLflow server runs in your network.
NEEDS_NETWORK = {"aws": "vpc_id, subnet_ids, certificate_arn, hostname, allowed_cidrs", "gcp": "network, subnetwork"}


def _read(path: Path) -> yamltree.Map:
    text = source.read_text(path)
    data = yamltree.parse(text, str(path), source.LineIndex(text))
    if not isinstance(data, yamltree.Map):
        raise RecipeError([Problem(str(path), 1, "", "an mlstacks spec is a mapping (spec_version, spec_type, ...)")])
    return data


def _require(data: yamltree.Map, path: Path, key: str, kind: type, spec_type: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind):
        what = "missing" if value is None else f"must be a {kind.__name__}, not {type(value).__name__}"
        raise RecipeError([Problem(str(path), data.lines.get(key, 1), key, f"{what} (mlstacks {spec_type} spec)")])
    return value


def _spec(path: Path, spec_type: str) -> yamltree.Map:
    data = _read(path)
    if data.get("spec_version") != 1 or data.get("spec_type") != spec_type:
        key = "spec_version" if data.get("spec_version") != 1 else "spec_type"
        raise RecipeError(
            [Problem(str(path), data.lines.get(key, 1), key, f"expected spec_version 1 and spec_type {spec_type!r}")]
        )
    return data


def recipe_name(name: str) -> str:
    """mlstacks names allow '_' and capitals; recipe names are lowercase letters, digits and '-'."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:40] or "imported"
    cleaned = cleaned if cleaned[0].isalpha() else f"s-{cleaned}"[:40]
    return cleaned if len(cleaned) >= 3 else f"{cleaned}-stack"  # recipe names have 3 characters at least


def convert(stack_file: Path) -> tuple[dict[str, Any], list[str], list[str]]:
    """(recipe, what was not mapped and why, notes on what changed in mapping)."""
    stack = _spec(stack_file, "stack")
    provider = _require(stack, stack_file, "provider", str, "stack")
    if provider not in TARGETS:
        raise RecipeError(
            [
                Problem(
                    str(stack_file),
                    stack.lines.get("provider"),
                    "provider",
                    f"provider {provider!r} has no mlstack target (mlstacks had aws, gcp, k3d)",
                )
            ]
        )
    name = _require(stack, stack_file, "name", str, "stack")
    region = stack.get("default_region") or ""
    files = _require(stack, stack_file, "components", list, "stack")
    recipe: dict[str, Any] = {
        "apiVersion": "mlstack/v1",
        "name": recipe_name(name),
        "target": None,
        "tags": {str(k): str(v) for k, v in (stack.get("default_tags") or {}).items()},
        "components": {},
    }
    unmapped, notes, metadata = [], [], {}
    if recipe["name"] != name:
        notes.append(f"stack name {name!r} became {recipe['name']!r} (recipe names: lowercase, digits, '-')")
    for index, entry in enumerate(files):
        if not isinstance(entry, str):
            raise RecipeError(
                [
                    Problem(
                        str(stack_file),
                        files.lines[index],
                        f"components[{index}]",
                        "must be the path of a component spec file",
                    )
                ]
            )
        path = stack_file.parent / entry
        if not path.is_file():
            raise RecipeError(
                [
                    Problem(
                        str(stack_file),
                        files.lines[index],
                        f"components[{index}]",
                        f"component spec {entry!r} not found next to the stack file",
                    )
                ]
            )
        spec = _spec(path, "component")
        ctype = _require(spec, path, "component_type", str, "component")
        cflavor = _require(spec, path, "component_flavor", str, "component")
        cprovider = spec.get("provider")
        if cprovider is not None and cprovider != provider:  # a gcp component in an aws stack: no recipe says that
            raise RecipeError(
                [
                    Problem(
                        str(path),
                        spec.lines.get("provider"),
                        "provider",
                        f"component provider {excerpt(cprovider)} differs from the stack's {provider!r} "
                        f"({stack_file.name}); an mlstack recipe has one target: split the stack, or fix the spec",
                    )
                ]
            )
        meta = spec.get("metadata") or {}
        config = (meta.get("config") or {}) if isinstance(meta, dict) else {}
        metadata.update(config if isinstance(config, dict) else {})
        where = f"{entry} ({ctype}/{cflavor})"
        reason = NO_COUNTERPART.get(ctype) or NO_COUNTERPART.get((ctype, cflavor))
        mapped = MAPPING.get((ctype, cflavor))
        if mapped is None:
            unmapped.append(f"{where}: {reason or 'no mlstack counterpart'}")
            continue
        kind, flavor = mapped
        providers, why = ONLY_ON.get((ctype, cflavor), ((provider,), ""))
        if provider not in providers:
            unmapped.append(f"{where}: {why}")
            continue
        if kind == "tracking" and provider in NEEDS_NETWORK:
            unmapped.append(
                f"{where}: mlstack runs MLflow privately in your network and needs "
                f"{NEEDS_NETWORK[provider]}, which mlstacks specs do not carry; add `tracking:` by hand"
            )
            continue
        if kind in recipe["components"]:
            unmapped.append(f"{where}: the stack already has a {kind} ({recipe['components'][kind]['flavor']})")
            continue
        component: dict[str, Any] = {"flavor": flavor}
        if kind == "object_store" and isinstance(config, dict) and config.get("bucket_name"):
            bucket = re.sub(r"[^a-z0-9-]+", "-", str(config["bucket_name"]).lower()).strip("-")
            component["buckets"] = [bucket]
            if flavor != "minio":
                notes.append(f"{where}: bucket {config['bucket_name']!r} will be named <recipe name>-{bucket}")
        if (ctype, cflavor) == ("model_deployer", "seldon"):
            notes.append(
                f"{where}: Seldon Core became KServe (Standard mode) running MLServer, the V2 inference server Seldon "
                "runs models with: Seldon Core v1 and v2 are under the BSL 1.1 since 2024 (production use needs a "
                "commercial licence), KServe and MLServer are Apache-2.0"
            )
        if (ctype, cflavor) == ("orchestrator", "kubeflow"):
            metadata["kubeflow"] = True
            notes.append(
                f"{where}: Kubeflow Pipelines standalone in the stack's namespace, on the stack's object store; KFP "
                "publishes kustomize bases only, so a deploy reads its render from the mirror directory "
                "MLSTACK_CHART_MIRROR names (`mlstack doctor` prints the commands)"
            )
        recipe["components"][kind] = component
    recipe["target"] = TARGETS[provider](region, metadata)
    if provider == "k3d" and metadata.get("kubeflow"):
        recipe["target"] = {"type": "kubernetes"}
        notes.append(
            "target: the kubeconfig's current cluster (`context:` names another), not kind: ZenML's kubeflow "
            "orchestrator refuses a registry on localhost, which is how kind's nodes pull the stack's images"
        )
    if provider == "gcp" and "project_id" not in metadata:
        notes.append("target.project: mlstacks specs name no project here; set yours")
    return recipe, unmapped, notes


def recipe_text(
    recipe: dict[str, Any], stack_file: Path, unmapped: list[str], notes: list[str], schema_ref: str | None = None
) -> str:
    """The recipe as YAML with a header; `schema_ref`: where editors find the JSON Schema, from the file's place."""
    from mlstack.clients.render import dump_yaml

    header = [f"# yaml-language-server: $schema={schema_ref}"] if schema_ref else []
    header += [f"# Imported from the mlstacks spec {stack_file.name} by `mlstack import mlstacks`."]
    header += [f"# note: {n}" for n in notes] + [f"# not imported: {u}" for u in unmapped]
    return "\n".join(header) + "\n" + dump_yaml(recipe, sort_keys=False)  # apiVersion, name, target, ... in order
