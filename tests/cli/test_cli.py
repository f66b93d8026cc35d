"""The CLI through typer's runner: envelopes, exit codes, schema, doctor; and what verbs must not import."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from mlstack import registry
from mlstack.cli import app
from mlstack.errors import EXIT_CODE_MEANINGS, ExitCode
from tests.conftest import RECIPES, REPO

runner = CliRunner()


def test_validate_json_envelope(home):
    result = runner.invoke(app, ["validate", str(RECIPES / "local.yaml"), "--json"])
    assert result.exit_code == 0
    envelope = json.loads(result.stdout)
    assert envelope == {"apiVersion": "mlstack.result/v1", "command": "validate", "ok": True, "exitCode": 0,
                        "errors": [], "result": {"recipe": str(RECIPES / "local.yaml"), "name": "local",
                                                 "target": "local",
                                                 "components": {"object_store": "seaweedfs", "registry": "distribution",
                                                                "tracking": "mlflow", "orchestrator": "local",
                                                                "serving": "mlserver"}, "notes": []}}


def test_unknown_option_is_usage_error():
    result = runner.invoke(app, ["validate", "--no-such-flag", "x.yaml"])
    assert result.exit_code == 2


def test_every_verb_takes_json():
    import typer.main

    def verbs(group, prefix=""):  # a group of verbs (`mlstack import ...`) is walked, not counted
        for name, cmd in group.commands.items():
            yield from verbs(cmd, f"{prefix}{name} ") if hasattr(cmd, "commands") else [(prefix + name, cmd)]

    without = [name for name, cmd in verbs(typer.main.get_command(app))
               if not any("--json" in p.opts for p in cmd.params)]
    assert without == []


def test_unknown_stack_exits_5(home):
    for verb in (["output"], ["destroy", "--yes"], ["cancel", "--yes"]):
        result = runner.invoke(app, [*verb, "--stack", "ghost"])
        assert result.exit_code == ExitCode.STACK_NOT_FOUND == 5, (verb, result.output)
        assert "mlstack list" in result.stderr


def test_recipe_and_stack_together_is_usage_error(home):
    result = runner.invoke(app, ["output", str(RECIPES / "local.yaml"), "--stack", "local"])
    assert result.exit_code == 2 and "not both" in result.stderr


def test_output_rejects_unknown_format(home):
    result = runner.invoke(app, ["output", "--stack", "x", "--format", "toml"])
    assert result.exit_code == 2 and "json, yaml, env, zenml" in result.stderr


def test_schema_is_the_committed_file_and_validates_recipes():
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema == json.loads((REPO / "schema" / "recipe.schema.json").read_text())
    # one recipe per target, discriminated by the target: each has the recipe's fields and nothing else
    variants = [schema["$defs"][ref["$ref"].rsplit("/", 1)[-1]] for ref in schema["oneOf"]]
    assert len(variants) == len(schema["oneOf"]) >= 5
    for variant in variants:
        assert set(variant["properties"]) >= {"apiVersion", "name", "target", "tags", "state", "components"}
        assert variant["additionalProperties"] is False


def test_doctor_reports_engine_and_every_target(home, pulumi_cli_dir, monkeypatch):
    monkeypatch.setenv("PATH", f"{pulumi_cli_dir}:{__import__('os').environ['PATH']}")
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["result"]
    assert report["ready"] is True
    areas = {c["area"] for c in report["checks"]}
    assert areas >= {"engine", *registry.target_names()} >= {"local", "aws", "gcp", "azure", "kubernetes"}
    engine = {c["name"]: c for c in report["checks"] if c["area"] == "engine"}
    assert engine["pulumi CLI"]["ok"] and "3.259.0" in engine["pulumi CLI"]["detail"]
    assert engine["dynamic-provider shim"]["ok"]


def test_doctor_reads_at_80_columns_one_line_per_check_and_json_keeps_each_detail(home, pulumi_cli_dir, monkeypatch):
    monkeypatch.setenv("PATH", f"{pulumi_cli_dir}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("COLUMNS", "80")
    table = runner.invoke(app, ["doctor"])
    checks = json.loads(runner.invoke(app, ["doctor", "--json"]).stdout)["result"]["checks"]
    everything = table.stdout.splitlines()
    assert max(len(line) for line in everything) <= 80
    lines = everything[: len(checks)]  # the table: one line per check
    longest = max(checks, key=lambda c: len(c["detail"]))
    assert len(longest["detail"]) > 80 and "\u2026" in next(ln for ln in lines if longest["name"] in ln)
    assert "mlstack doctor --json" in table.stderr
    # below the table, what to do about each failing check, in full
    below = "".join("".join(everything[len(checks):]).split())  # wrapped: compared without the line breaks
    failing = [c for c in checks if not c["ok"]]
    assert failing and all("".join(c["detail"].split()) in below for c in failing)


def test_doctor_without_engine_says_how_to_fix(home, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no pulumi, no go
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "mlstack doctor --fix" in result.output


def test_exit_codes_are_documented_in_help():
    result = runner.invoke(app, ["--help"])
    for code in EXIT_CODE_MEANINGS:
        assert f"{int(code)} " in result.stdout


def _modules_after(args: list[str]) -> set[str]:
    code = ("import sys\nsys.argv=['mlstack', *%r]\nfrom mlstack.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\nprint('MODULES:' + ','.join(sys.modules))" % (args,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    return set(out.split("MODULES:")[-1].strip().split(","))


def test_help_and_validate_import_neither_pulumi_nor_a_cloud_sdk():
    for args in (["--help"], ["validate", str(RECIPES / "local.yaml")]):
        loaded = _modules_after(args)
        assert "mlstack.cli" in loaded  # the probe itself worked
        heavy = {m for m in loaded if m.split(".")[0] in ("pulumi", "pulumi_aws", "pulumi_gcp", "pulumi_azure_native",
                                                           "pulumi_kubernetes", "boto3", "grpc")}
        assert heavy == set(), args


def test_version_names_mlstack_and_the_engine_it_pins():
    from importlib.metadata import version

    from mlstack.versions import PULUMI_VERSION

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip().startswith(f"mlstack {version('mlstack')} (Pulumi {PULUMI_VERSION}")


def test_help_shows_what_each_option_takes_in_words():
    for verb in ("deploy", "render", "output", "connect", "schema", "destroy"):
        options = [ln for ln in runner.invoke(app, [verb, "--help"]).stdout.splitlines() if ln.lstrip().startswith("-")]
        assert not [ln for ln in options if re.search(r"<(list|str|path|float|int)", ln)], (verb, options)
    assert "--var NAME=VALUE" in runner.invoke(app, ["deploy", "--help"]).stdout


def test_usage_errors_with_json_are_envelopes_with_exit_2(home):
    for argv, says in ((["deploy", "--json"], "Missing argument"),
                       (["preview", str(RECIPES / "local.yaml"), "--bogus", "--json"], "No such option: --bogus")):
        done = subprocess.run([sys.executable, "-m", "mlstack", *argv], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, done.stderr
        envelope = json.loads(done.stdout)
        assert envelope["exitCode"] == 2 and envelope["command"] == argv[0]
        assert envelope["errors"][0]["type"] == "bad-usage" and says in envelope["errors"][0]["message"]
    plain = subprocess.run([sys.executable, "-m", "mlstack", "deploy"], capture_output=True, text=True, timeout=60)
    assert plain.returncode == 2 and "Missing argument" in plain.stderr and plain.stdout == ""


def test_a_bad_backend_url_is_exit_2_in_every_verb_and_creates_nothing(home, tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    missing = tmp_path / "no-such-state"
    cases = (("bogus://x", "not a Pulumi backend"), ("s3://nonexistent", "needs its bucket's region"),
             (missing.as_uri(), "is not a folder"), ("file:///etc", "is a system directory"),
             ("file:///", "is a system directory"), ("file:///%65tc/mlstack", "is a system directory"))
    for url, says in cases:
        for argv in (["list"], ["output", str(RECIPES / "local.yaml")], ["drift", str(RECIPES / "local.yaml")]):
            result = runner.invoke(app, [*argv, "--backend", url, "--json"])
            assert result.exit_code == 2, (argv, url, result.output)
            assert says in json.loads(result.stdout)["errors"][0]["message"]
    assert not missing.exists()


def test_every_error_type_in_json_is_a_documented_stable_code(home):
    from mlstack import errors

    classes, pending = [], [errors.MlstackError]
    while pending:
        cls = pending.pop()
        classes.append(cls)
        pending += cls.__subclasses__()
    assert {cls.code for cls in classes} <= set(errors.ERROR_TYPES)
    assert all(f"`{t}`" in (REPO / "README.md").read_text() for t in errors.ERROR_TYPES)
    bad = runner.invoke(app, ["validate", str(REPO / "pyproject.toml"), "--json"])
    assert json.loads(bad.stdout)["errors"][0]["type"] == "bad-recipe"


def test_validate_says_where_local_mlflow_keeps_artifacts_without_an_object_store(home, tmp_path):
    alone = tmp_path / "alone.yaml"
    alone.write_text("apiVersion: mlstack/v1\nname: demo\ntarget: local\ncomponents:\n  tracking: {flavor: mlflow}\n")
    result = runner.invoke(app, ["validate", str(alone), "--json"])
    assert result.exit_code == 0, result.output
    [note] = json.loads(result.stdout)["result"]["notes"]
    assert note.startswith("tracking: no object store in the recipe: MLflow keeps artifacts on this machine's disk")
    with_store = runner.invoke(app, ["validate", str(RECIPES / "local.yaml"), "--json"])
    assert json.loads(with_store.stdout)["result"]["notes"] == []


@pytest.mark.parametrize("recipe, target", [("local.yaml", "local"), ("kubernetes.yaml", "kubernetes"),
                                            ("aws.yaml", "aws")])
def test_validate_reads_only_the_recipe_s_own_target(recipe, target):
    """The registry imports a target's package when a recipe names it: validating a local recipe builds none of the
    clouds' or the cluster's settings models (kubernetes offers the clouds' stores beside their clusters: it may
    read theirs)."""
    loaded = _modules_after(["validate", str(RECIPES / recipe)])
    assert f"mlstack.components.{target}.target" in loaded  # the probe itself worked
    others = {"local", "aws", "gcp", "azure", "kubernetes"} - {target} - ({"aws", "gcp", "azure"}
                                                                         if target == "kubernetes" else set())
    assert {f"mlstack.components.{t}.target" for t in others} & loaded == set()


def test_pydantic_plugins_are_off_for_mlstack_and_not_for_the_services_it_starts(monkeypatch):
    """mlstack switches pydantic's plugin lookup off for itself (`main`); what it starts gets the environment it was
    given (home.service_environ), and a value the user set is theirs: kept, and passed on."""
    code = ("import os, sys\nsys.argv=['mlstack', '--help']\nfrom mlstack.cli import main\nfrom mlstack.home import "
            "service_environ\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('ENV:' + repr((os.environ.get('PYDANTIC_DISABLE_PLUGINS'), "
            "service_environ().get('PYDANTIC_DISABLE_PLUGINS'), 'MLSTACK_OWN_ENV' in service_environ())))")
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("PYDANTIC_DISABLE_PLUGINS", "MLSTACK_OWN_ENV")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env).stdout
    assert out.split("ENV:")[-1].strip() == "('__all__', None, False)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**env, "PYDANTIC_DISABLE_PLUGINS": "logfire"}).stdout
    assert out.split("ENV:")[-1].strip() == "('logfire', 'logfire', False)"
