"""`mlstack cost`: every figure is computed here by hand from the snapshot's own entries and the recipe's sizes;
one size changed moves exactly its line; what the snapshot lacks is named unpriced (never 0); a bad `--prices`
file, `cost:` block or `--assume` is exit 2 naming file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlstack.cli import app
from mlstack.cost.prices import SHIPPED
from tests.conftest import RECIPES

runner = CliRunner()
SNAPSHOT = json.loads(SHIPPED.read_text())


def usd(key: str, region: str) -> float:
    return SNAPSHOT["prices"][key]["regions"][region]["usd"]


def cost(*args: str, code: int = 0) -> dict:
    result = runner.invoke(app, ["cost", *args, "--json"])
    envelope = json.loads(result.stdout)
    assert result.exit_code == code, result.stdout
    return envelope["result"] if code == 0 else envelope


def lines(result: dict) -> dict[tuple[str, str], dict]:
    return {(line["resource"], line["item"]): line for line in result["lines"]}


def _recipe(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return str(path)


def aws_in(tmp_path: Path, region: str, extra: str = "") -> str:
    text = (RECIPES / "aws.yaml").read_text().replace("region: eu-west-1", f"region: {region}")
    text = text.replace("arn:aws:acm:eu-west-1:", f"arn:aws:acm:{region}:") + extra
    return _recipe(tmp_path, f"aws-{region}", text)


def test_an_aws_stack_in_a_fully_priced_region_is_the_sum_of_its_lines(home, tmp_path):
    r = cost(aws_in(tmp_path, "us-east-1"))
    p = lambda key: usd(key, "us-east-1")  # noqa: E731
    hours = 730
    expected = {
        ("object_store-artifacts", "S3 Standard storage"): 100 * p("aws.s3.storage"),
        ("object_store-artifacts", "PUT, COPY, POST, LIST requests"): 50 * p("aws.s3.write_requests"),
        ("object_store-artifacts", "GET requests"): 500 * p("aws.s3.read_requests"),
        ("object_store-artifacts", "data out to the internet"): 10 * p("aws.transfer.out"),
        ("registry-models", "ECR storage"): 20 * p("aws.ecr.storage"),
        ("tracking-db", "RDS PostgreSQL db.t4g.micro (Single-AZ)"): hours * p("aws.rds.postgresql.db.t4g.micro"),
        ("tracking-db", "RDS gp3 storage"): 32 * p("aws.rds.storage.gp3"),  # database_storage_gb's default
        ("tracking-service", "Fargate vCPU (1 task x 1 vCPU)"): hours * 1 * p("aws.fargate.vcpu"),
        ("tracking-service", "Fargate memory (1 task x 2 GB)"): hours * 2 * p("aws.fargate.memory"),
        ("tracking-lb", "Application Load Balancer hours"): hours * p("aws.alb.hour"),
        ("tracking-lb", "load balancer capacity units"): hours * 1 * p("aws.alb.lcu"),
        ("tracking-logs", "CloudWatch Logs ingestion"): 5 * p("aws.logs.ingest"),
        ("tracking-logs", "CloudWatch Logs storage (1 months kept)"): 5 * p("aws.logs.storage"),
        ("tracking-secret", "Secrets Manager secret"): p("aws.secretsmanager.secret"),
    }
    got = lines(r)
    assert set(got) == set(expected)
    for key, amount in expected.items():
        assert got[key]["monthly_usd"] == round(amount, 2), key
        assert got[key]["source"].startswith("https://") and got[key]["read"] == "2026-12-06"
    assert r["unpriced"] == []
    assert r["total_usd"] == round(sum(expected.values()), 2)
    assert r["region"] == "us-east-1" and r["prices"]["read"] == SNAPSHOT["read"]
    free = {f["type"] for f in r["free"]}  # nothing charged, each with why: IAM, security groups, bucket settings
    assert "aws:iam/role:Role" in free and "aws:ecs/taskDefinition:TaskDefinition" in free


def test_the_range_is_usage_s_and_a_value_set_is_exact(home, tmp_path):
    low_high = cost(aws_in(tmp_path, "us-east-1"))
    storage = lines(low_high)[("object_store-artifacts", "S3 Standard storage")]
    assert storage["quantity_range"] == [10, 1000]
    assert storage["monthly_usd_range"] == [round(10 * usd("aws.s3.storage", "us-east-1"), 2),
                                            round(1000 * usd("aws.s3.storage", "us-east-1"), 2)]
    assert lines(low_high)[("tracking-db", "RDS gp3 storage")]["quantity_range"] == [32, 32]  # a size, not usage
    set_in_recipe = aws_in(tmp_path, "us-east-1", "cost:\n  storage_gb: 250\n")
    r = cost(set_in_recipe, "--assume", "logs_gb=2")
    assert lines(r)[("object_store-artifacts", "S3 Standard storage")]["quantity_range"] == [250, 250]
    assert r["assumptions"]["storage_gb"]["source"] == "recipe"
    assert r["assumptions"]["logs_gb"] == {**r["assumptions"]["logs_gb"], "expected": 2, "source": "--assume"}
    assert lines(r)[("tracking-logs", "CloudWatch Logs ingestion")]["monthly_usd"] == round(
        2 * usd("aws.logs.ingest", "us-east-1"), 2)


def test_one_size_changed_moves_exactly_its_line(home, tmp_path):
    base = lines(cost(aws_in(tmp_path, "us-east-1")))
    text = Path(aws_in(tmp_path, "us-east-1")).read_text().replace(
        "    allowed_cidrs: [10.0.0.0/8]\n", "    allowed_cidrs: [10.0.0.0/8]\n    database_storage_gb: 100\n")
    bigger = lines(cost(_recipe(tmp_path, "bigger", text)))
    changed = {k for k in base if base[k]["monthly_usd"] != bigger[k]["monthly_usd"]}
    assert changed == {("tracking-db", "RDS gp3 storage")}
    assert bigger[("tracking-db", "RDS gp3 storage")]["monthly_usd"] == round(100 * usd("aws.rds.storage.gp3",
                                                                                        "us-east-1"), 2)


def test_what_the_snapshot_lacks_is_named_unpriced_never_zero(home):
    r = cost(str(RECIPES / "aws.yaml"))  # eu-west-1: the snapshot has no RDS or load balancer capacity price there
    unpriced = {k for k, line in lines(r).items() if line["unpriced"] is not None}
    assert unpriced == {("tracking-lb", "load balancer capacity units"),
                        ("tracking-db", "RDS PostgreSQL db.t4g.micro (Single-AZ)"), ("tracking-db", "RDS gp3 storage")}
    p = lambda key: usd(key, "eu-west-1")  # noqa: E731
    assert r["total_usd"] == round(
        100 * p("aws.s3.storage") + 50 * p("aws.s3.write_requests") + 500 * p("aws.s3.read_requests")
        + 10 * p("aws.transfer.out") + 20 * p("aws.ecr.storage") + 5 * p("aws.logs.ingest") + 5 * p("aws.logs.storage")
        + 730 * p("aws.fargate.vcpu") + 730 * 2 * p("aws.fargate.memory") + p("aws.secretsmanager.secret")
        + 730 * p("aws.alb.hour"), 2)
    assert "tracking/tracking-db: RDS gp3 storage (no eu-west-1 price for aws.rds.storage.gp3 (the snapshot has " \
           "us-east-1))" in r["unpriced"]
    assert all(line["monthly_usd"] is None for line in r["lines"] if line["unpriced"])
    azure = cost(str(RECIPES / "azure.yaml"))
    assert "tracking/tracking-db: PostgreSQL Flexible Server Standard_B1ms (no azure.postgresql.standard_b1ms in " \
           "the price snapshot)" in azure["unpriced"]
    # a private zone's link is free, with why (Azure DNS bills the zone, priced, and its queries)
    [link] = [f for f in azure["free"] if f["type"] == "azure-native:privatedns:VirtualNetworkLink"]
    assert link["why"] == "Azure DNS bills a private zone and its queries, not its links"
    assert ("tracking-db-dns", "private DNS zone") in lines(azure)
    text = runner.invoke(app, ["cost", str(RECIPES / "azure.yaml")]).stdout
    assert "UNPRICED, not counted" in text.splitlines()[0]


def test_gcp_by_hand(home):
    r = cost(str(RECIPES / "gcp.yaml"))
    p = lambda key: usd(key, "europe-west1")  # noqa: E731
    expected = (100 * p("gcp.gcs.storage") + 50 / 10 * p("gcp.gcs.class_a") + 500 / 10 * p("gcp.gcs.class_b")
                + 10 * 1e9 / 2**30 * p("gcp.egress")  # 10 GB out, priced per GiB
                + (20 + 2) * p("gcp.artifactregistry.storage")
                + 730 * 3600 * p("gcp.cloudrun.vcpu_second") + 3 * p("gcp.secretmanager.version"))
    assert r["total_usd"] == round(expected, 2)
    assert sorted(u.split(":")[1].split(" (")[0].strip() for u in r["unpriced"]) == [
        "Cloud Run memory", "Cloud SQL SSD storage", "Cloud SQL memory", "Cloud SQL vCPU"]


def test_azure_by_hand(home):
    r = cost(str(RECIPES / "azure.yaml"))
    p = lambda key: usd(key, "westeurope")  # noqa: E731
    expected = {  # the usage defaults: 5 GB of logs, 500k reads, 10 GB out, one replica kept warm all month
        ("orchestrator-insights", "Application Insights data ingested"): 5 * p("azure.monitor.ingest"),
        ("object_store-account", "read operations (hot ZRS)"): 500 / 10 * p("azure.blob.read.zrs"),
        ("object_store-account", "data out to the internet"): 10 * p("azure.egress"),
        ("tracking-app", "Container Apps vCPU (1 replica kept x 1 vCPU, active)"):
            730 * 3600 * 1 * p("azure.containerapps.vcpu_second"),
        ("tracking-app", "Container Apps memory (1 replica x 2 GiB, active)"):
            730 * 3600 * 2 * p("azure.containerapps.memory_second"),
        ("tracking-db-dns", "private DNS zone"): p("azure.privatedns.zone"),
    }
    got = {k: line for k, line in lines(r).items() if line["unpriced"] is None}
    assert set(got) == set(expected)
    for key, amount in expected.items():
        assert got[key]["monthly_usd"] == round(amount, 2), key
    assert r["total_usd"] == round(sum(expected.values()), 2)
    # what the snapshot lacks for westeurope is named, never counted as 0
    assert {k for k, line in lines(r).items() if line["unpriced"]} == {
        ("orchestrator-vault", "Key Vault operations (at most 10,000 a month)"),
        ("object_store-account", "Blob Storage hot ZRS"), ("object_store-account", "write operations (hot ZRS)"),
        ("registry-acr", "Container Registry Standard"),
        ("tracking-db", "PostgreSQL Flexible Server Standard_B1ms"),
        ("tracking-db", "PostgreSQL Flexible Server storage")}


def test_a_newer_snapshot_prices_what_the_shipped_one_lacks(home, tmp_path):
    newer = json.loads(SHIPPED.read_text())
    newer["read"] = "2027-01-15"
    newer["prices"]["aws.rds.storage.gp3"]["regions"]["eu-west-1"] = {
        "usd": 0.127, "source": "https://aws.amazon.com/rds/postgresql/pricing/", "read": "2027-01-15"}
    path = tmp_path / "prices.yaml"
    path.write_text(json.dumps(newer, indent=1))
    r = cost(str(RECIPES / "aws.yaml"), "--prices", str(path))
    line = lines(r)[("tracking-db", "RDS gp3 storage")]
    assert line["monthly_usd"] == round(32 * 0.127, 2) and line["read"] == "2027-01-15" and line["unpriced"] is None
    assert r["prices"] == {"file": str(path), "read": "2027-01-15"}


def test_a_malformed_prices_file_is_exit_2_with_its_lines(home, tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text("format: mlstack.prices/v1\nread: January 2027\ncurrency: USD\ncolour: red\nprices:\n  aws.s3.storage:\n"
                    "    description: S3\n    unit: GB-month\n    regions:\n      eu-west-1:\n        usd: -1\n"
                    "        source: http://insecure.example\n        read: '2027-01-15'\n")
    envelope = cost(str(RECIPES / "aws.yaml"), "--prices", str(path), code=2)
    problems = {(p["line"], p["field"]) for p in envelope["errors"][0]["problems"]}
    assert (2, "read") in problems  # not YYYY-MM-DD
    assert (11, "prices.aws.s3.storage.regions.eu-west-1.usd") in problems
    assert (12, "prices.aws.s3.storage.regions.eu-west-1.source") in problems
    unknown = next(p for p in envelope["errors"][0]["problems"] if p["field"] == "colour")
    assert unknown["line"] == 4 and unknown["message"] == "unknown field"  # no recipe hints in a price file
    assert all(p["file"] == str(path) for p in envelope["errors"][0]["problems"])


def test_a_bad_cost_block_or_assumption_is_exit_2_naming_it(home, tmp_path):
    recipe = _recipe(tmp_path, "bad", (RECIPES / "gcp.yaml").read_text() + "cost:\n  storage_gb: -5\n  disk: 3\n")
    envelope = cost(recipe, code=2)
    found = {(p["field"], p["line"]) for p in envelope["errors"][0]["problems"]}
    lines_of = (RECIPES / "gcp.yaml").read_text().count("\n")
    assert found == {("cost.storage_gb", lines_of + 2), ("cost.disk", lines_of + 3)}
    for bad, says in ((["--assume", "disk_gb=3"], "unknown key 'disk_gb'"), (["--assume", "storage_gb=lots"],
                      "must be a number"), (["--assume", "hours_up=900"], "hours_up"), (["--assume", "x"], "KEY=VALUE")):
        envelope = cost(str(RECIPES / "gcp.yaml"), *bad, code=2)
        assert says in envelope["errors"][0]["message"], bad


def test_kubernetes_reports_the_capacity_its_cluster_must_have(home):
    r = cost(str(RECIPES / "kubernetes.yaml"))
    assert r["total_usd"] is None and r["lines"] == [] and r["assumptions"] == {}
    rows = {row["workload"]: row for row in r["capacity"]}
    # MLflow's Deployment: one replica of requests 250m / 512Mi, limits 2 / 2Gi (workload.resources in tracking.py)
    assert rows["tracking-deployment"] | {} == {**rows["tracking-deployment"], "cpu_request": 0.25, "cpu_limit": 2,
                                                "memory_request_gib": 0.5, "memory_limit_gib": 2, "transient": False}
    assert rows["object_store-buckets"]["transient"] is True  # the bucket Job: listed, not kept reserved
    kept = [row for row in r["capacity"] if not row["transient"]]
    assert r["capacity_total"]["cpu_request"] == round(sum(row["cpu_request"] for row in kept), 3)
    volumes = [row for row in r["capacity"] if row["kind"] == "PersistentVolumeClaim"]
    assert r["capacity_total"]["storage_gib"] == sum(row["storage_gib"] for row in volumes) > 0
    airflow = cost(str(RECIPES / "kubernetes-airflow.yaml"))
    assert airflow["not_sized"] == ["orchestrator-chart (chart: its objects render at deploy)"]
    kubeflow = cost(str(RECIPES / "kubernetes-kubeflow.yaml"))
    assert any(n.startswith("orchestrator (kubeflow-pipelines:") for n in kubeflow["not_sized"])


def test_local_reports_what_it_takes_of_this_machine(home, tmp_path, monkeypatch):
    runtimes = tmp_path / "runtimes"
    (runtimes / "mlserver-1.7.1" / "bin").mkdir(parents=True)
    (runtimes / "mlserver-1.7.1" / "bin" / "mlserver").write_bytes(b"x" * (3 * 2**20))
    (runtimes / "mlflow-3.17.2").mkdir()  # installed by this release: its size was recorded then
    (runtimes / "mlflow-3.17.2" / ".mlstack-size").write_text(str(5 * 2**20))
    monkeypatch.setenv("MLSTACK_RUNTIMES_DIR", str(runtimes))
    r = cost(str(RECIPES / "local.yaml"), "--assume", "registry_gb=7")
    rows = {row["component"]: row for row in r["footprint"]}
    assert rows["serving"]["runtime_disk_mib"] == 3.0 and rows["serving"]["runtime_installed"] is True  # measured
    assert rows["tracking"]["runtime_disk_mib"] == 5.0
    assert rows["object_store"]["runtime_installed"] is False and rows["object_store"]["runtime_disk_mib"] is None
    assert rows["registry"]["data_gb"] == 7 and rows["object_store"]["data_gb"] == 100
    assert set(r["assumptions"]) == {"storage_gb", "registry_gb"} and r["total_usd"] is None


@pytest.mark.parametrize("fmt", ["--markdown", None])
def test_every_recipe_is_estimated(home, fmt):
    for recipe in sorted(RECIPES.glob("*.yaml")):
        result = runner.invoke(app, ["cost", str(recipe), *([fmt] if fmt else [])])
        assert result.exit_code == 0, (recipe, result.stdout)
        assert f"read {SNAPSHOT['read']}" in result.stdout


def test_against_another_recipe_the_change_is_the_difference_of_totals(home, tmp_path):
    base = aws_in(tmp_path, "us-east-1")
    text = Path(base).read_text().replace("    allowed_cidrs: [10.0.0.0/8]\n",
                                          "    allowed_cidrs: [10.0.0.0/8]\n    database_storage_gb: 100\n")
    r = cost(_recipe(tmp_path, "bigger", text), "--against", base)
    assert r["against"]["delta_usd"] == round(68 * usd("aws.rds.storage.gp3", "us-east-1"), 2)
    assert r["against"]["total_usd"] == cost(base)["total_usd"]
    markdown = runner.invoke(app, ["cost", _recipe(tmp_path, "bigger", text), "--against", base, "--markdown"]).stdout
    assert f"**Change:** +${68 * usd('aws.rds.storage.gp3', 'us-east-1'):,.2f} a month against {base}" in markdown


def test_preview_markdown_ends_with_the_estimate_and_the_change_from_the_deployed_stack(home, tmp_path):
    from mlstack.cli.preview import _cost_markdown
    from mlstack.engine.workspace import save_recipe
    from mlstack.recipe.loader import load_recipe

    offline = runner.invoke(app, ["preview", str(RECIPES / "gcp.yaml"), "--offline", "--markdown"]).stdout
    assert "**Estimated cost of `mlops-gcp`** (gcp, europe-west1)" in offline and "**Change:**" not in offline
    # a deployed stack (its saved recipe, as a deploy keeps it) with a smaller database
    deployed_text = Path(aws_in(tmp_path, "us-east-1")).read_text()
    new = aws_in(tmp_path, "us-east-1", "cost:\n  storage_gb: 200\n")
    save_recipe(home, "mlops-aws", load_recipe(_recipe(tmp_path, "old", deployed_text)).model_dump(mode="json"))
    text = _cost_markdown(Path(new), None, None, deployed=True)
    assert f"**Change:** +${100 * usd('aws.s3.storage', 'us-east-1'):,.2f} a month against the deployed stack" in text


def test_deploy_on_a_terminal_shows_the_monthly_cost_and_its_change(home, tmp_path):
    from mlstack.cli.deploy import _cost_change
    from mlstack.engine.operations import StackRef
    from mlstack.engine.workspace import save_recipe
    from mlstack.recipe.loader import load_recipe

    new = _recipe(tmp_path, "new", Path(aws_in(tmp_path, "us-east-1", "cost:\n  storage_gb: 200\n")).read_text())
    first = _cost_change(home, StackRef(Path(new)))
    assert first == f"cost: ${cost(new)['total_usd']:,.2f} a month"  # nothing deployed: no change to show
    save_recipe(home, "mlops-aws", load_recipe(aws_in(tmp_path, "us-east-1")).model_dump(mode="json"))
    change = _cost_change(home, StackRef(Path(new)))
    assert change.endswith(f"+${100 * usd('aws.s3.storage', 'us-east-1'):,.2f} a month against the deployed stack "
                           f"(${cost(aws_in(tmp_path, 'us-east-1'))['total_usd']:,.2f} → "
                           f"${cost(new)['total_usd']:,.2f}, priced items only)")
    assert _cost_change(home, StackRef(RECIPES / "kubernetes.yaml")) is None  # no money on a cluster of yours


def test_objects_a_rendered_manifest_applies_are_sized_like_the_plan_s_own():
    """KFP's render (a ConfigGroup's objects) where the mirror holds it: its workloads count, by their own type."""
    from mlstack.components.kubernetes.cost import capacity
    from mlstack.engine.offline import Plan, PlannedResource

    group = PlannedResource("urn:group", "kubernetes:yaml/v2:ConfigGroup", "orchestrator-kubeflow-pipelines", None, False,
                            {"objs": [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ml-pipeline"},
                                       "spec": {"replicas": 2, "template": {"spec": {"containers": [
                                           {"resources": {"requests": {"cpu": "250m", "memory": "500Mi"},
                                                          "limits": {"cpu": "1", "memory": "1Gi"}}}]}}}},
                                      {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}]})
    rows, not_sized = capacity(Plan("s", "kubernetes", [group]))
    assert not_sized == []
    assert rows == [{"component": "stack", "workload": "ml-pipeline", "kind": "Deployment", "replicas": 2.0,
                     "cpu_request": 0.5, "cpu_limit": 2.0, "memory_request_gib": round(2 * 500 / 1024, 3),
                     "memory_limit_gib": 2.0, "storage_gib": 0.0, "transient": False}]
