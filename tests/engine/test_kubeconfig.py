"""A cluster the stack created is reached by the kubeconfig in its outputs: put ahead of the user's KUBECONFIG, in a
private file, only for as long as the verb runs."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mlstack.clients.models import ClusterClient, StackClients
from mlstack.engine.kubeconfig import reaching

CONFIG = '{"apiVersion": "v1", "kind": "Config", "current-context": "mlstack-s"}'


def _clients(cluster: ClusterClient | None) -> StackClients:
    return StackClients(stack="s", target="kubernetes", cluster=cluster)


def test_the_stacks_kubeconfig_comes_first_in_a_private_file_and_leaves_nothing(monkeypatch, tmp_path):
    mine = tmp_path / "user-config"
    monkeypatch.setenv("KUBECONFIG", str(mine))
    with reaching(_clients(ClusterClient(context="mlstack-s", kubeconfig=CONFIG))):
        first, rest = os.environ["KUBECONFIG"].split(os.pathsep, 1)
        path = Path(first)
        assert path.read_text() == CONFIG and rest == str(mine)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.environ["KUBECONFIG"] == str(mine) and not path.exists()


def test_without_a_kubeconfig_of_the_users_it_is_the_only_one_and_is_unset_afterwards(monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    with reaching(_clients(ClusterClient(context="mlstack-s", kubeconfig=CONFIG))):
        assert os.pathsep not in os.environ["KUBECONFIG"]
    assert "KUBECONFIG" not in os.environ


def test_a_stack_on_a_cluster_of_yours_changes_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "config"))
    for clients in (None, _clients(None)):
        with reaching(clients):
            assert os.environ["KUBECONFIG"] == str(tmp_path / "config")


def test_an_error_inside_restores_the_users_kubeconfig(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "config"))
    try:
        with reaching(_clients(ClusterClient(context="mlstack-s", kubeconfig=CONFIG))):
            raise RuntimeError("the verb failed")
    except RuntimeError:
        pass
    assert os.environ["KUBECONFIG"] == str(tmp_path / "config")
