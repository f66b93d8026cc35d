"""`mlstack render`: the stack's Kubernetes objects as YAML manifests, produced from the program itself under the
offline plan's mocks (no cluster, no provider plugin), with explicit, deterministic names.

A Secret that holds generated values is never written: `SECRETS.md` names each one, its keys and what each must
hold, with the command that creates it, so a GitOps user keeps secret values where they keep secrets. A chart a
flavor installs (Airflow's) is no manifest either: `CHARTS.md` gives its `helm install` with mlstack's values (they
hold no secret: the chart reads its Secrets by name), to run once the manifests are applied. The objects a flavor
applies from a rendered manifest in the mirror (KFP's) are written as mlstack changed them, like its own."""

from __future__ import annotations

import json
import shlex
from functools import cache
from typing import Any

from mlstack.clients.render import dump_yaml
from mlstack.components.kubernetes.naming import CONFIG_GROUP, HELM_CHART

REDACTED = "[secret]"
SECRETS_FILE = "SECRETS.md"
CHARTS_FILE = "CHARTS.md"
MISSING_FILE = "MANIFESTS.md"
UNKNOWN_FILE = "AFTER-DEPLOY.md"
KUSTOMIZATION = "Kustomization"
# Apply order: what others refer to first (kustomize and `kubectl apply -f DIR` keep it).
ORDER = [
    "Namespace",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "NetworkPolicy",
    "PersistentVolumeClaim",
    "Secret",
    "Service",
    "StatefulSet",
    "Deployment",
    "Job",
]
# What the keys of the stack's generated Secrets hold, for SECRETS.md.
KEY_MEANINGS = {
    "root-user": "the object store's S3 access key id (MinIO's root user): 20 letters and digits",
    "root-password": "the object store's S3 secret key (MinIO's root password): 40 random characters",
    "reader-user": "the access key id of the store's read-only identity (lists and reads the buckets): 20 letters "
    "and digits",
    "reader-password": "that identity's secret key: 40 random characters",
    "identities.json": "SeaweedFS's S3 identities: the root keys and the read-only ones, as its `-s3.config` JSON",
    "AWS_ACCESS_KEY_ID": "KServe's keys to pull models: the object store's read-only access key id",
    "AWS_SECRET_ACCESS_KEY": "the object store's read-only secret key",
    "security.toml": "SeaweedFS's JWT signing keys for its volume server and filer (TOML)",
    "master.toml": "SeaweedFS's volume growth: `[master.volume_growth]` `copy_1 = 1` (not secret)",
    "http-secret": "the registry's HTTP secret: 32 random characters",
    "htpasswd": "`mlstack:<bcrypt hash of the registry password>` (`htpasswd -nbB mlstack PASSWORD`)",
    ".dockerconfigjson": "a Docker config.json with the registry login (`kubectl create secret docker-registry`)",
    "db-password": "MLflow's PostgreSQL password: 32 random characters (letters, digits, - and _)",
    "admin-password": "MLflow's admin password (clients log in as `admin`)",
    "flask-secret": "MLflow's Flask session key: 43 random characters",
}


@cache
def secret_meanings() -> dict[tuple[str, str], str]:
    """(secret, key) -> what it must hold, from each kubernetes flavor module's SECRET_MEANINGS (read before
    KEY_MEANINGS: a key such as `db-password` means something else in another component's Secret)."""
    from mlstack import registry

    return registry.declared("kubernetes", "SECRET_MEANINGS")


def _manifest(resource: Any) -> dict[str, Any]:
    return {k: v for k, v in resource.inputs.items() if not k.startswith("__")}


def _holds_generated_values(resource: Any) -> bool:
    return any(resource.inputs.get(key) == REDACTED for key in ("stringData", "data"))


def _file_name(index: int, manifest: dict[str, Any]) -> str:
    return f"{index:02d}-{manifest['kind'].lower()}-{manifest['metadata']['name']}.yaml"


def _yaml(data: Any) -> str:
    return dump_yaml(json.loads(json.dumps(data)))  # plain JSON types only, as the API server would read them


def _secrets_doc(secrets: list[Any]) -> str:
    lines = [
        "# Secrets to create before applying these manifests",
        "",
        "mlstack generates these values on `deploy` and never writes them into files. With GitOps, create each",
        "Secret where your secrets live (sealed-secrets, external-secrets, `kubectl create secret`):",
        "",
    ]
    for r in secrets:
        meta, keys = r.inputs["metadata"], sorted(r.raw.get("stringData") or r.raw.get("data") or {})
        lines.append(
            f"## `{meta['name']}` in namespace `{meta.get('namespace', 'default')}` "
            f"(type `{r.inputs.get('type', 'Opaque')}`)"
        )
        lines += [
            f"- `{key}`: {secret_meanings().get((meta['name'], key)) or KEY_MEANINGS.get(key, 'a generated value')}"
            for key in keys
        ]
        namespace = meta.get("namespace", "default")
        if r.inputs.get("type") == "kubernetes.io/dockerconfigjson":
            command = (
                f"kubectl -n {namespace} create secret docker-registry {meta['name']} --docker-server=REGISTRY "
                "--docker-username=mlstack --docker-password=..."
            )
        else:
            literals = " ".join(f"--from-literal={key}=..." for key in keys)
            command = f"kubectl -n {namespace} create secret generic {meta['name']} {literals}"
        annotations = meta.get("annotations") or {}
        if annotations:  # what its reader needs besides the values (KServe: where the object store is)
            pairs = " ".join(f"{k}={shlex.quote(str(v))}" for k, v in sorted(annotations.items()))
            command += f"\nkubectl -n {namespace} annotate secret {meta['name']} {pairs}"
        lines += ["", "```", command, "```", ""]
    return "\n".join(lines)


