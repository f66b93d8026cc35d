"""A cluster a stack created (eks, gke, aks) is reached by the kubeconfig the stack keeps in its outputs (one
context, `mlstack-<stack>`, the cloud CLI's exec credential plugin: nothing secret in it). `verify`, `connect`,
`drift` and `output` put it on KUBECONFIG, ahead of the user's files, for as long as they run: kubectl and the
Kubernetes client then reach the cluster without the user writing it anywhere, and the user's own kubeconfig is
never read for that context nor written."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def reaching(clients: Any) -> Iterator[None]:
    """Within the `with`, KUBECONFIG starts with the stack's own kubeconfig (a private file removed on the way
    out); unchanged where the stack created no cluster."""
    cluster = getattr(clients, "cluster", None) if clients is not None else None
    if cluster is None:
        yield
        return
    before = os.environ.get("KUBECONFIG")
    with tempfile.TemporaryDirectory(prefix="mlstack-kube-") as directory:
        path = Path(directory) / "kubeconfig"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(cluster.kubeconfig)
        os.environ["KUBECONFIG"] = os.pathsep.join([str(path), *([before] if before else [])])
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("KUBECONFIG", None)
            else:
                os.environ["KUBECONFIG"] = before
