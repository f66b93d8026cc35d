"""What the kubernetes target does around the engine: `destroy --purge` deletes a kind cluster (volumes and the
namespace are deleted by the engine itself, their retain flag lifted for a purge), and `doctor` checks that the
current context's API server answers (3 s) and, for kind, that its tools are there."""

from __future__ import annotations

import base64
import json
import os
import ssl
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from mlstack.components.kubernetes import kind

TIMEOUT = 3.0


def purge(placement: dict[str, Any], stack: str) -> str | None:
    return kind.delete_cluster(placement, stack)


def kubeconfig_paths() -> list[Path]:
    env = os.environ.get("KUBECONFIG")
    paths = [Path(p).expanduser() for p in env.split(os.pathsep) if p] if env else [Path("~/.kube/config").expanduser()]
    return [p for p in paths if p.is_file()]


def current_cluster(context: str | None = None) -> tuple[str, str | None, str | None] | None:
    """(context, API server URL, CA PEM) of `context` or the current one, read from the kubeconfig files."""
    from ruamel.yaml import YAML

    docs = [YAML(typ="safe").load(p.read_text()) or {} for p in kubeconfig_paths()]
    current = context or next((d.get("current-context") for d in docs if d.get("current-context")), None)
    if not current:
        return None
    ctx = next((c["context"] for d in docs for c in d.get("contexts") or [] if c.get("name") == current), None)
    if not ctx:
        return None
    cluster: dict[str, Any] = next(
        (c["cluster"] for d in docs for c in d.get("clusters") or [] if c.get("name") == ctx.get("cluster")), {}
    )
    ca = cluster.get("certificate-authority-data")
    ca_pem = (
        base64.b64decode(ca).decode()
        if ca
        else (Path(cluster["certificate-authority"]).read_text() if cluster.get("certificate-authority") else None)
    )
    return current, cluster.get("server"), ca_pem


def api_answers(server: str, ca_pem: str | None) -> tuple[bool, str]:
    """GET /version: readable without credentials under the default RBAC (system:public-info-viewer)."""
    context = ssl.create_default_context()
    if ca_pem:
        with tempfile.NamedTemporaryFile("w", suffix=".pem") as ca:
            ca.write(ca_pem)
            ca.flush()
            context.load_verify_locations(ca.name)
    try:
        with urllib.request.urlopen(f"{server}/version", timeout=TIMEOUT, context=context) as resp:  # noqa: S310
            return True, f"{server} answers (Kubernetes {json.loads(resp.read()).get('gitVersion', '?')})"
    except urllib.error.HTTPError as exc:  # an answer all the same
        return True, f"{server} answers (HTTP {exc.code} on /version)"
    except (OSError, ValueError) as exc:
        return False, f"{server} does not answer within {TIMEOUT:.0f} s ({type(exc).__name__})"


def doctor_checks() -> list[tuple[str, bool, str]]:
    checks = []
    try:
        found = current_cluster()
    except (OSError, ValueError, KeyError) as exc:
        found, error = None, f"kubeconfig unreadable: {type(exc).__name__}"
    else:
        error = "no current context in $KUBECONFIG or ~/.kube/config"
    if found and found[1]:
        ok, detail = api_answers(found[1], found[2])
        checks.append(("context", ok, f"{found[0]}: {detail}"))
    else:
        checks.append(("context", False, error))
    missing = kind.missing_tools()
    checks.append(
        (
            "kind",
            not missing,
            "kind and a container engine found"
            if not missing
            else "for `cluster: {type: kind}`: needs " + " and ".join(missing),
        )
    )
    return checks
