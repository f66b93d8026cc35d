"""Each verb's typed result: `--json` prints its fields in their documented order, and the human output reads typed
fields (a client's address comes from its own model, not from a guess over five keys)."""

from __future__ import annotations

from mlstack.engine.offline import plan
from mlstack.engine.results import DeployResult, DestroyResult, OfflinePreviewResult
from mlstack.recipe.loader import load_recipe
from tests.conftest import RECIPES


def test_deploy_result_names_where_each_component_is_reached():
    planned = plan(load_recipe(RECIPES / "kubernetes.yaml"))
    result = DeployResult(stack="mlops", target="kubernetes", changes={"create": 3}, changed=True,
                          outputs=planned.outputs, files={"env": "/x/mlops.env"})
    components = planned.outputs["mlstack"]["components"]
    assert result.addresses() == {
        "object_store": components["object_store"]["endpoint_url"],
        "registry": components["registry"]["uri"],
        "tracking": components["tracking"]["tracking_uri"],
        "orchestrator": "kubernetes",  # nothing to reach: its flavor
        "serving": components["serving"]["base_url"],
    }
    assert list(result.to_json()) == ["stack", "target", "changes", "changed", "outputs", "files", "notes"]


def test_a_deploy_result_without_client_output_names_nothing():
    assert DeployResult(stack="s", target="local", changes={}, changed=False, outputs={}, files={}).addresses() == {}


def test_destroy_and_offline_preview_keep_their_json_shape():
    destroyed = DestroyResult(stack="s", changes={"delete": 2}, purged=False, deleted_data=[], kept={"local": "k"})
    assert list(destroyed.to_json()) == ["stack", "changes", "purged", "deleted_data", "kept"]
    assert list(OfflinePreviewResult.model_fields) == sorted(OfflinePreviewResult.model_fields)