def _charts_doc(charts: list[Any]) -> str:
    """How to install the charts the stack's flavors install, with mlstack's values, from the publishers."""
    from mlstack.versions import CHARTS

    lines = [
        "# Charts to install once these manifests are applied and their Jobs have completed",
        "",
        "A deploy installs these charts itself (Pulumi's helm.v4.Chart). With GitOps, install each with Helm, or",
        "give your tool (Argo CD, Flux) the same chart, version and values. The values hold no secret: the chart",
        "reads the Secrets of SECRETS.md by name.",
        "",
    ]
    for r in charts:
        release, namespace = r.inputs["name"], r.inputs.get("namespace", "default")
        chart = CHARTS[release]
        source = f"{chart.repository}/{chart.name}" if chart.oci else f"{chart.name} --repo {chart.repository}"
        lines += [
            f"## `{release}` in namespace `{namespace}`: chart {chart.name} {chart.version}",
            "",
            "```",
            f"helm install {release} {source} --version {chart.version} --namespace {namespace} --values - <<'EOF'",
            _yaml(r.inputs.get("values") or {}).rstrip("\n"),
            "EOF",
            "```",
            "",
        ]
    return "\n".join(lines)


def _missing_doc(missing: list[str]) -> str:
    """What a flavor applies from a rendered manifest that this render could not include (no mirror holds it)."""
    from mlstack.components.kubernetes.addons import MIRROR_ENV
    from mlstack.versions import MANIFESTS

    lines = [
        "# Not in these manifests: what mlstack applies from rendered manifests it could not read",
        "",
        f"The mirror directory (${MIRROR_ENV}) holds no {', '.join(MANIFESTS[m].file for m in missing)}, so these",
        "manifests lack those objects, as mlstack fits them to the stack (a deploy stops with exit 3 without them).",
        f"Render them into a mirror directory where GitHub is reachable, set ${MIRROR_ENV} to it, and run",
        "`mlstack render` again:",
        "",
        "```",
        *(MANIFESTS[m].render for m in missing),
        "```",
        "",
    ]
    return "\n".join(lines)


def render(plan: Any, missing: list[str] | None = None) -> dict[str, str]:
    """{file name: text}: one manifest per object in apply order, a `Kustomization` and SECRETS.md.

    The kustomization is the file kustomize reads under the name `Kustomization`: `kubectl apply -f DIR` reads only
    .yaml/.yml/.json files, and would refuse a `kustomization.yaml` (no API serves kind Kustomization)."""
    objects = [r for r in plan.resources if r.custom and r.type.startswith("kubernetes:")]
    secrets = [r for r in objects if _holds_generated_values(r)]
    applied = [o for r in plan.resources if r.type == CONFIG_GROUP for o in r.inputs.get("objs") or []]
    manifests = sorted(
        [*(_manifest(r) for r in objects if r not in secrets), *applied],
        key=lambda m: (ORDER.index(m["kind"]) if m["kind"] in ORDER else len(ORDER), m["metadata"].get("name", "")),
    )
    files = {_file_name(i, m): _yaml(m) for i, m in enumerate(manifests, start=1)}
    files[KUSTOMIZATION] = _yaml(
        {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": list(files)}
    )
    if secrets:
        files[SECRETS_FILE] = _secrets_doc(secrets)
    if charts := [r for r in plan.resources if r.type == HELM_CHART]:
        files[CHARTS_FILE] = _charts_doc(charts)
    if missing:
        files[MISSING_FILE] = _missing_doc(missing)
    stand_ins = {
        name: found for name, text in files.items() if (found := sorted(p for p in plan.placeholders if p in text))
    }
    if stand_ins:
        files[UNKNOWN_FILE] = _unknown_doc(stand_ins)
    return files


def _unknown_doc(stand_ins: dict[str, list[str]]) -> str:
    """Where the manifests hold a stand-in for a value only the cloud assigns (a managed cluster's: an account, a
    database's private address), which an offline plan cannot know."""
    return "\n".join(
        [
            "# Known only after deploy: stand-ins in these manifests",
            "",
            "These manifests come from an offline plan. Where they need a value only the cloud assigns when the stack",
            "is deployed (an account id, a managed database's private address), they hold a stand-in. Replace each",
            "with the deployed value (`mlstack output` shows them), or deploy with `mlstack deploy`:",
            "",
            *(f"- `{name}`: {', '.join(f'`{p}`' for p in found)}" for name, found in sorted(stand_ins.items())),
            "",
        ]
    )
