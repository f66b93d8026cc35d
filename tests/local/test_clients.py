"""What users get after a deploy: every output format used by a real client (boto3 from `--format env`,
ZenML's own `stack import`), `mlstack verify` passing and failing, and no secret where it should not be."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
from pathlib import Path

import pytest

from mlstack.engine.runtimes import ensure_runtime
from mlstack.home import Home
from tests.conftest import PREPARED_HOME, RECIPES
from tests.local.conftest import MLSTACK, deployed_stack, mlstack, mlstack_json
from tests.runtime_clients import ZENML

pytestmark = pytest.mark.engine
RECIPE = str(RECIPES / "local.yaml")


@pytest.fixture(scope="module")
def deployed(tmp_path_factory, pulumi_cli_dir):
    root = tmp_path_factory.mktemp("clients") / "home"
    with deployed_stack(root, pulumi_cli_dir, RECIPE, "local") as proc:
        yield Home(root), proc


def all_secrets() -> dict[str, str]:
    return json.loads(mlstack("output", "--stack", "local", "--show-secrets").stdout)["secrets"]


def test_deploy_writes_the_recipe_formats_without_secrets(deployed):
    home, proc = deployed
    files = json.loads(proc.stdout)["result"]["files"]
    assert set(files) == {"json", "env", "zenml"}
    for path in files.values():
        assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600  # owner-only, as everything under the home
        assert Path(path).parent == home.stack_dir("local") / "outputs"
    assert json.loads(Path(files["json"]).read_text()) == json.loads(mlstack("output", "--stack", "local").stdout)


def test_json_and_yaml_are_the_same_versioned_document(deployed):
    from ruamel.yaml import YAML

    as_json = json.loads(mlstack("output", "--stack", "local", "--format", "json").stdout)
    as_yaml = YAML(typ="safe").load(mlstack("output", "--stack", "local", "--format", "yaml").stdout)
    assert as_json == as_yaml
    assert as_json["schemaVersion"] == "mlstack.clients/v1"
    assert set(as_json["components"]) == {"object_store", "registry", "tracking", "orchestrator", "serving"}
    assert all(c["kind"] == k for k, c in as_json["components"].items())


def test_env_format_drives_boto3_and_names_hidden_secrets(deployed, tmp_path):
    hidden = mlstack("output", "--stack", "local", "--format", "env").stdout
    assert "AWS_SECRET_ACCESS_KEY: secret, not shown" in hidden
    env_file = tmp_path / "stack.env"
    env_file.write_text(mlstack("output", "--stack", "local", "--format", "env", "--show-secrets").stdout)
    script = ("import boto3, os; s3 = boto3.client('s3'); "
              "print(os.environ['MLSTACK_BUCKET'], [b['Name'] for b in s3.list_buckets()['Buckets']])")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLFLOW_", "MLSTACK_"))}
    out = subprocess.run(["bash", "-c", f"set -a; source {env_file}; exec python3 -c \"{script}\""],
                         capture_output=True, text=True, env={**clean, "PATH": f"{Path(os.sys.executable).parent}:{clean['PATH']}"},
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "s3://mlstack ['mlstack']"


def test_zenml_stack_file_imports_with_zenml(deployed, tmp_path):
    zenml = str(ensure_runtime(PREPARED_HOME, ZENML, print))
    env = {**os.environ, "ZENML_CONFIG_PATH": str(tmp_path / "zenml"), "ZENML_ANALYTICS_OPT_IN": "false",
           "AUTO_OPEN_DASHBOARD": "false"}
    stack_file = tmp_path / "stack.yaml"
    stack_file.write_text(mlstack("output", "--stack", "local", "--format", "zenml").stdout)
    text = stack_file.read_text()
    secrets = all_secrets()
    assert not any(value in text for value in secrets.values())
    exports = json.loads(mlstack("output", "--stack", "local", "--format", "json", "--show-secrets").stdout)
    shell_env = mlstack("output", "--stack", "local", "--format", "env", "--show-secrets").stdout
    commands = [ln.removeprefix("#   ") for ln in text.splitlines() if ln.startswith("#   zenml secret create")]
    assert len(commands) == 2
    for cmd in commands:  # exactly what the file tells a user to run
        done = subprocess.run(["bash", "-c", f"set -a; {shell_env}\n{cmd.replace('zenml ', zenml + ' ', 1)}"],
                              capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr + done.stdout
    done = subprocess.run([zenml, "stack", "import", "local", "-f", str(stack_file)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr + done.stdout
    exported = tmp_path / "exported.yaml"
    subprocess.run([zenml, "stack", "export", "local", str(exported)], check=True, capture_output=True, env=env,
                   timeout=300)
    from ruamel.yaml import YAML

    components = YAML(typ="safe").load(exported.read_text())["components"]
    flavors = {ztype: [c["flavor"] for c in comps] for ztype, comps in components.items()}
    assert flavors == {"artifact_store": ["s3"], "container_registry": ["default"],
                       "experiment_tracker": ["mlflow"], "orchestrator": ["local"]}
    store = components["artifact_store"][0]["configuration"]
    assert store["path"] == "s3://mlstack/zenml"
    assert store["client_kwargs"]["endpoint_url"] == exports["components"]["object_store"]["endpoint_url"]
    # ZenML's own S3 artifact store (s3fs) writes, reads and removes an object in the stack's object store.
    code = ("from zenml.client import Client\nclient = Client()\nclient.activate_stack('local')\n"
            "store = client.active_stack.artifact_store\npath = store.path + '/mlstack-check.txt'\n"
            "with store.open(path, 'w') as f:\n    f.write('written by zenml')\n"
            "print(store.open(path).read(), store.exists(path))\nstore.remove(path)\nprint(store.exists(path))\n")
    python = str(Path(zenml).parent / "python")
    (tmp_path / "check.py").write_text(code)  # ZenML finds its source root from the main module's file
    done = subprocess.run(["bash", "-c", f'set -a; {shell_env}\nexec "$0" check.py', python],
                          capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split("\n")[-3:-1] == ["written by zenml True", "False"], done.stdout


def test_verify_passes_on_a_healthy_stack(deployed):
    result = mlstack_json("verify", "--stack", "local")["result"]
    assert result["ok"] is True
    assert [c["kind"] for c in result["checks"]] == ["object_store", "registry", "tracking", "orchestrator", "serving"]


def test_verify_names_the_component_that_is_down_then_deploy_heals(deployed):
    home, _ = deployed
    pidfile = next((home.stack_dir("local") / "run" / "serving").glob("mlserver.*.pid"))  # one per port
    pid = int(pidfile.read_text().split()[0])
    os.killpg(pid, signal.SIGKILL)
    proc = mlstack("verify", "--stack", "local", "--json", check=False)
    assert proc.returncode == 1
    envelope = json.loads(proc.stdout)
    failed = [c["kind"] for c in envelope["result"]["checks"] if not c["ok"]]
    assert failed == ["serving"]
    assert "serving" in envelope["errors"][0]["message"]
    detail = next(c["detail"] for c in envelope["result"]["checks"] if not c["ok"])
    assert "nothing listens at http://127.0.0.1:" in detail and "not running" in detail  # the cause in words
    text = subprocess.run([MLSTACK, "verify", "--stack", "local"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "80"}, stdin=subprocess.DEVNULL).stderr
    table = text.split("\nerror:")[0].splitlines()  # the table and the causes below it; the error line follows
    assert max(len(line) for line in table) <= 80 and "not running" in text
    mlstack("deploy", RECIPE)
    assert mlstack_json("verify", "--stack", "local")["result"]["ok"] is True


def test_verify_leaves_no_objects_behind(deployed):
    import boto3

    data = json.loads(mlstack("output", "--stack", "local", "--show-secrets").stdout)
    store = data["components"]["object_store"]
    s3 = boto3.client("s3", endpoint_url=store["endpoint_url"], aws_access_key_id=store["access_key_id"],
                      aws_secret_access_key=data["secrets"][store["secret_access_key"]["output"]], region_name="us-east-1")
    mlstack("verify", "--stack", "local")
    assert s3.list_objects_v2(Bucket="mlstack", Prefix="mlstack-verify/").get("KeyCount", 0) == 0


def test_no_secret_in_stdout_logs_or_files_unless_0600(deployed):
    home, deploy = deployed
    secrets = all_secrets()
    assert len(secrets) == 3 and all(len(v) >= 22 for v in secrets.values())
    printed = deploy.stdout + deploy.stderr
    for fmt in ("json", "yaml", "env", "zenml"):
        printed += mlstack("output", "--stack", "local", "--format", fmt).stdout
    verify = mlstack("verify", "--stack", "local", "--json")
    printed += verify.stdout + verify.stderr
    assert not [k for k, v in secrets.items() if v in printed]
    for path in home.root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            text = path.read_text(errors="ignore")
            holders = [k for k, v in secrets.items() if v in text]
            if holders:
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path} holds {holders} and is not 0600"
                assert "/outputs/" not in str(path) and not path.name.endswith(".log"), path
