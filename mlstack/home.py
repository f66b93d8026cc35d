"""Where mlstack keeps its state on this machine (`MLSTACK_HOME`, default `~/.mlstack`)."""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from mlstack import OWN_ENV
from mlstack.versions import PULUMI_VERSION

PRIVATE_UMASK = 0o077  # what mlstack and the services it starts create under the home: owner-only


def tighten(path: Path) -> None:
    """Owner-only, recursively: what an earlier release (or a service with another umask) left readable by the
    group or others under the home. Symbolic links are left alone (their modes mean nothing)."""
    if not path.exists():
        return
    for directory, dirs, files in os.walk(path):
        for name in (directory, *(os.path.join(directory, n) for n in (*dirs, *files))):
            mode = os.lstat(name).st_mode
            if not stat.S_ISLNK(mode) and mode & 0o077:
                os.chmod(name, stat.S_IMODE(mode) & ~0o077)


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, without a window where it is world-readable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def from_env(cls) -> Home:
        return cls(Path(os.environ.get("MLSTACK_HOME") or Path.home() / ".mlstack").expanduser().resolve())

    @property
    def pulumi_home(self) -> Path:
        return self.root / "pulumi"

    @property
    def engine_dir(self) -> Path:
        # Versioned so that a new pin never mixes with an old build.
        return self.root / "engine" / f"pulumi-v{PULUMI_VERSION}"

    def plugin_build_dir(self, plugin: str, version: str) -> Path:
        """A provider plugin built from Go modules (versioned like the engine); `pulumi plugin install --file`
        registers it from here into the Pulumi home."""
        return self.root / "engine" / f"resource-{plugin}-v{version}"

    @property
    def runtimes_dir(self) -> Path:
        """Service runtimes; `MLSTACK_RUNTIMES_DIR` lets several homes (tests, CI caches) share one install."""
        shared = os.environ.get("MLSTACK_RUNTIMES_DIR")
        return Path(shared).expanduser().resolve() if shared else self.root / "runtimes"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def default_backend_url(self) -> str:
        return self.state_dir.as_uri()

    @property
    def passphrase_file(self) -> Path:
        return self.root / "passphrase"

    def stack_dir(self, stack: str) -> Path:
        return self.root / "stacks" / stack

    def stack_names(self) -> list[str]:
        base = self.root / "stacks"
        return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []

    def make_private(self, stack: str | None = None) -> None:
        """From here on this process, and what it starts (the engine, its plugins, the services), creates files and
        directories only their owner can read; the home itself and the stack's tree (its data, logs, config and
        the file backend's state) are tightened to owner-only, whatever an earlier release left."""
        os.umask(PRIVATE_UMASK)
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        if stack is not None:
            tighten(self.stack_dir(stack))
            tighten(self.state_dir)

    def ensure_passphrase(self) -> Path:
        """The passphrase that encrypts this home's Pulumi secrets: generated once, kept 0600."""
        path = self.passphrase_file
        if not path.exists():
            write_private(path, secrets.token_urlsafe(32))
        return path


RUNTIME_SIZE = ".mlstack-size"  # a runtime's bytes on disk, recorded once it is installed (`mlstack cost`, local)


def tree_bytes(path: Path) -> int:
    """Bytes of the files under `path` (links not followed)."""
    total = 0
    try:
        entries = list(os.scandir(path))
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                total += tree_bytes(Path(entry.path))
            else:
                total += entry.stat(follow_symlinks=False).st_size
        except OSError:
            pass
    return total


def runtime_bytes(runtime_dir: Path) -> int:
    """What an installed runtime takes on disk: as recorded when it was installed, else measured now."""
    try:
        return int((runtime_dir / RUNTIME_SIZE).read_text())
    except (OSError, ValueError):
        return tree_bytes(runtime_dir)


def service_environ() -> dict[str, str]:
    """This process's environment without what mlstack set for itself (mlstack.OWN_ENV): what a service it starts
    gets (components/local/process.py)."""
    own = {OWN_ENV, *filter(None, os.environ.get(OWN_ENV, "").split(","))}
    return {k: v for k, v in os.environ.items() if k not in own}
