"""What a GCP stack costs a month: each resource type mlstack creates there, priced from the snapshot's `gcp.*`
entries, or free with why. Vertex AI bills the pipelines you run and the models you deploy to the endpoint, per
use (a note says so)."""

from __future__ import annotations

import re
from typing import Any

from mlstack.cost.estimate import GIB, Line, Priced, Pricing, fixed, price_plan, quantity, scaled, share_of

NOTES = (
    "Vertex AI bills the pipelines you run and the models you deploy to the endpoint, per use: mlstack creates the "
    "endpoint empty",
    "Artifact Registry's first 0.5 GB a month and Cloud Logging's first 50 GiB are free per billing account: not "
    "subtracted here",
)


GIB_PER_GB = 1e9 / GIB  # usage is assumed in GB; a price per GiB is for 1.07 GB


def rules(plan: Any) -> dict[str, Any]:
    def share(r: Any, component: str) -> float:
        return share_of(plan, r, component, _standard)

    def bucket(r: Any, p: Pricing, component: str) -> list[Line]:
        part = share(r, component)
        return [
            p.line(
                component,
                r.name,
                "Cloud Storage Standard storage",
                "gcp.gcs.storage",
                scaled(p.use("storage_gb"), part),
            ),
            # priced per 10,000 operations; the usage is in thousands
            p.line(
                component,
                r.name,
                "Class A operations (writes, lists)",
                "gcp.gcs.class_a",
                scaled(p.use("write_requests_k"), part / 10),
            ),
            p.line(
                component,
                r.name,
                "Class B operations (reads)",
                "gcp.gcs.class_b",
                scaled(p.use("read_requests_k"), part / 10),
            ),
            p.line(
                component,
                r.name,
                "data out to the internet",
                "gcp.egress",
                scaled(p.use("data_out_gb"), part * GIB_PER_GB),
            ),
        ]

    def repository(r: Any, p: Pricing, component: str) -> list[Line]:
        if not _standard(r):  # a pull-through cache of another registry: what it caches
            return [
                p.line(
                    component,
                    r.name,
                    "Artifact Registry storage (cached images)",
                    "gcp.artifactregistry.storage",
                    p.use("image_cache_gb"),
                )
            ]
        return [
            p.line(
                component,
                r.name,
                "Artifact Registry storage",
                "gcp.artifactregistry.storage",
                scaled(p.use("registry_gb"), share(r, component)),
            )
        ]

    def database(r: Any, p: Pricing, component: str) -> list[Line]:
        settings = r.inputs.get("settings") or {}
        tier = str(settings.get("tier", ""))
        custom = re.fullmatch(r"db-custom-(\d+)-(\d+)", tier)
        if not custom:
            return [
                Line(
                    component,
                    r.name,
                    f"Cloud SQL {tier}",
                    fixed(1),
                    "instance",
                    None,
                    unpriced=f"tier {tier!r}: only db-custom-CPU-MEMORY tiers are priced",
                )
            ]
        vcpu, memory_gb = float(custom.group(1)), float(custom.group(2)) / 1024
        hours = p.use("hours_up")
        ha = "regional (HA)" if settings.get("availabilityType") == "REGIONAL" else "zonal"
        key = "gcp.cloudsql.ha" if ha != "zonal" else "gcp.cloudsql"
        return [
            p.line(component, r.name, f"Cloud SQL vCPU ({vcpu:g}, {ha})", f"{key}.vcpu", scaled(hours, vcpu)),
            p.line(
                component,
                r.name,
                f"Cloud SQL memory ({memory_gb:g} GB, {ha})",
                f"{key}.memory",
                scaled(hours, memory_gb),
            ),
            p.line(component, r.name, "Cloud SQL SSD storage", "gcp.cloudsql.ssd", fixed(float(settings["diskSize"]))),
        ]

    def run_service(r: Any, p: Pricing, component: str) -> list[Line]:
        template = r.inputs.get("template") or {}
        warm = float((template.get("scaling") or {}).get("minInstanceCount") or 0)
        limits = [(c.get("resources") or {}).get("limits") or {} for c in template.get("containers") or []]
        vcpu = sum(quantity(lim.get("cpu", "1")) for lim in limits)
        memory = sum(quantity(lim.get("memory", "512Mi")) / GIB for lim in limits)
        seconds = scaled(p.use("hours_up"), 3600 * warm)
        return [
            p.line(
                component,
                r.name,
                f"Cloud Run vCPU ({warm:g} instance kept warm x {vcpu:g} vCPU)",
                "gcp.cloudrun.vcpu_second",
                scaled(seconds, vcpu),
            ),
            p.line(
                component,
                r.name,
                f"Cloud Run memory ({warm:g} instance x {memory:g} GiB)",
                "gcp.cloudrun.memory_second",
                scaled(seconds, memory),
            ),
        ]

    def secret_version(r: Any, p: Pricing, component: str) -> list[Line]:
        return [p.line(component, r.name, "Secret Manager active version", "gcp.secretmanager.version", fixed(1))]

    return {
        "gcp:storage/bucket:Bucket": bucket,
        "gcp:artifactregistry/repository:Repository": repository,
        "gcp:sql/databaseInstance:DatabaseInstance": database,
        "gcp:cloudrunv2/service:Service": run_service,
        "gcp:secretmanager/secretVersion:SecretVersion": secret_version,
    }


def _standard(r: Any) -> bool:
    return r.inputs.get("mode") in (None, "STANDARD_REPOSITORY")


NO_CHARGE = "Google Cloud charges nothing for it"
FREE = {
    "gcp:projects/iAMMember:IAMMember": NO_CHARGE,
    "gcp:serviceaccount/account:Account": NO_CHARGE,
    "gcp:storage/bucketIAMMember:BucketIAMMember": NO_CHARGE,
    "gcp:secretmanager/secret:Secret": "priced by its versions",
    "gcp:secretmanager/secretIamMember:SecretIamMember": NO_CHARGE,
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": NO_CHARGE,
    "gcp:sql/database:Database": "priced with its instance",
    "gcp:sql/user:User": "priced with its instance",
    "gcp:vertex/aiEndpoint:AiEndpoint": "billed per deployed model's node hours; mlstack deploys none",
}


def estimate(plan: Any, recipe: Any, pricing: Pricing) -> tuple[Priced, tuple[str, ...]]:
    return price_plan(plan, pricing, rules(plan), FREE), NOTES


def region(placement: Any) -> str:
    return str(placement.region)
