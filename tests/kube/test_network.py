"""The stack's NetworkPolicies are derived from the wiring the flavors declare (components/kubernetes/network.py):
each flow the recipe's components need is allowed once, and nothing the recipe lacks is."""

from __future__ import annotations

import pytest

from mlstack import registry
from mlstack.engine.offline import plan
from mlstack.recipe.loader import load_recipe
from tests.conftest import RECIPES

NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def _policies(path):
    return {r.name: r.inputs["spec"] for r in plan(load_recipe(path)).of_type(NETWORK_POLICY)}


def _sources(spec) -> list[dict]:
    return [peer["podSelector"]["matchLabels"] for rule in spec["ingress"] for peer in rule["from"] or []]


def _reached(spec) -> list[tuple[str, int]]:
    return [(peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"], rule["ports"][0]["port"])
            for rule in spec["egress"] for peer in rule.get("to") or []]


def _without(tmp_path, *kinds: str):
    text = (RECIPES / "kubernetes.yaml").read_text()
    recipe = load_recipe(RECIPES / "kubernetes.yaml")
    path = tmp_path / "recipe.yaml"
    lines, skipping = [], False
    for line in text.splitlines():
        key = line.strip().rstrip(":")
        if line.startswith("  ") and not line.startswith("    ") and key in registry.KINDS:
            skipping = key in kinds
        elif not line.startswith("  "):
            skipping = False
        if not skipping:
            lines.append(line)
    path.write_text("\n".join(lines) + "\n")
    assert set(load_recipe(path).component_specs()) == set(recipe.component_specs()) - set(kinds)
    return path


def test_each_service_admits_exactly_the_components_wired_to_it():
    p = _policies(RECIPES / "kubernetes.yaml")
    pipelines, mlflow = {"mlstack.dev/pipeline": "true"}, {"app.kubernetes.io/name": "mlflow"}
    assert _sources(p["object_store-ingress"]) == [mlflow, pipelines, {"app.kubernetes.io/name": "seaweedfs-buckets"}]
    for kind in ("registry", "tracking", "serving"):
        assert _sources(p[f"{kind}-ingress"]) == [pipelines], kind
    assert _reached(p["tracking-egress"]) == [("mlflow-postgres", 5432), ("seaweedfs", 8333)]
    assert _reached(p["orchestrator-egress"]) == [("mlflow", 5000), ("mlserver", 8080), ("registry", 5000),
                                                   ("seaweedfs", 8333)]


def test_without_an_orchestrator_nothing_admits_pipeline_pods(tmp_path):
    p = _policies(_without(tmp_path, "orchestrator"))
    assert "orchestrator-egress" not in p
    assert not any({"mlstack.dev/pipeline": "true"} in _sources(s) for s in p.values() if s.get("ingress"))
    for kind in ("registry", "serving", "tracking"):  # nothing in the cluster calls them: default deny stands
        assert f"{kind}-ingress" not in p
    assert _sources(p["object_store-ingress"]) == [{"app.kubernetes.io/name": "mlflow"},
                                                   {"app.kubernetes.io/name": "seaweedfs-buckets"}]


def test_pipelines_reach_only_the_services_the_recipe_has(tmp_path):
    p = _policies(_without(tmp_path, "serving", "tracking"))
    assert _reached(p["orchestrator-egress"]) == [("registry", 5000), ("seaweedfs", 8333)]
    assert _sources(p["object_store-ingress"]) == [{"mlstack.dev/pipeline": "true"},
                                                   {"app.kubernetes.io/name": "seaweedfs-buckets"}]


@pytest.mark.parametrize("kinds", [("orchestrator",), ("serving", "tracking")])
def test_every_policy_rule_holds_for_a_partial_recipe(tmp_path, kinds):
    path = _without(tmp_path, *kinds)
    planned, recipe = plan(load_recipe(path)), load_recipe(path)
    for rule in registry.target("kubernetes").policy_rules():
        rule(planned, recipe)
