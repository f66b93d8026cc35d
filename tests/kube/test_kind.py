"""The kind cluster mlstack would create, tested as data (no container engine here to run kind): ports on
127.0.0.1 only, containerd pointed at certs.d, and the hosts.toml that lets nodes pull from the stack's registry."""

from __future__ import annotations

from mlstack.components.kubernetes import clusters
from mlstack.components.kubernetes.clusters import kind
from mlstack.components.kubernetes import naming as n
from mlstack.recipe.loader import load_recipe
from tests.conftest import RECIPES


def test_the_kind_recipe_maps_every_exposed_service_to_loopback_only():
    recipe = load_recipe(RECIPES / "kind.yaml")
    ports = kind.host_ports(recipe.component_specs())
    config = kind.cluster_config(kind.cluster_name(recipe.name, recipe.target), ports)
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4" and config["name"] == "mlops-kind"
    [node] = config["nodes"]
    mappings = node["extraPortMappings"]
    assert {m["listenAddress"] for m in mappings} == {"127.0.0.1"}
    assert {m["containerPort"] for m in mappings} == {30900, 30500, 30501, 30800}
    assert all(m["hostPort"] == m["containerPort"] and m["protocol"] == "TCP" for m in mappings)
    assert 'config_path = "/etc/containerd/certs.d"' in config["containerdConfigPatches"][0]


def test_a_recipe_port_sets_the_host_side_and_the_registry_hosts_toml_follows(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text((RECIPES / "kind.yaml").read_text().replace("    flavor: distribution\n",
                                                                 "    flavor: distribution\n    port: 5001\n"))
    recipe = load_recipe(path)
    ports = kind.host_ports(recipe.component_specs())
    assert ports["registry"] == 5001
    mapping = next(m for m in kind.cluster_config("c", ports)["nodes"][0]["extraPortMappings"] if m["hostPort"] == 5001)
    assert mapping["containerPort"] == n.NODE_PORTS["registry"]
    directory, toml = kind.registry_hosts_toml("c", 5001)
    assert directory == "/etc/containerd/certs.d/localhost:5001"
    assert 'server = "http://c-control-plane:30500"' in toml and 'capabilities = ["pull", "resolve"]' in toml


def test_target_kind_is_short_for_a_kubernetes_kind_cluster(tmp_path):
    for short in ("target: kind", "target: {type: kind}"):
        path = tmp_path / "r.yaml"
        path.write_text(f"apiVersion: mlstack/v1\nname: short\n{short}\ncomponents:\n  orchestrator: {{flavor: kubernetes}}\n")
        target = load_recipe(path).target
        assert (target.type, target.cluster.type, target.namespace) == ("kubernetes", "kind", None)
        assert clusters.context_of("short", target) == "kind-short"
