"""Find the Pulumi CLI, or build the pinned version from Go modules (it cannot be downloaded here).

See shared ENGINE.md: `go install` is refused because pkg/go.mod has replace directives, so a wrapper module
requires pkg and sdk at the same version, repeats pkg's non-local replaces and builds the command package with
the release flags; the version is stamped with -X or the Automation API refuses the binary.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlstack.engine.gobuild import go_binary, go_env, run_steps
from mlstack.errors import EngineError
from mlstack.home import Home
from mlstack.versions import PULUMI_GO_REPLACES, PULUMI_GO_VERSION, PULUMI_VERSION

PKG = "github.com/pulumi/pulumi/pkg/v3"
SDK = "github.com/pulumi/pulumi/sdk/v3"


@dataclass(frozen=True)
class Cli:
    path: Path
    version: str
    source: str  # "mlstack home" | "PATH"

    @property
    def root(self) -> str | None:
        """For the Automation API's PulumiCommand, which runs `<root>/bin/pulumi` (None: from PATH)."""
        return str(self.path.parent.parent) if self.source == "mlstack home" else None


def _version_tuple(text: str) -> tuple[int, ...]:
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(x) for x in match.groups()) if match else (0,)


def cli_version(path: Path) -> str | None:
    try:
        out = subprocess.run(
            [str(path), "version"],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = out.stdout.strip()
    return text.lstrip("v") if out.returncode == 0 and text else None


def find_cli(home: Home) -> Cli | None:
    """The CLI mlstack built into its home, else a `pulumi` on PATH at least as new as the pinned SDK."""
    built = home.engine_dir / "bin" / "pulumi"
    stamp = home.engine_dir / "VERSION"
    # mlstack's own build is trusted by its stamp: `pulumi version` costs 0.3 s and the Automation API runs it anyway.
    if built.exists() and stamp.exists() and stamp.read_text().strip() == PULUMI_VERSION:
        return Cli(built, PULUMI_VERSION, "mlstack home")
    on_path = shutil.which("pulumi")
    if on_path:
        version = cli_version(Path(on_path))
        if version and _version_tuple(version) >= _version_tuple(PULUMI_VERSION):
            return Cli(Path(on_path), version, "PATH")
    return None


def ensure_cli(home: Home, progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> Cli:
    return find_cli(home) or build_cli(home, progress)


def wrapper_go_mod() -> str:
    replaces = "\n".join(f"replace {old} => {new}" for old, new in PULUMI_GO_REPLACES.items())
    return (
        f"module mlstack.local/pulumi-cli\n\ngo {PULUMI_GO_VERSION}\n\n"
        f"require (\n\t{PKG} v{PULUMI_VERSION}\n\t{SDK} v{PULUMI_VERSION}\n)\n\n{replaces}\n"
    )


def build_cli(home: Home, progress: Callable[[str], None]) -> Cli:
    go = go_binary(f"the Pulumi CLI (>= {PULUMI_VERSION}) is not on PATH")
    src = home.engine_dir / "src"
    src.mkdir(parents=True, exist_ok=True)
    (src / "go.mod").write_text(wrapper_go_mod())
    (src / "tools.go").write_text(f'//go:build tools\n\npackage tools\n\nimport _ "{PKG}/cmd/pulumi"\n')
    target = home.engine_dir / "bin" / "pulumi"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    ldflags = f"-s -w -X {SDK}/go/common/version.Version=v{PULUMI_VERSION}"
    tags = "osusergo,grpcnotrace"
    progress(f"building the Pulumi CLI v{PULUMI_VERSION} from Go modules into {home.engine_dir}")
    run_steps(
        "the Pulumi CLI",
        [
            ("resolving Go modules", [go, "mod", "tidy"], src),
            (
                "compiling (first build takes several minutes on 2 cores)",
                [go, "build", "-trimpath", "-tags", tags, "-ldflags", ldflags, "-o", str(partial), f"{PKG}/cmd/pulumi"],
                src,
            ),
        ],
        go_env(),
        progress,
    )
    partial.replace(target)
    version = cli_version(target)
    if version != PULUMI_VERSION:
        raise EngineError(f"the built Pulumi CLI reports version {version!r}, expected {PULUMI_VERSION}")
    (home.engine_dir / "VERSION").write_text(PULUMI_VERSION + "\n")
    progress(f"  built {target}")
    return Cli(target, version, "mlstack home")
