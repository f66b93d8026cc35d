"""Each class of bad input: exit 2, one `FILE:LINE: field: message` line per problem, no traceback, no state."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlstack.cli import app
from tests.conftest import state_files
from tests.recipe.conftest import GOOD

LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<field>[\w.\[\]]+): (?P<msg>.+)$")
FILE_LINE = re.compile(r"^(?P<file>[^:]+)(:(?P<line>\d+))?: (?P<msg>.+)$")


def run(home, args: list[str]):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert state_files(home) == [], "bad input must not write anything"
    return [ln for ln in result.stderr.splitlines() if ln.strip()]


def write(tmp_path: Path, text: str | bytes, name: str = "recipe.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.mark.parametrize("verb", ["validate", "deploy", "preview"])
def test_unknown_key_names_line_field_and_suggestion(home, tmp_path, verb):
    path = write(tmp_path, GOOD.replace("    flavor: local\n", "    flavor: local\n    flavr: x\n"))
    lines = run(home, [verb, str(path)])
    assert lines == [f"{path}:9: components.orchestrator.flavr: unknown field (did you mean 'flavor'?)"]


def test_yaml_syntax_error(home, tmp_path):
    path = write(tmp_path, GOOD.replace("target: local", "target: [local"))
    [line] = run(home, ["validate", str(path)])
    m = FILE_LINE.match(line)
    assert m and m["file"] == str(path) and int(m["line"]) >= 3 and "YAML" in m["msg"]


def test_duplicate_key(home, tmp_path):
    path = write(tmp_path, GOOD + "name: other\n")
    [line] = run(home, ["validate", str(path)])
    assert line.startswith(f"{path}:9: ") and "duplicate key" in line


def test_wrong_type(home, tmp_path):
    path = write(tmp_path, GOOD.replace("    flavor: distribution\n", "    flavor: distribution\n    port: [1]\n"))
    [line] = run(home, ["validate", str(path)])
    m = LINE.match(line)
    assert m and (m["line"], m["field"]) == ("7", "components.registry.port") and "whole number" in m["msg"]


def test_unknown_flavor_suggests_a_near_name(home, tmp_path):
    path = write(tmp_path, GOOD.replace("flavor: distribution", "flavor: distributon"))
    [line] = run(home, ["validate", str(path)])
    assert line == (f"{path}:6: components.registry.flavor: unknown flavor 'distributon' "
                    f"(did you mean 'distribution'?) (on local: distribution)")


def test_combination_the_target_lacks(home, tmp_path):
    path = write(tmp_path, GOOD.replace("target: local", "target: {type: gcp, project: my-project, region: europe-west1}"))
    lines = run(home, ["deploy", str(path)])
    assert f"{path}:6: components.registry.flavor: flavor 'distribution' is not available on target 'gcp' " \
           f"(on gcp: artifact_registry)" in lines
    assert len(lines) == 2  # the orchestrator line too, nothing else


def test_several_problems_one_line_each(home, tmp_path):
    path = write(tmp_path, GOOD.replace("name: demo", "name: Demo_1").replace("target: local", "target: locl"))
    lines = run(home, ["validate", str(path)])
    assert [LINE.match(ln)["field"] for ln in lines] == ["name", "target.type"]
    assert "did you mean 'local'" in lines[1]


def test_undefined_template_variable(home, tmp_path):
    path = write(tmp_path, GOOD.replace("name: demo", "name: {{ stack_name }}"))
    [line] = run(home, ["validate", str(path)])
    assert line.startswith(f"{path}:2: ") and "'stack_name' is undefined" in line and "--var" in line


def test_missing_file(home, tmp_path):
    [line] = run(home, ["validate", str(tmp_path / "nope.yaml")])
    assert line == f"{tmp_path / 'nope.yaml'}: no such file"


def test_directory(home, tmp_path):
    [line] = run(home, ["validate", str(tmp_path)])
    assert line == f"{tmp_path}: is a directory, not a recipe file"


def test_non_utf8_bytes(home, tmp_path):
    path = write(tmp_path, GOOD.encode().replace(b"demo", b"d\xe9mo"))
    [line] = run(home, ["validate", str(path)])
    assert line.startswith(f"{path}:2: not UTF-8")


@pytest.mark.parametrize("text", ["", "   \n\n", "# only a comment\n"])
def test_empty_file(home, tmp_path, text):
    path = write(tmp_path, text)
    [line] = run(home, ["validate", str(path)])
    assert line.startswith(f"{path}: ") and ("empty" in line or "no content" in line)


@pytest.mark.parametrize("text,what", [("- a\n- b\n", "a list"), ("just a string\n", "a scalar (str)"), ("42\n", "a scalar (int)")])
def test_top_level_not_a_mapping(home, tmp_path, text, what):
    path = write(tmp_path, text)
    [line] = run(home, ["validate", str(path)])
    assert line.startswith(f"{path}:1: top level is {what}")


def test_alias_bomb_is_refused_quickly(home, tmp_path):
    bomb = ["apiVersion: mlstack/v1", "name: demo", "target: local", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    bomb += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    path = write(tmp_path, "\n".join(bomb) + "\ncomponents: {}\n")
    lines = run(home, ["validate", str(path)])
    assert any("through YAML aliases" in ln for ln in lines)


def test_oversized_file(home, tmp_path):
    path = write(tmp_path, GOOD + "# " + "x" * 300_000 + "\n")
    [line] = run(home, ["validate", str(path)])
    assert line.startswith(f"{path}: file is ") and "at most" in line


def test_bad_var_flag_is_usage_error(home, tmp_path):
    path = write(tmp_path, GOOD)
    [line] = run(home, ["validate", str(path), "--var", "no-equals-sign"])
    assert "NAME=VALUE" in line


def test_json_envelope_lists_problems(home, tmp_path):
    import json

    path = write(tmp_path, GOOD.replace("name: demo", "nmae: demo"))
    result = CliRunner().invoke(app, ["validate", str(path), "--json"])
    assert result.exit_code == 2
    envelope = json.loads(result.stdout)
    assert envelope["apiVersion"] == "mlstack.result/v1" and envelope["ok"] is False and envelope["exitCode"] == 2
    fields = {p["field"] for p in envelope["errors"][0]["problems"]}
    assert fields == {"nmae", "name"}


CLOUD_TRACKING = """\
apiVersion: mlstack/v1
name: demo
target: {type: aws, region: eu-west-1}
components:
  object_store:
    flavor: s3
  tracking:
    flavor: mlflow
    port: 5000
    subnet_ids: [subnet-0a1b2c3d4e5f67890]
    allowed_cidrs: [10.0.0.0/8]
