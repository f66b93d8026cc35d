"""The cluster provisioner contract: every module of components/kubernetes/clusters/ declares a well-formed
provisioner, the target's placement union, aliases and hooks are derived from them, and what each declares decides
how the planned stack exposes its services and pulls its images (no module outside clusters/ branches on a type)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import get_args

import pytest

from mlstack import registry
from mlstack.components.kubernetes import clusters
from mlstack.components.kubernetes.settings import KubernetesTarget
from mlstack.engine.offline import plan
from mlstack.recipe.loader import load_recipe
from tests.conftest import REPO, RECIPES

PROVISIONERS = clusters.provisioners()
each = pytest.mark.parametrize("provisioner", PROVISIONERS, ids=[p.type for p in PROVISIONERS])


def _block(provisioner) -> dict:
    """The `cluster:` block of a shipped recipe on this cluster type (one with every required field), or the bare
    type where it needs nothing more."""
    for path in sorted(RECIPES.glob("*.yaml")):
        placement = load_recipe(path).target
        if getattr(placement, "cluster", None) is not None and placement.cluster.type == provisioner.type:
            return placement.cluster.model_dump(mode="json", exclude_defaults=True) | {"type": provisioner.type}
    return {"type": provisioner.type}


def test_every_module_in_the_package_is_a_provisioner_and_existing_is_the_default():
    modules = sorted(
        p.stem for p in (REPO / "components/kubernetes/clusters").glob("*.py") if not p.stem.startswith("_")
    )
    assert sorted(p.type for p in PROVISIONERS) == modules
    assert PROVISIONERS[0].type == "existing"
    assert KubernetesTarget.model_validate({"type": "kubernetes"}).cluster.type == "existing"


@each
def test_the_spec_is_discriminated_by_the_provisioners_type(provisioner):
    assert get_args(provisioner.spec.model_fields["type"].annotation) == (provisioner.type,)
    placement = KubernetesTarget.model_validate({"type": "kubernetes", "cluster": _block(provisioner)})
    assert type(placement.cluster) is provisioner.spec and clusters.of(placement) is provisioner


@each
def test_declarations_take_known_values(provisioner):
    assert provisioner.exposure in ("node_ports", "port_forward")
    assert provisioner.registry_pull in ("node_localhost", "service")
    assert provisioner.plugins and all(isinstance(p, str) for p in provisioner.plugins)
    assert provisioner.summary


@each
def test_hooks_keep_the_base_signatures(provisioner):
    for name in ("context", "storage_class", "preflight", "prepare", "purge", "doctor"):
        base = inspect.signature(getattr(clusters.ClusterProvisioner, name))
        assert list(inspect.signature(getattr(type(provisioner), name)).parameters) == list(base.parameters), name


@each
def test_an_alias_stands_for_its_cluster(provisioner):
    if provisioner.alias is None:
        return
    expanded = registry.expand_alias(provisioner.alias)
    assert expanded == {"type": "kubernetes", "cluster": {"type": provisioner.type}}


def test_doctor_checks_are_what_doctor_prints():
    for provisioner in PROVISIONERS:
        for check in provisioner.doctor():
            what, ok, detail = check
            assert isinstance(what, str) and isinstance(ok, bool) and detail


@pytest.mark.parametrize("recipe", ["kubernetes.yaml", "kind.yaml"])
def test_exposure_decides_the_services_and_the_image_names(recipe):
    """The planned stack follows the provisioner's declarations, not its name."""
    loaded = load_recipe(RECIPES / recipe)
    provisioner = clusters.of(loaded.target)
    planned = plan(loaded)
    types = {s.inputs["spec"].get("type", "ClusterIP") for s in planned.of_type("kubernetes:core/v1:Service")}
    assert ("NodePort" in types) == (provisioner.exposure == "node_ports")
    registry_client = planned.outputs["mlstack"]["components"]["registry"]
    assert registry_client["uri"].startswith("localhost:") == (provisioner.registry_pull == "node_localhost")
    orchestrator = planned.outputs["mlstack"]["components"]["orchestrator"]
    assert orchestrator.get("kubernetes_context") == provisioner.context(loaded.name, loaded.target)  # None: current
    assert orchestrator["local_registry"] == (provisioner.registry_pull == "node_localhost")


def test_no_module_outside_the_provisioners_branches_on_a_cluster_type():
    """`cluster.type == "..."` and friends live in clusters/ only: elsewhere a provisioner's declarations decide."""
    found = []
    for path in [*REPO.glob("mlstack/**/*.py"), *REPO.glob("stacks/**/*.py"), *REPO.glob("components/**/*.py")]:
        if "clusters" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                text = ast.unparse(node)
                if "cluster" in text and any(f"'{p.type}'" in text for p in PROVISIONERS):
                    found.append(f"{Path(path).relative_to(REPO)}: {text}")
    assert found == []


def test_a_cluster_on_a_cloud_adds_that_clouds_plugin(monkeypatch):
    """An eks-like provisioner declares the aws plugin besides kubernetes: the engine then requires both."""
    placement = KubernetesTarget.model_validate({"type": "kubernetes", "cluster": {"type": "existing"}})
    needs = registry.target("kubernetes").needs
    assert [n.plugin for n in needs.plugins_for(placement)] == ["kubernetes"]
    monkeypatch.setattr(type(clusters.of(placement)), "plugins", ("kubernetes", "aws"))
    both = needs.plugins_for(placement)
    assert [(n.plugin, n.provider_module) for n in both] == [("kubernetes", "pulumi_kubernetes"), ("aws", "pulumi_aws")]
