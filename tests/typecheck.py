"""Type-check the shipped code with mypy: `python -m tests.typecheck` (run by `make test`).

The repository's top-level `stacks/` and `components/` install as `mlstack.stacks` and `mlstack.components`
(setup.py), which mypy cannot follow through an editable install's import hook. So mypy checks a tree of symlinks
under build/typecheck laid out as installed, and its messages are mapped back to the repository's own paths. The
cache lives where CI reuses it on one machine (`$XDG_CACHE_HOME/mlstack/mypy`): a cold run takes minutes (Pulumi's
cloud SDKs are large), a warm one seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "build" / "typecheck"
# The installed layout: where each part of the `mlstack` package lives in the repository.
LAYOUT = {"mlstack/components": ROOT / "components", "mlstack/stacks": ROOT / "stacks"}


def _link_tree() -> Path:
    """build/typecheck/mlstack: mlstack/'s entries, plus components/ and stacks/ in their installed places."""
    pkg = TREE / "mlstack"
    pkg.mkdir(parents=True, exist_ok=True)
    wanted = {entry.name: entry for entry in (ROOT / "mlstack").iterdir() if entry.name != "__pycache__"}
    wanted.update({Path(name).name: path for name, path in LAYOUT.items()})
    for link in pkg.iterdir():
        if link.name not in wanted or not link.is_symlink() or link.resolve() != wanted[link.name]:
            link.unlink()
    for name, target in wanted.items():
        if not (pkg / name).is_symlink():
            (pkg / name).symlink_to(target)
    return pkg


def _to_repo_paths(text: str) -> str:
    for installed, path in LAYOUT.items():
        text = text.replace(f"build/typecheck/{installed}/", f"{path.relative_to(ROOT)}/")
    return text.replace("build/typecheck/mlstack/", "mlstack/")


def main() -> int:
    _link_tree()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlstack" / "mypy"
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(cache),
         "build/typecheck/mlstack"],
        cwd=ROOT, capture_output=True, text=True, check=False)
    sys.stdout.write(_to_repo_paths(done.stdout))
    sys.stderr.write(_to_repo_paths(done.stderr))
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