"""


def test_a_setting_of_another_target_and_missing_cloud_settings_one_line_each(home, tmp_path):
    recipe = write(tmp_path, CLOUD_TRACKING)
    lines = run(home, ["validate", str(recipe)])
    assert lines[0] == (f"{recipe}:7: components.tracking.certificate_arn: required for mlflow on aws: "
                        "ACM certificate of the load balancer's HTTPS listener (the only listener)")
    fields = [LINE.match(ln)["field"] for ln in lines]  # type: ignore[index]
    assert fields == ["components.tracking.certificate_arn", "components.tracking.hostname",
                      "components.tracking.vpc_id", "components.tracking.port", "components.tracking.subnet_ids"]
    assert lines[3] == (f"{recipe}:9: components.tracking.port: not a setting of mlflow on aws (its settings: "
                        "flavor, artifact_prefix, auth, image, database_tier, database_storage_gb, vpc_id, subnet_ids, "
                        "certificate_arn, hostname, dns_zone_id, allowed_cidrs)")
    assert lines[4].endswith("subnet_ids: needs subnets in at least two availability zones (the load balancer and "
                             "the database subnet group require two); got one")


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "::/0"])
def test_an_open_internet_cidr_is_refused(home, tmp_path, cidr):
    recipe = write(tmp_path, CLOUD_TRACKING.replace("10.0.0.0/8", cidr))
    lines = run(home, ["validate", str(recipe)])  # with the recipe's other problems, all at once
    assert (f"{recipe}:11: components.tracking.allowed_cidrs: {cidr!r} opens the server to the whole "
            "internet; list the networks that need it") in lines
    assert len(lines) == 6


def test_a_cloud_tracking_server_needs_the_object_store(home, tmp_path):
    text = CLOUD_TRACKING.replace("  object_store:\n    flavor: s3\n", "").replace("    port: 5000\n", "")
    recipe = write(tmp_path, text)
    lines = run(home, ["validate", str(recipe)])
    assert f"{recipe}:6: components.tracking: flavor 'mlflow' needs components.object_store in the same recipe" in lines


def test_misspellings_and_other_tools_names_get_a_suggestion_and_messages_speak_the_users_language(home, tmp_path):
    text = ("apiVersion: mlstack/v2\nname: demo\ntarget: nowhere\ncomponents:\n  model_deployer:\n    flavor: mlserver\n"
            "  serving:\n    flavour: mlserver\n    port: abc\n")
    lines = run(home, ["validate", str(write(tmp_path, text))])
    assert any(":1: apiVersion: must be 'mlstack/v1', got 'mlstack/v2'" in ln for ln in lines)
    assert any(":3: target.type: unknown target 'nowhere' (one of: local, aws" in ln for ln in lines)
    assert any(":5: components.model_deployer: unknown field (did you mean 'serving'?)" in ln for ln in lines)
    assert any(":8: components.serving.flavour: unknown field (did you mean 'flavor'?)" in ln for ln in lines)
    assert not any("Input should" in ln or "must match ^" in ln for ln in lines)
    kube = ("apiVersion: mlstack/v1\nname: demo\ntarget: {type: kubernetes, namespace: Bad_NS}\n"
            "components:\n  orchestrator: {flavor: kubernetes}\n")
    (line,) = run(home, ["validate", str(write(tmp_path, kube, "k.yaml"))])
    assert "target.namespace: must be a DNS label" in line and "(e.g. mlops), got 'Bad_NS'" in line
