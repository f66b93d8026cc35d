"""`drift` does not report what the platform moves itself (a node pool's size under its autoscaler), and still
reports every other change of the same resource."""

from __future__ import annotations

from types import SimpleNamespace

from mlstack.components.kubernetes import clusters
from mlstack.engine.plan import DriftCollector
from mlstack.recipe.loader import load_recipe
from tests.conftest import RECIPES

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def _event(typ: str, before: dict, after: dict, diffs: list[str], detailed: dict | None = None) -> SimpleNamespace:
    meta = SimpleNamespace(
        type=typ,
        urn=f"urn:pulumi:s::mlstack::{typ}::x",
        op="update",
        old=SimpleNamespace(outputs=before),
        new=SimpleNamespace(outputs=after),
        diffs=diffs,
        detailed_diff=detailed or {},
    )
    return SimpleNamespace(res_outputs_event=SimpleNamespace(metadata=meta))


def _collect(ignored: dict, *events: SimpleNamespace) -> list:
    collector = DriftCollector(ignored)
    for event in events:
        collector.on_event(event)
    return collector.steps


def test_an_autoscaled_size_is_not_drift_but_the_bounds_are():
    ignored = clusters.of(load_recipe(RECIPES / "eks.yaml").target).DRIFT_IGNORES
    scaled = _event(NODE_GROUP, {"scalingConfig": {"desiredSize": 0, "minSize": 0, "maxSize": 2}},
                    {"scalingConfig": {"desiredSize": 2, "minSize": 0, "maxSize": 2}}, ["scalingConfig"],
                    {"scalingConfig.desiredSize": {}})
    assert _collect(ignored, scaled) == []
    resized = _event(NODE_GROUP, {"scalingConfig": {"desiredSize": 0, "minSize": 0, "maxSize": 2}},
                     {"scalingConfig": {"desiredSize": 2, "minSize": 1, "maxSize": 2}}, ["scalingConfig"])
    [step] = _collect(ignored, resized)
    assert step.op == "changed" and "scalingConfig" in step.changed
    # another field of the same group still drifts
    relabelled = _event(NODE_GROUP, {"labels": {"a": "1"}, "scalingConfig": {"desiredSize": 0}},
                        {"labels": {"a": "2"}, "scalingConfig": {"desiredSize": 1}}, ["labels", "scalingConfig"])
    [step] = _collect(ignored, relabelled)
    assert step.changed == ("labels",)
    # and without the cluster's ignores, the size is drift too
    assert _collect({}, scaled)[0].changed == ("scalingConfig", "scalingConfig.desiredSize")


def test_each_item_of_a_list_is_ignored_by_star():
    ignored = clusters.of(load_recipe(RECIPES / "aks.yaml").target).DRIFT_IGNORES
    typ = "azure-native:containerservice:ManagedCluster"
    before = {"agentPoolProfiles": [{"name": "system", "count": 2, "vmSize": "a"}]}
    after = {"agentPoolProfiles": [{"name": "system", "count": 3, "vmSize": "a"}]}
    assert _collect(ignored, _event(typ, before, after, ["agentPoolProfiles"])) == []
    changed = {"agentPoolProfiles": [{"name": "system", "count": 3, "vmSize": "b"}]}
    assert _collect(ignored, _event(typ, before, changed, ["agentPoolProfiles"]))[0].changed == ("agentPoolProfiles",)
