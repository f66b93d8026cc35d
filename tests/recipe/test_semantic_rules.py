"""Recipes that parse but are wrong: each semantic rule refuses its mistake with one line naming the field, exit 2,
and a recipe that keeps the rule still loads (each rule is tried both ways)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from mlstack.cli import app

runner = CliRunner()
AWS_TRACKING = ("  object_store: {flavor: s3}\n  tracking: {flavor: mlflow, vpc_id: vpc-0a1b2c3d4e5f67890, "
                "subnet_ids: [SUBNETS], certificate_arn: 'arn:aws:acm:eu-west-1:1:certificate/x', "
                "hostname: mlflow.example.com, allowed_cidrs: [CIDRS]}\n")
AZURE_SUBNET = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v/subnets/"


def recipe(target: str, components: str, extra: str = "") -> str:
    return f"apiVersion: mlstack/v1\nname: demo\ntarget: {target}\n{extra}components:\n{components}"


def aws(subnets: str = "subnet-0a1b2c3d4e5f67890, subnet-0f9e8d7c6b5a43210", cidrs: str = "10.0.0.0/8") -> str:
    return recipe("{type: aws, region: eu-west-1}", AWS_TRACKING.replace("SUBNETS", subnets).replace("CIDRS", cidrs))


def azure(app_subnet: str, db_subnet: str) -> str:
    return recipe("{type: azure, location: westeurope}",
                  "  object_store: {flavor: azure_blob}\n  tracking: {flavor: mlflow, "
                  f"subnet_id: '{AZURE_SUBNET}{app_subnet}', database_subnet_id: '{AZURE_SUBNET}{db_subnet}', "
                  "allowed_cidrs: [10.0.0.0/8]}\n")


LOCAL = "local"
CASES = {  # rule: (a recipe breaking it, the line it must print, a recipe keeping it)
    "internet_in_two_halves": (aws(cidrs="0.0.0.0/1, 128.0.0.0/1"), "'0.0.0.0/1' opens the server", aws()),
    "ipv4_mapped_internet": (aws(cidrs="'::ffff:0:0/96'"), "'::ffff:0:0/96' opens the server", aws(cidrs="10.1.0.0/16")),
    "all_global_ipv6": (aws(cidrs="'2000::/3'"), "'2000::/3' opens the server", aws(cidrs="'2001:db8::/48'")),
    "this_network": (aws(cidrs="0.0.0.0/8"), "'0.0.0.0/8' is 'this network'", aws(cidrs="10.0.0.0/8")),
    "loopback": (aws(cidrs="127.0.0.0/8"), "'127.0.0.0/8' is loopback", aws(cidrs="192.168.0.0/16")),
    "private_ipv6_is_not_the_internet": (aws(cidrs="'2001::/16'"), "'2001::/16' opens the server",
                                         aws(cidrs="'fd00::/8', 'fe80::/10', '10.0.0.0/8'")),
    # public networks (private ones never add up to the internet)
    "prefix_reaching_out": (recipe(LOCAL, "  object_store: {flavor: minio}\n  tracking: {flavor: mlflow, artifact_prefix: PREFIX}\n".replace("PREFIX", "'../other'")), "has a '..' segment",
                            recipe(LOCAL, "  object_store: {flavor: minio}\n  tracking: {flavor: mlflow, artifact_prefix: PREFIX}\n".replace("PREFIX", "team/mlflow"))),
    "prefix_from_the_root": (recipe(LOCAL, "  object_store: {flavor: minio}\n  tracking: {flavor: mlflow, artifact_prefix: PREFIX}\n".replace("PREFIX", "/mlflow")), "starts with '/'",
                             recipe(LOCAL, "  object_store: {flavor: minio}\n  tracking: {flavor: mlflow, artifact_prefix: PREFIX}\n".replace("PREFIX", "mlflow/"))),
    "prefix_with_an_empty_folder": (recipe(LOCAL, "  object_store: {flavor: minio}\n  tracking: {flavor: mlflow, artifact_prefix: PREFIX}\n".replace("PREFIX", "a//b")), "has an empty segment ('//')",
                                    recipe(LOCAL, "  object_store: {flavor: minio}\n  tracking: {flavor: mlflow, artifact_prefix: PREFIX}\n".replace("PREFIX", "a/b"))),
    "state_in_a_system_directory": (recipe(LOCAL, "  orchestrator: {flavor: local}\n", "state: {backend: 'file:///etc'}\n"),
                                    "'file:///etc' is a system directory",
                                    recipe(LOCAL, "  orchestrator: {flavor: local}\n", "state: {backend: 'file:///srv/state'}\n")),
    "state_in_the_root": (recipe(LOCAL, "  orchestrator: {flavor: local}\n", "state: {backend: 'file:///'}\n"),
                          "is a system directory",
                          recipe(LOCAL, "  orchestrator: {flavor: local}\n", "state: {backend: 'file:///tmp/team-state'}\n")),
    "region_that_does_not_exist": (recipe("{type: aws, region: eu-west-9}", "  object_store: {flavor: s3}\n"),
                                   "'eu-west-9' is no AWS region",
                                   recipe("{type: aws, region: eu-west-3}", "  object_store: {flavor: s3}\n")),
    "gcp_region_that_does_not_exist": (
        recipe("{type: gcp, project: mlops-demo-1, region: europe-west5}", "  object_store: {flavor: gcs}\n"),
        "'europe-west5' is no GCP region",
        recipe("{type: gcp, project: mlops-demo-1, region: europe-west10}", "  object_store: {flavor: gcs}\n")),
    "azure_location_that_does_not_exist": (
        recipe("{type: azure, location: westeurop}", "  object_store: {flavor: azure_blob}\n"),
        "'westeurop' is no Azure location (did you mean 'westeurope'?)",
        recipe("{type: azure, location: swedencentral}", "  object_store: {flavor: azure_blob}\n")),
    "certificate_of_another_region": (
        aws().replace("arn:aws:acm:eu-west-1:", "arn:aws:acm:us-east-1:"),
        "an ACM certificate of region 'us-east-1'; the load balancer is in 'eu-west-1'", aws()),
    "many_small_adding_up": (aws(cidrs=", ".join(f"{i}.0.0.0/9" for i in range(20, 23))), "together these networks",
                             aws(cidrs="20.0.0.0/9")),
    "one_subnet_twice": (aws(subnets="subnet-0a1b2c3d4e5f67890, subnet-0a1b2c3d4e5f67890"), "is listed twice", aws()),
    "duplicate_buckets": (recipe(LOCAL, "  object_store: {flavor: minio, buckets: [data, data]}\n"),
                          "components.object_store.buckets: 'data' is listed twice",
                          recipe(LOCAL, "  object_store: {flavor: minio, buckets: [data, models]}\n")),
    "duplicate_repositories": (recipe("{type: aws, region: eu-west-1}", "  registry: {flavor: ecr, repositories: [m, m]}\n"),
                               "is listed twice",
                               recipe("{type: aws, region: eu-west-1}", "  registry: {flavor: ecr, repositories: [m, n]}\n")),
    "duplicate_containers": (recipe("{type: azure, location: westeurope}",
                                    "  object_store: {flavor: azure_blob, containers: [abc, abc]}\n"), "is listed twice",
                             recipe("{type: azure, location: westeurope}",
                                    "  object_store: {flavor: azure_blob, containers: [abc, abd]}\n")),
    "bucket_like_an_ip": (recipe(LOCAL, "  object_store: {flavor: minio, buckets: [192.168.1.1]}\n"),
                          "looks like an IP address", recipe(LOCAL, "  object_store: {flavor: minio, buckets: [a.b.c]}\n")),
    "bucket_with_double_dot": (recipe(LOCAL, "  object_store: {flavor: minio, buckets: [a..b]}\n"), "'..'",
                               recipe(LOCAL, "  object_store: {flavor: minio, buckets: [a.b]}\n")),
    "azure_one_subnet_for_both": (azure("apps", "apps"), "must be a subnet of its own", azure("apps", "db")),
    "empty_component_block": (recipe(LOCAL, "  registry:\n  orchestrator: {flavor: local}\n"),
                              "components.registry: an empty block", recipe(LOCAL, "  orchestrator: {flavor: local}\n")),
    "no_component_at_all": (recipe(LOCAL, "  {}\n").replace("components:\n  {}", "components: {}"),
                            "a stack needs at least one component", recipe(LOCAL, "  orchestrator: {flavor: local}\n")),
    "two_services_one_port": (recipe(LOCAL, "  registry: {flavor: distribution, port: 5000}\n"
                                            "  tracking: {flavor: mlflow, port: 5000}\n"), "both ask for port 5000",
                              recipe(LOCAL, "  registry: {flavor: distribution, port: 5000}\n"
                                            "  tracking: {flavor: mlflow, port: 5001}\n")),
    "tags_override_the_stack_tag": (recipe(LOCAL, "  orchestrator: {flavor: local}\n", "tags: {mlstack-stack: other}\n"),
                                    "are mlstack's own",
                                    recipe(LOCAL, "  orchestrator: {flavor: local}\n", "tags: {stack: other}\n")),
    "aws_reserved_tag_prefix": (recipe("{type: aws, region: eu-west-1}", "  registry: {flavor: ecr}\n",
                                       "tags: {'aws:owner': me}\n"), "AWS refuses tag keys starting with 'aws:'",
                                recipe("{type: aws, region: eu-west-1}", "  registry: {flavor: ecr}\n",
                                       "tags: {owner: me}\n")),
    "gcp_label_charset": (recipe("{type: gcp, project: my-project, region: europe-west1}",
                                 "  registry: {flavor: artifact_registry}\n", "tags: {Owner: Me}\n"), "GCP labels are",
                          recipe("{type: gcp, project: my-project, region: europe-west1}",
                                 "  registry: {flavor: artifact_registry}\n", "tags: {owner: me}\n")),
    "secrets_provider_not_really": (recipe(LOCAL, "  orchestrator: {flavor: local}\n",
                                           "state: {secrets_provider: passphrase-but-not-really}\n"),
                                    "state.secrets_provider",
                                    recipe(LOCAL, "  orchestrator: {flavor: local}\n",
                                           "state: {secrets_provider: passphrase}\n")),
}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_each_semantic_rule_refuses_its_mistake_and_only_it(rule, tmp_path, home):
    bad, expected, good = CASES[rule]
    path = tmp_path / "recipe.yaml"
    path.write_text(bad)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert any(line.startswith(f"{path}:") and expected in line for line in lines), lines
    path.write_text(good)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
