"""Packaging and layering rules that are easy to break without noticing."""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path

import pulumi

from mlstack import registry
from mlstack.versions import MLFLOW_IMAGE, PULUMI_VERSION, RUNTIMES
from tests.conftest import REPO

LAYERS = ["cli", "engine", "stacks", "components", "recipe"]  # each may import only those to its right
# A target package's declaration modules are data the recipe layer reads (registry, validation, offline fakes,
# policy): they belong to the recipe layer, so they import nothing of Pulumi nor of the layers above. The kubernetes
# target's cluster provisioners (a package, clusters/) and its cluster access (the Kubernetes client, no Pulumi)
# are declarations too: the target's placement model is built from the provisioners; so are its cluster add-ons
# (addons/: what each installs, its charts and their mirror; the add-ons' Pulumi program is addon_stack.py).
DECLARATIONS = ("target.py", "settings.py", "naming.py", "offline.py", "access.py", "clusters", "addons")


def test_pulumi_sdk_matches_the_cli_pin():
    assert importlib.metadata.version("pulumi") == PULUMI_VERSION
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"pulumi=={PULUMI_VERSION}" in deps


def test_the_cloud_mlflow_image_runs_the_local_mlflow_version():
    assert MLFLOW_IMAGE.endswith(f":v{RUNTIMES['mlflow'].version}-full")


def test_only_the_mlstack_namespace_lands_in_site_packages(tmp_path):
    """Build the wheel pip would install and look at its top-level entries."""
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "-w", str(tmp_path), str(REPO)], check=True, capture_output=True, timeout=300)
    [wheel] = tmp_path.glob("mlstack-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"mlstack", f"mlstack-{importlib.metadata.version('mlstack')}.dist-info"}, top
    assert "mlstack/stacks/program.py" in names and "mlstack/components/local/registry.py" in names


def test_top_level_folders_are_not_importable_under_a_second_name(tmp_path):
    code = "import importlib.util,sys; print([m for m in ('stacks','components') if importlib.util.find_spec(m)])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path).stdout
    assert out.strip() == "[]"
    import mlstack.components.local.registry as reg
    import mlstack.stacks.program as prog

    assert Path(reg.__file__).is_relative_to(REPO / "components")
    assert Path(prog.__file__).is_relative_to(REPO / "stacks")


def _layer(path: Path) -> str | None:
    rel = path.relative_to(REPO)
    if rel.parts[0] == "components" and len(rel.parts) >= 3 and rel.parts[2] in DECLARATIONS:
        return "recipe"
    if rel.parts[0] in ("stacks", "components"):
        return rel.parts[0]
    if rel.parts[0] == "mlstack" and len(rel.parts) > 2:
        return {"cli": "cli", "engine": "engine", "recipe": "recipe", "clients": "recipe", "cost": "recipe"}.get(
            rel.parts[1]
        )
    if rel.parts[:2] == ("mlstack", "registry.py"):
        return "recipe"
    return None


def _imported_layers(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            # `from mlstack.components.aws import naming` imports the module mlstack.components.aws.naming
            names = [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] != "mlstack" or len(parts) < 2:
                continue
            declaration = parts[1] == "components" and len(parts) >= 4 and (
                f"{parts[3]}.py" in DECLARATIONS or parts[3] in DECLARATIONS
            )
            found.add(
                "recipe" if declaration else {"clients": "recipe", "registry": "recipe", "cost": "recipe"}.get(
                    parts[1], parts[1]
                )
            )
    return found & set(LAYERS)


def test_layers_go_one_way():
    wrong = []
    for path in [*REPO.glob("mlstack/**/*.py"), *REPO.glob("stacks/**/*.py"), *REPO.glob("components/**/*.py")]:
        layer = _layer(path)
        if layer is None:
            continue
        allowed = set(LAYERS[LAYERS.index(layer):])
        bad = _imported_layers(path) - allowed
        if bad:
            wrong.append(f"{path.relative_to(REPO)} ({layer}) imports {sorted(bad)}")
    assert wrong == []


def test_recipe_layer_imports_nothing_of_pulumi():
    declarations = [p for p in REPO.glob("components/*/*.py") if p.name in DECLARATIONS]
    declarations += [p for name in DECLARATIONS for p in REPO.glob(f"components/*/{name}/*.py")]
    assert any(p.parent.name == "clusters" for p in declarations)
    for path in [*REPO.glob("mlstack/recipe/*.py"), REPO / "mlstack" / "registry.py", *REPO.glob("mlstack/clients/*.py"),
                 *declarations]:
        tree = ast.parse(path.read_text())
        mods = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        mods |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not {m for m in mods if m.split(".")[0].startswith("pulumi")}, path


def test_every_registry_entry_loads_and_matches_its_settings():
    for flavor in registry.all_flavors():
        cls = flavor.load()
        assert issubclass(cls, pulumi.ComponentResource), flavor
        literal = flavor.settings.model_fields["flavor"].annotation.__args__
        assert literal == (flavor.name,), flavor


def test_generated_docs_are_current():
    from mlstack.docs import main

    assert main(["--check"]) == 0, "run `python -m mlstack.docs`"


def test_the_release_is_the_packages_version_and_its_changelog_entry_lists_its_pins():
    """The newest CHANGELOG release is pyproject's version; its pins are generated from versions.py (the docs check
    above keeps them current), and `mlstack --version` prints that version."""
    import re

    changelog = (REPO / "CHANGELOG.md").read_text()
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", changelog, re.M)
    assert released and released[0] == importlib.metadata.version("mlstack")
    newest = changelog.split(f"## [{released[0]}]")[1].split("\n## [")[0]
    assert "BEGIN generated:pins" in newest and PULUMI_VERSION in newest
    shown = subprocess.run([str(Path(sys.executable).parent / "mlstack"), "--version"], capture_output=True, text=True)
    assert released[0] in shown.stdout + shown.stderr
