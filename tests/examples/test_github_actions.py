"""The GitHub Actions examples (examples/github-actions/): actionlint (with shellcheck on the `run:` scripts, where
it is installed) reports nothing, and every `mlstack ...` they run is a real verb with real flags."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import REPO
from tests.examples.actionlint import GoMissing, actionlint_binary
from tests.examples.cli_usage import problems
from tests.examples.workflow_commands import EXPRESSION, Script, invocations, run_scripts, workflow_invocations

pytestmark = pytest.mark.timeout(300)  # a cold actionlint build takes ~20 s; lint calls have their own timeout

WORKFLOWS_DIR = REPO / "examples" / "github-actions" / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.yml"))
LINT_TIMEOUT = 60  # seconds: actionlint and shellcheck take well under one on these files


# `make test` prepares the tools, so there a missing one is a bug, not a reason to skip. Go is required under either
# variable (`make test` sets the second); shellcheck, a Debian package, only under the first.
GO_REQUIRED_BY = ("MLSTACK_REQUIRE_TOOLS", "MLSTACK_REQUIRE_CONTROL_PLANE")
SHELLCHECK_REQUIRED_BY = ("MLSTACK_REQUIRE_TOOLS",)


def _missing(what: str, required_by: tuple[str, ...]) -> None:
    set_vars = [var for var in required_by if os.environ.get(var)]
    if set_vars:
        pytest.fail(f"{what}, although {' and '.join(set_vars)} requires it")
    pytest.skip(what)


@pytest.fixture(scope="module")
def actionlint() -> Path:
    try:
        return actionlint_binary()
    except GoMissing as exc:
        _missing(str(exc), GO_REQUIRED_BY)
        raise


def _lint(binary: Path, paths: list[Path], shellcheck: str | None) -> subprocess.CompletedProcess[str]:
    # An empty -shellcheck= turns shellcheck off; pyflakes is off: no workflow here runs Python scripts.
    cmd = [str(binary), "-no-color", "-oneline", f"-shellcheck={shellcheck or ''}", "-pyflakes=", *map(str, paths)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=LINT_TIMEOUT, cwd=REPO)


def _workflow(tmp_path: Path, run: str, with_: str = "") -> Path:
    path = tmp_path / "broken.yml"
    path.write_text(
        "name: broken\non: push\npermissions: {}\njobs:\n  job:\n    runs-on: ubuntu-latest\n    steps:\n"
        f"      - uses: actions/checkout@v6\n{with_}      - run: {run}\n"
    )
    return path


def test_there_are_the_three_workflows():
    assert [p.name for p in WORKFLOWS] == ["mlstack-deploy.yml", "mlstack-drift.yml", "mlstack-preview.yml"]


def test_actionlint_reports_nothing_on_the_example_workflows(actionlint: Path):
    result = _lint(actionlint, WORKFLOWS, shutil.which("shellcheck"))
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_actionlint_reports_a_broken_workflow(actionlint: Path, tmp_path: Path):
    """The linter really runs: a misspelt input of a known action is an error."""
    path = _workflow(tmp_path, "echo ok", with_="        with:\n          fetch-depht: 1\n")
    result = _lint(actionlint, [path], None)
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'input "fetch-depht" is not defined' in result.stdout


def test_shellcheck_checks_the_run_scripts(actionlint: Path, tmp_path: Path):
    """With shellcheck installed, the lint of the examples checks their scripts: an unquoted variable is reported."""
    shellcheck = shutil.which("shellcheck")
    if not shellcheck:
        _missing("shellcheck is not installed (`apt-get install shellcheck`)", SHELLCHECK_REQUIRED_BY)
    result = _lint(actionlint, [_workflow(tmp_path, "rm -rf $BUILD_DIR/out")], shellcheck)
    assert result.returncode == 1 and "SC2086" in result.stdout, result.stdout + result.stderr


def test_every_mlstack_command_in_the_workflows_is_a_real_verb_with_real_flags():
    found = [
        f"{inv}\n    {problem}"
        for path in WORKFLOWS
        for inv in workflow_invocations(path.relative_to(REPO))
        for problem in problems(inv.args)
    ]
    assert not found, "commands mlstack would refuse:\n" + "\n".join(found)


def test_the_workflows_run_what_their_readme_promises():
    """Guards the check above against passing on nothing: each verb and flag the README describes is found."""
    runs = {
        (inv.file.name, " ".join([*inv.args[:1], *(w for w in inv.args[1:] if w.startswith("-"))]))
        for path in WORKFLOWS
        for inv in workflow_invocations(path)
    }
    assert runs == {
        ("mlstack-preview.yml", "validate --json"),
        ("mlstack-preview.yml", "preview --offline --markdown"),
        ("mlstack-preview.yml", "cost --against --json"),
        ("mlstack-deploy.yml", "doctor --fix"),
        ("mlstack-deploy.yml", "deploy --yes --json"),
        ("mlstack-drift.yml", "doctor --fix"),
        ("mlstack-drift.yml", "drift --json"),
    }


def test_the_checker_refuses_a_made_up_flag():
    assert problems(["deploy", "x.yaml", "--json"]) == []
    [problem] = problems(["deploy", "x.yaml", "--yolo"])
    assert "`mlstack deploy` has no option --yolo" in problem


def test_the_checker_refuses_a_made_up_verb_or_sub_verb():
    assert "has no verb 'frobnicate'" in problems(["frobnicate", "x.yaml"])[0]
    assert "`mlstack import` has no verb 'nope'" in problems(["import", "nope"])[0]


def test_the_checker_counts_positional_arguments_and_option_values():
    assert problems(["deploy", "$RECIPE", "--var", "REGION=eu-west-1", "-y"]) == []  # --var takes the next word
    assert "given 0" in problems(["deploy", "--yes"])[0]
    assert "given 2" in problems(["deploy", "a.yaml", "b.yaml"])[0]
    assert "given 1" in problems(["list", "extra"])[0]
    assert "takes no value" in problems(["deploy", "a.yaml", "--json=yes"])[0]
    assert problems(["import", "mlstacks", "--help"]) == []  # --help needs no argument


def test_a_bad_flag_is_named_with_its_file_and_line(tmp_path: Path):
    path = tmp_path / "wf.yml"
    path.write_text(
        "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n"
        '          mlstack validate a.yaml\n          mlstack deploy "${{ matrix.recipe }}" \\\n'
        "            --yes --yolo\n"
    )
    [first, second] = workflow_invocations(path)
    assert (first.line, first.args) == (7, ("validate", "a.yaml"))
    assert (second.line, second.args) == (8, ("deploy", "__EXPR__", "--yes", "--yolo"))
    assert second.where == f"{path}:8" and "--yolo" in problems(second.args)[0]


def test_mlstack_counts_only_where_a_command_starts():
    script = Script(
        Path("wf.yml"),
        10,
        "\n".join(
            [
                "pip install mlstack 'mlstack[aws]'",  # an argument, not a command
                'echo "mlstack deploy --yolo"  # mlstack in a comment',
                'rc=$(mlstack drift "$R" --json)',
                'if mlstack validate "$r" --json > v.json 2>&1; then echo ok; fi',
                'summary="$(mlstack output --stack s)" && FOO=1 mlstack list --json | jq .',
                "echo 'it''s' \"a",
                'quote spanning lines" ; mlstack schema',
            ]
        ),
    )
    assert [(inv.line, inv.args) for inv in invocations(script)] == [
        (12, ("drift", "$R", "--json")),
        (13, ("validate", "$r", "--json")),
        (14, ("output", "--stack", "s")),
        (14, ("list", "--json")),
        (15, ("schema",)),
    ]


def test_no_run_script_expands_a_secret():
    """Secrets reach scripts through `env:` only: an expanded `${{ secrets.X }}` lands in the script file on the
    runner and in any `set -x` trace."""
    found = [
        f"{s.file}:{s.line}: {expr}"
        for path in WORKFLOWS
        for s in run_scripts(path)
        for expr in EXPRESSION.findall(s.text)
        if "secrets." in expr
    ]
    assert not found


def _load(name: str) -> dict:
    return YAML(typ="safe").load((WORKFLOWS_DIR / name).read_text())


def test_each_workflow_token_has_only_the_permissions_it_needs():
    assert _load("mlstack-preview.yml")["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert _load("mlstack-deploy.yml")["permissions"] == {"contents": "read", "id-token": "write"}
    assert _load("mlstack-drift.yml")["permissions"] == {"contents": "read", "id-token": "write", "issues": "write"}


def test_two_deploys_of_one_stack_never_run_at_once():
    job = _load("mlstack-deploy.yml")["jobs"]["deploy"]
    assert job["concurrency"] == {"group": "mlstack-deploy-${{ matrix.recipe }}", "cancel-in-progress": False}
