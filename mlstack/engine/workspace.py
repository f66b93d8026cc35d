"""Drive one Pulumi stack per recipe name through the Automation API (inline program, no language host).

Everything mlstack does to state goes through `StackSession`: it picks the backend and secrets provider, keeps a
persistent per-stack work dir (the passphrase salt lives in its Pulumi.<stack>.yaml), sets the offline engine
environment and maps engine failures onto mlstack's error tree.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from mlstack.engine import reaper
from mlstack.engine.events import ProgressPrinter
from mlstack.engine.plan import DriftCollector, Step, StepCollector
from mlstack.engine.pulumi_cli import Cli, ensure_cli
from mlstack.errors import (
    CheckpointDamagedError,
    CredentialsError,
    DataAtRiskError,
    EngineError,
    MlstackError,
    NotAvailableError,
    StackLockedError,
    StackNotFoundError,
    UsageError,
)
from mlstack.home import Home, write_private
from mlstack.recipe.rules import backend_directory

PROJECT = "mlstack"
LOCK_HOLDER = re.compile(r"created by \S+?@(\S+) \(pid (\d+)\)(?: at (\S+))?")
SHIM = "pulumi-resource-pulumi-python"


@dataclass
class OperationResult:
    stack: str
    operation: str
    changes: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)  # preview and drift: what would change, per resource
    notes: list[str] = field(default_factory=list)  # what the update did that its user should hear of

    @property
    def changed(self) -> bool:
        return any(n for op, n in self.changes.items() if op not in ("same", "read"))


def shim_dir() -> Path:
    return Path(sys.executable).parent


def backend_url(home: Home, recipe_backend: str | None = None, flag: str | None = None) -> str:
    """Precedence: --backend flag, the recipe's state.backend, PULUMI_BACKEND_URL, file:// in MLSTACK_HOME."""
    return flag or recipe_backend or os.environ.get("PULUMI_BACKEND_URL") or home.default_backend_url


BACKEND_SCHEMES = ("file", "s3", "gs", "azblob", "postgres", "https")


def check_backend(url: str, home: Home) -> None:
    """A backend URL the engine can use, checked before it runs (exit 2): else an unknown scheme makes it ask for
    a Pulumi Cloud token, an S3 URL without a region fails deep in the AWS SDK, and a mistyped file:// path is
    created as an empty backend."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(url)
    shown = display_url(url)
    if parts.scheme not in BACKEND_SCHEMES:
        raise UsageError(
            f"backend {shown}: scheme {parts.scheme or '(none)'!r} is not a Pulumi backend",
            hint="use file://PATH, s3://BUCKET?region=R, gs://BUCKET, azblob://CONTAINER, postgres://... or "
            "https:// (Pulumi Cloud)",
        )
    if parts.scheme == "s3" and not (
        parse_qs(parts.query).get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    ):
        raise UsageError(
            f"backend {shown}: an S3 backend needs its bucket's region",
            hint="add ?region=REGION to the URL, or set AWS_REGION",
        )
    if parts.scheme == "file" and url != home.default_backend_url:
        try:
            backend_directory(url)
        except ValueError as exc:
            raise UsageError(f"backend {shown}: {exc}", hint="pass --backend file://FOLDER of its own") from None
        path = backend_root(url) or Path(url.removeprefix("file://")).expanduser()
        if not path.is_dir():
            raise UsageError(
                f"backend {shown}: {path} is not a folder",
                hint="create it first (mlstack does not create a backend another path may have meant), or fix the URL",
            )


def backend_root(url: str) -> Path | None:
    """The folder a file:// backend URL names, as the engine reads it (escapes decoded, `~` expanded). None for
    another backend, and where mlstack cannot tell the folder for sure (options in the URL; a relative folder, which
    the engine resolves from its own working directory): what needs the folder asks the CLI then, or does without."""
    from urllib.parse import unquote

    rest = url.removeprefix("file://")
    if rest == url or "?" in rest or "#" in rest:
        return None
    root = Path(unquote(rest)).expanduser()
    return root if root.is_absolute() else None


def display_url(url: str) -> str:
    """A backend URL as mlstack prints it: without user information (a postgres:// URL can carry a password)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    return urlunsplit(parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host))


def is_shared(backend: str) -> bool:
    """State outside this machine's files: a team shares it, and with it the secrets passphrase."""
    return not backend.startswith("file://")


def engine_env(
    home: Home, cli: Cli, backend: str | None = None, secrets_provider: str = "passphrase"
) -> dict[str, str]:
    env = {
        "PULUMI_HOME": str(home.pulumi_home),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        # The dynamic-provider shim sits next to this interpreter; the CLI's own dir lets plugins be found.
        "PATH": os.pathsep.join([str(shim_dir()), str(cli.path.parent), os.environ.get("PATH", "")]),
        "MLSTACK_HOME": str(home.root),
        # Kubernetes: a field the stack declares and someone changed by hand (`kubectl scale`) is drift that deploy
        # puts back; under server-side apply that field now has another manager, so the apply must force it.
        # Fields the stack does not declare stay with their managers.
        "PULUMI_K8S_ENABLE_PATCH_FORCE": "true",
    }
    if secrets_provider == "passphrase" and not (
        os.environ.get("PULUMI_CONFIG_PASSPHRASE") or os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    ):
        if backend is not None and is_shared(backend):  # a passphrase generated in this home is nobody else's
            raise CredentialsError(
                f"the state backend {display_url(backend)} is shared, and so must be the passphrase of its secrets",
                hint="set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to the team's passphrase, or "
                "use a KMS secrets provider (state.secrets_provider: awskms://, gcpkms://, azurekeyvault://)",
            )
        env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(home.ensure_passphrase())
    return env


class StackSession:
    """One recipe's Pulumi stack: `up`, `preview`, `destroy`, `outputs`, `cancel`."""

    def __init__(
        self,
        home: Home,
        name: str,
        *,
        backend: str | None = None,
        secrets_provider: str | None = None,
        program: Callable[[], None] | None = None,
        progress: ProgressPrinter | None = None,
        work_dir: Path | None = None,
        refresh: bool = True,
    ) -> None:
        """`work_dir`: where Pulumi keeps the stack's config (default: the stack's dir in the home). `refresh`
        False: the stack's resources look at what runs in their own diff (`Target.refresh`), so `up` and `preview`
        refresh only a state that holds operations a killed run left pending, or that is not in a file backend."""
        import gc

        gc.enable()  # the CLI pauses the cyclic collector while a verb starts (cli.main); an engine run may be long
        self.home, self.name = home, name
        self.refresh = refresh
        self.backend = backend or backend_url(home)
        check_backend(self.backend, home)
        self.secrets_provider = secrets_provider or "passphrase"
        self.program = program or (lambda: None)
        self.progress = progress
        self.work_dir = work_dir or home.stack_dir(name)
        self._had_config = (self.work_dir / f"Pulumi.{name}.yaml").exists()
        self.diagnostics: list[str] = []  # the engine's error messages, for the error we raise
        self.changes: dict[str, int] = {}  # from the engine's summary event
        self.stack_outputs: dict[str, Any] = {}  # from the engine's event for the stack (secrets still encrypted)
        self.notes: list[str] = []  # the notes of resources this update created (`_note`)
        self._selected: Any = None  # the Automation API's Stack, once selected
        self._stack_op: str | None = None  # what the engine does to the stack resource itself (not counted)

    # -- plumbing -------------------------------------------------------------------------------------------
    def _errors(self) -> _mapped_errors:
        return _mapped_errors(self.name, self.diagnostics, self._forget_new_config)

    def _forget_new_config(self) -> None:
        """A run refused for a wrong passphrase has written a stack config with a salt of its own, which would
        refuse the right passphrase later: a config that did not exist before the run is removed."""
        if not self._had_config:
            (self.work_dir / f"Pulumi.{self.name}.yaml").unlink(missing_ok=True)

    def _workspace_options(self, cli: Cli, listing: bool = False) -> Any:
        """`listing`: only the backend's stack list is read, which needs no secrets provider."""
        from pulumi import automation as auto

        self.work_dir.mkdir(parents=True, exist_ok=True)
        if root := backend_root(self.backend):
            root.mkdir(parents=True, exist_ok=True)
        return auto.LocalWorkspaceOptions(
            work_dir=str(self.work_dir),
            pulumi_home=str(self.home.pulumi_home),
            env_vars=engine_env(self.home, cli, None if listing else self.backend, self.secrets_provider),
            secrets_provider=self.secrets_provider,
            project_settings=auto.ProjectSettings(
                name=PROJECT, runtime="python", backend=auto.ProjectBackend(url=self.backend)
            ),
            pulumi_command=_command(cli),
        )

    def _stack(self, create: bool) -> Any:
        """The stack, selected once per session. On a file backend whose checkpoint exists, the `stack select` CLI
        call (~0.2 s) is skipped: every stack command the Automation API runs names the stack itself."""
        if self._selected is None:
            self._selected = self._select(create)
        return self._selected

    def _select(self, create: bool) -> Any:
        from pulumi import automation as auto

        cli = ensure_cli(self.home)
        opts = self._workspace_options(cli)
        stopped = reaper.reap(self.home.pulumi_home)
        if stopped and self.progress:
            self.progress.emit(
                f"  stopped {len(stopped)} provider plugin process(es) a killed run left "
                f"({', '.join(f'{name} pid {pid}' for pid, name in stopped)})"
            )
        with self._errors():
            if self.has_checkpoint():
                opts.program = self.program
                return _KnownStack(self.name, auto.LocalWorkspace(**vars(opts)))
            if create and self._absent():
                try:  # the `stack select` a create_or_select tries first would fail (~0.3 s of a first deploy)
                    return auto.create_stack(self.name, PROJECT, self.program, opts=opts)
                except auto.StackAlreadyExistsError:
                    pass  # made meanwhile, by another run
            if create:
                return auto.create_or_select_stack(self.name, PROJECT, self.program, opts=opts)
            return auto.select_stack(self.name, PROJECT, self.program, opts=opts)

    def _absent(self) -> bool:
        """The stack is surely not in its backend: an absolute local folder (as the engine reads the URL: `~`
        expanded, escapes decoded) holding no checkpoint of it, in the project layout or the legacy one, plain or
        compressed (PULUMI_SELF_MANAGED_STATE_GZIP). False wherever that cannot be told for sure (another backend,
        options in the URL, a relative folder): the CLI is asked then."""
        root = backend_root(self.backend)
        if root is None:
            return False
        stacks = root / ".pulumi" / "stacks"
        return not any(
            (folder / f"{self.name}{ext}").exists()
            for folder in (stacks / PROJECT, stacks)
            for ext in (".json", ".json.gz")
        )

    def has_checkpoint(self) -> bool:
        """The stack exists in a file backend (False for other backends: not known without a CLI call)."""
        return self._checkpoint().is_file()

    def forget(self) -> None:
        """Remove a stack that holds nothing from the backend (a first deploy refused before any change)."""
        try:
            if not self.deployed_resources():
                self.remove()
        except MlstackError:
            pass

    def _checkpoint(self) -> Path:
        """The stack's checkpoint in a file backend (a path that never exists for other backends, nor where the
        folder is not known for sure: `backend_root`)."""
        root = backend_root(self.backend)
        if root is None:
            return Path("/nonexistent/mlstack-checkpoint")
        return root / ".pulumi" / "stacks" / PROJECT / f"{self.name}.json"

    def _events(self, also: Callable[[Any], None] | None = None) -> dict[str, Any]:
        def on_event(event: Any) -> None:
            if also is not None:
                also(event)
            diag = getattr(event, "diagnostic_event", None)
            if diag is not None and diag.severity == "error" and diag.message.strip():
                self.diagnostics.append(_about(diag.urn, diag.message.strip()))
            pre = getattr(event, "resource_pre_event", None)
            if pre is not None and pre.metadata.type == "pulumi:pulumi:Stack":
                stack_op = getattr(pre.metadata.op, "value", pre.metadata.op)
                if stack_op not in ("refresh", "read"):
                    self._stack_op = stack_op
            summary = getattr(event, "summary_event", None)
            if summary is not None:
                # The stack itself is not a resource of the recipe: counted out, so that the engine's counts agree
                # with the plan's (which never shows it).
                changes = dict(summary.resource_changes or {})
                if self._stack_op in changes:
                    changes[self._stack_op] -= 1
                self.changes = {op: n for op, n in changes.items() if n}
            done = getattr(event, "res_outputs_event", None)
            note = _note(done)
            if note and note not in self.notes:
                self.notes.append(note)
            if (
                done is not None
                and done.metadata.type == "pulumi:pulumi:Stack"
                and done.metadata.new is not None
                and getattr(done.metadata.op, "value", done.metadata.op) != "refresh"
            ):
                self.stack_outputs = dict(done.metadata.new.outputs or {})
            if self.progress:
                self.progress.on_event(event)

        return {"on_event": on_event}

    def _with_recovery(self, operation: Callable[[], Any]) -> Any:
        """Run an update, recovering from what a killed run leaves: a lock whose holder was an engine on this
        machine that no longer runs (cleared once, no manual `cancel` needed) and a checkpoint left unreadable
        (see `_repair_checkpoint`)."""
        try:
            return operation()
        except CheckpointDamagedError:
            if not self._repair_checkpoint():
                raise
            return self._with_recovery(operation)
        except StackLockedError as err:
            holders = err.holders
            if (
                is_shared(self.backend)
                or not holders
                or not all(host == socket.gethostname() and not _pid_alive(pid) for host, pid in holders)
            ):
                raise
            if self.progress:
                self.progress.emit(
                    f"  clearing a stale lock of stack {self.name!r} (pid {', '.join(str(p) for _, p in holders)} "
                    "on this machine is gone)"
                )
            try:
                self.cancel()
            except StackNotFoundError:
                # Killed before its first checkpoint was written: the lock outlived a stack that never existed,
                # and `pulumi cancel` cannot select it. Its holder is gone (checked above): remove the lock file.
                self._remove_lock_files()
            return operation()

    def _remove_lock_files(self) -> None:
        for lock in self._lock_files():
            lock.unlink(missing_ok=True)

    def _lock_files(self) -> list[Path]:
        """The stack's lock files in a file backend (.pulumi/locks/<org>/<project>/<stack>/<id>.json)."""
        root = backend_root(self.backend)
        return list((root / ".pulumi" / "locks").glob(f"**/{PROJECT}/{self.name}/*.json")) if root else []

    def _repair_checkpoint(self) -> bool:
        """The file backend writes a checkpoint atomically but its `.attrs` sidecar (content type and checksum,
        optional) in place: an engine killed in between leaves an empty sidecar, and every later load of the
        stack fails with EOF. Empty sidecars of this stack are removed (the checkpoint itself is whole); True if
        there was one."""
        root = backend_root(self.backend)
        if root is None:
            return False
        stacks = root / ".pulumi" / "stacks" / PROJECT
        empty = [p for p in stacks.glob(f"{self.name}.json*.attrs") if p.is_file() and p.stat().st_size == 0]
        for path in empty:
            path.unlink()
        if empty and self.progress:
            self.progress.emit(
                f"  repaired stack {self.name!r}: removed {len(empty)} empty checkpoint sidecar "
                "file(s) a killed run left"
            )
        return bool(empty)

    # -- operations -----------------------------------------------------------------------------------------
    def _refreshes(self) -> bool:
        """Whether `up` and `preview` refresh first: always where the resources need it; else only where the state
        holds operations a killed run left pending (what they did is known only by reading it), or cannot be read
        here (not a file backend)."""
        if self.refresh:
            return True
        latest = self._latest()
        return latest is None or bool(latest.get("pending_operations"))

    def _latest(self) -> dict[str, Any] | None:
        """The stack's latest deployment, read from its file backend's checkpoint directly (`pulumi stack export`
        costs 0.4 s); None where there is none readable here."""
        try:
            latest = (json.loads(self._checkpoint().read_text()).get("checkpoint") or {}).get("latest") or {}
        except (OSError, ValueError, AttributeError):
            return None
        return latest if isinstance(latest, dict) else None

    def up(self, with_secrets: bool = True, replace_data: bool = False) -> OperationResult:
        """`with_secrets=False`: outputs come from the engine's own event, secret values left out — saves a CLI
        call (~0.4 s) on every deploy that writes no secrets anywhere. `replace_data`: the engine may replace or
        delete what holds data (protected resources); without it, it refuses (DataAtRiskError)."""
        return self._with_recovery(lambda: self._up(with_secrets, replace_data))

    def _up(self, with_secrets: bool, replace_data: bool) -> OperationResult:
        stack = _lean(self._stack(create=True))
        with self._errors(), _ignoring_protect(stack, replace_data):
            # A refresh runs each resource's read first, so what runs no more shows as drift and is recreated (a
            # target without it does the same in its resources' diff).
            stack.up(refresh=self._refreshes(), color="never", **self._events())
            if with_secrets or not self.stack_outputs:
                outputs = self._read_outputs(stack)
            else:
                outputs = {k: v for k, v in self.stack_outputs.items() if not _is_encrypted(v)}
        return OperationResult(self.name, "deploy", self.changes, outputs, notes=list(self.notes))

    def _read_outputs(self, stack: Any) -> dict[str, Any]:
        """All outputs, secrets decrypted, in one CLI call (the Automation API's `outputs()` makes two)."""
        result = stack.workspace.pulumi_command.run(
            ["stack", "output", "--json", "--show-secrets", "--stack", self.name],
            stack.workspace.work_dir,
            stack.workspace.env_vars,
        )
        return json.loads(result.stdout or "{}")

    def preview(self) -> OperationResult:
        """What `up` would do, step by step (`OperationResult.steps`), after refreshing what exists (where `up`
        refreshes: `_refreshes`). A preview of a
        stack the backend does not hold yet leaves none behind (the engine needs one to plan against)."""
        new = self.deployed_resources() is None
        stack = self._stack(create=True)
        collector = StepCollector()
        try:
            try:
                with self._errors():
                    result = stack.preview(refresh=self._refreshes(), color="never", **self._events(collector.on_event))
            except DataAtRiskError:
                # The engine reports a step it would refuse (a protected resource replaced or deleted) and fails
                # the preview: the steps it reported are the plan, that step marked (a deploy is what refuses).
                steps = collector.steps
                if not any(s.data for s in steps):
                    raise
                return OperationResult(self.name, "preview", dict(Counter(s.op for s in steps)), steps=steps)
        finally:
            if new:
                with self._errors():
                    stack.workspace.remove_stack(self.name)
                self._forget_new_config()
        return OperationResult(self.name, "preview", dict(result.change_summary or {}), steps=collector.steps)

    def drift(self, ignored: dict[str, tuple[str, ...]] | None = None) -> OperationResult:
        """What refreshing the state would change: each resource whose real state differs from the recorded one
        (a refresh preview: nothing is written); `ignored`: type -> fields the platform moves itself."""
        stack = self._stack(create=False)
        collector = DriftCollector(ignored)
        with self._errors():
            result = stack.preview_refresh(color="never", **self._events(collector.on_event))
        return OperationResult(self.name, "drift", dict(result.change_summary or {}), steps=collector.steps)

    def destroy(self) -> OperationResult:
        return self._with_recovery(self._destroy)

    def _destroy(self) -> OperationResult:
        stack = _lean(self._stack(create=False))
        # What holds data is protected against updates, not against destroy (which keeps what it keeps, and
        # `--purge` removes): the engine is told so.
        with self._errors(), _ignoring_protect(stack, True):
            stack.destroy(color="never", **self._events())
        return OperationResult(self.name, "destroy", self.changes)

    def deployed_resources(self) -> int | None:
        """How many resources the stack's state holds besides the stack itself and its providers (0: nothing is
        deployed, e.g. after `destroy`); None when the backend has no such stack."""
        resources = self._state_resources()
        return None if resources is None else len(resources)

    def _state_resources(self) -> list[dict[str, Any]] | None:
        """The resources of the stack's state, without the stack itself and its providers; None when the backend
        has no such stack."""
        resources: list[dict[str, Any]] | None = None
        if self._absent():
            return None  # no `stack select` to learn it (~0.3-0.5 s of a first deploy)
        latest = self._latest()
        if latest is not None:
            resources = latest.get("resources") or []
        if resources is None:  # not readable here: the CLI reads it
            try:
                stack = self._stack(create=False)
            except StackNotFoundError:
                return None
            with self._errors():
                state = stack.export_stack()
            resources = (state.deployment or {}).get("resources") or []
        return [r for r in resources if not str(r.get("type", "")).startswith("pulumi:")]

    def status(self) -> dict[str, Any]:
        """What `list` shows of the stack: state (deployed, destroyed, failed, not deployed, updating), when it
        last changed and its resource count; from the backend's own record of its updates."""
        resources = self.deployed_resources()
        if resources is None:
            return {"state": "not in backend", "lastChange": None, "resources": 0}
        last = self._last_update()
        kind, result, ended = (last or {}).get("kind"), (last or {}).get("result"), (last or {}).get("endTime")
        if result == "in-progress" or self._locked():
            state = "updating"
        elif result == "failed":
            state = "failed"
        elif resources:
            state = "deployed"
        else:
            state = "destroyed" if kind == "destroy" else "not deployed"
        when = datetime.fromtimestamp(int(ended), tz=UTC).isoformat() if isinstance(ended, int | float) else ended
        return {"state": state, "lastChange": when, "lastOperation": kind, "resources": resources}

    def _last_update(self) -> dict[str, Any] | None:
        history = self._checkpoint().parent.parent.parent / "history" / PROJECT / self.name
        if backend_root(self.backend):
            files = sorted(history.glob(f"{self.name}-*.history.json"), key=lambda p: (len(p.name), p.name))
            try:
                return json.loads(files[-1].read_text()) if files else None
            except (OSError, ValueError):
                return None
        stack = self._stack(create=False)
        with self._errors():
            entries = stack.history(page_size=1)
        if not entries:
            return None
        e = entries[0]
        end = e.end_time.timestamp() if e.end_time else None
        return {"kind": e.kind, "result": e.result, "endTime": end}

    def lock_held(self) -> bool | None:
        """Whether an update's lock is on the stack: known for a file backend (its lock files), else None."""
        if backend_root(self.backend) is None:
            return None
        return bool(self._lock_files())

    def live_holders(self) -> list[str]:
        """Who holds the stack's lock and still runs on this machine ("pid N (user)"): read from a file backend's
        lock files (pid, hostname); [] where the backend cannot say, or no holder is alive here."""
        found = []
        for path in self._lock_files():
            try:
                lock = json.loads(path.read_text())
                pid, host = int(lock.get("pid") or 0), str(lock.get("hostname") or "")
            except (OSError, ValueError, TypeError):
                continue
            if pid > 0 and host == socket.gethostname() and _alive(pid):
                found.append(f"pid {pid} ({lock.get('username') or '?'})")
        return found

    def _locked(self) -> bool:
        return bool(self.lock_held())

    def outputs(self) -> dict[str, Any]:
        stack = self._stack(create=False)
        with self._errors():
            outputs = self._read_outputs(stack)
        return outputs

    def backend_stacks(self) -> list[dict[str, Any]]:
        """Every stack of this backend: name, last update, resource count (no stack is selected or created)."""
        from pulumi import automation as auto

        cli = ensure_cli(self.home)
        opts = self._workspace_options(cli, listing=True)
        with self._errors():
            workspace = auto.LocalWorkspace(
                work_dir=opts.work_dir,
                pulumi_home=opts.pulumi_home,
                env_vars=opts.env_vars,
                project_settings=opts.project_settings,
                pulumi_command=opts.pulumi_command,
            )
            stacks = workspace.list_stacks()
        return [
            {
                "stack": s.name,
                "lastUpdate": str(s.last_update) if s.last_update else None,
                "resources": s.resource_count,
                "updating": bool(s.update_in_progress),
            }
            for s in stacks
        ]

    def cancel(self) -> None:
        """Clear the stack's lock; a checkpoint a killed run left unreadable is repaired first, as for an update
        (`_repair_checkpoint`): the kill that left the lock can leave that too."""
        stack = self._stack(create=False)
        try:
            with self._errors():
                stack.cancel()
        except CheckpointDamagedError:
            if not self._repair_checkpoint():
                raise
            with self._errors():
                stack.cancel()

    def remove(self, force: bool = False) -> None:
        """Remove the (empty) stack from the backend after a destroy; `force`: with what its state still lists (what
        it managed is gone already, with the cluster it was on)."""
        stack = self._stack(create=False)
        with self._errors():
            stack.workspace.remove_stack(self.name, force=force)


def _command(cli: Cli) -> Any:
    """The Automation API's handle on the CLI, without its own `pulumi version` run (~0.2 s): the version is known
    (mlstack's build is stamped; a CLI on PATH was asked once by `find_cli`), and the Automation API needs it to
    enable what the CLI supports."""
    from pulumi import automation as auto
    from semver import VersionInfo

    command = auto.PulumiCommand.__new__(auto.PulumiCommand)
    command.command = str(cli.path)
    command.version = VersionInfo.parse(cli.version)
    return command


def _KnownStack(name: str, workspace: Any) -> Any:  # noqa: N802 - stands in for the class it builds
    """An Automation API Stack of a stack known to exist, built without `pulumi stack select`."""
    from pulumi import automation as auto
    from pulumi.automation._stack import StackInitMode

    stack = auto.Stack.__new__(auto.Stack)
    stack.name, stack.workspace, stack._mode = name, workspace, StackInitMode.SELECT
    return stack


def _about(urn: str | None, message: str) -> str:
    """An engine error prefixed with the resource it is about (`serving-deployment [kubernetes:apps/v1:Deployment]`)
    where the engine says which; a provider's own message often names nothing ("timed out waiting ...")."""
    if not urn or "::" not in urn:
        return message
    parts = urn.split("::")
    name, kind = parts[-1], parts[-2].rsplit("$", 1)[-1]
    if kind.startswith("pulumi:pulumi:Stack") or name in message:
        return message
    return f"{name} [{kind}]: {message}"


def _is_encrypted(value: Any) -> bool:
    """A secret as engine events carry it: Pulumi's secret signature with ciphertext, never the value."""
    return isinstance(value, dict) and ("ciphertext" in value or "4dabf18193072939515e22adb298388d" in value)


NOTE_OUTPUT = "note"  # a resource that did something its user should hear of says it in this output
CREATING = {"create", "replace", "create-replacement"}


def _note(done: Any) -> str | None:
    """The note of a resource this update created (a resource kept from an earlier update says nothing again)."""
    if done is None or getattr(done.metadata.op, "value", done.metadata.op) not in CREATING:
        return None
    note = ((done.metadata.new.outputs if done.metadata.new else None) or {}).get(NOTE_OUTPUT)
    return note if isinstance(note, str) and note else None


def _lean(stack: Any) -> Any:
    """After `up`/`destroy` the Automation API runs `stack output` twice and `stack history` (~1 s) only to fill
    its result object; mlstack takes the change summary from the engine's summary event and reads outputs once
    itself, so those calls are replaced on this instance."""
    stack.outputs = lambda: {}
    stack.info = lambda *args, **kwargs: SimpleNamespace(resource_changes=None)
    return stack


class _ignoring_protect:
    """Runs the stack's next engine command with `--ignore-protect` (the Automation API has no parameter for it;
    it appends the workspace's per-operation arguments to every command it runs)."""

    def __init__(self, stack: Any, ignore: bool) -> None:
        self.workspace, self.ignore = stack.workspace, ignore

    def __enter__(self) -> None:
        if self.ignore:
            self.workspace.serialize_args_for_op = lambda _name: ["--ignore-protect"]

    def __exit__(self, *exc: Any) -> None:
        self.workspace.__dict__.pop("serialize_args_for_op", None)


class _mapped_errors:
    """Turn Automation API failures into mlstack errors that name the next command to run."""

    def __init__(self, stack: str, diagnostics: list[str], forget: Callable[[], None] | None = None) -> None:
        self.stack, self.diagnostics, self.forget = stack, diagnostics, forget

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None or isinstance(exc, MlstackError):
            return
        from pulumi import automation as auto

        if not isinstance(exc, auto.CommandError):
            return
        text = str(exc)
        if isinstance(exc, auto.StackNotFoundError) or "no stack named" in text:
            raise StackNotFoundError(
                f"stack {self.stack!r} does not exist in this backend",
                hint="`mlstack list` shows the stacks; `mlstack deploy RECIPE` creates one",
            ) from None
        if isinstance(exc, auto.ConcurrentUpdateError) or "currently locked" in text:
            holders = [(host, int(pid), since) for host, pid, since in LOCK_HOLDER.findall(text)]
            raise StackLockedError(
                f"stack {self.stack!r} is locked by another update: " + "; ".join(_holder(*h) for h in holders),
                hint="wait for it to end; if no update is running (it was killed), "
                f"`mlstack cancel --stack {self.stack}` (or `mlstack cancel RECIPE`) clears the lock",
                holders=[(host, pid) for host, pid, _ in holders],
            ) from None
        at_risk = protected_urns("\n".join([text, *self.diagnostics]))
        if at_risk:
            raise data_at_risk(self.stack, at_risk) from None
        if "no resource plugin" in text or "could not find plugin" in text.lower():
            raise NotAvailableError(
                f"stack {self.stack!r} needs a Pulumi provider plugin this machine does not have",
                hint="install it into PULUMI_HOME/plugins (see `mlstack doctor`); "
                "`mlstack preview RECIPE --offline` plans without it",
            ) from None
        if "failed to load checkpoint" in text:
            raise CheckpointDamagedError(
                f"the checkpoint of stack {self.stack!r} cannot be read:\n{_error_lines(exc)}",
                hint="restore the newest good copy from the backend's .pulumi/backups",
            ) from None
        if "passphrase" in text and "incorrect" in text:
            if self.forget is not None:
                self.forget()
            raise CredentialsError(
                f"the secrets passphrase does not decrypt stack {self.stack!r}",
                hint="set PULUMI_CONFIG_PASSPHRASE(_FILE) to the passphrase it was created with",
            ) from None
        detail = "\n".join("  " + d for d in _engine_errors(self.diagnostics)) or _error_lines(exc)
        raise EngineError(
            f"Pulumi failed on stack {self.stack!r}:\n{detail}",
            hint="fix the cause above, then run the same command again (`--debug` shows the full log)",
        ) from None


# The engine's refusals of a step on a protected resource (a replacement, or a delete in an update).
_PROTECTED = re.compile(
    r'unable to replace resource "(urn:pulumi:[^"]+)"(?:\s+as part of replacing "urn:pulumi:[^"]+")?\s+as it is '
    r'currently marked for protection|resource "(urn:pulumi:[^"]+)" cannot be deleted\s+because it is protected'
)


def data_at_risk(stack: str, urns: list[str]) -> DataAtRiskError:
    names = ", ".join(dict.fromkeys(u.rsplit("::", 1)[-1] for u in urns))
    return DataAtRiskError(
        f"stack {stack!r}: the deploy would replace or delete what holds the stack's data ({names}); refused, "
        "and those resources are untouched",
        hint="`mlstack preview` shows why; when losing that data is intended, deploy again with `--replace-data`",
    )


def kept_in_place(stack: str, urns: list[str]) -> DataAtRiskError:
    """`--replace-data` of a resource destroy keeps: the old one would stay, and its successor could not take its
    name (a claim), so the deploy is refused rather than left half done."""
    names = ", ".join(dict.fromkeys(u.rsplit("::", 1)[-1] for u in urns))
    return DataAtRiskError(
        f"stack {stack!r}: {names} cannot be replaced, even with --replace-data: mlstack keeps it when it is "
        "deleted (its data outlives the stack), so the old one would stay where its successor goes; nothing changed",
        hint="delete it outside mlstack if its data may go (for a Kubernetes claim: scale down what mounts it, then "
        "`kubectl delete pvc`), then deploy again; or keep the setting that forces the replacement as it was",
    )


def protected_urns(text: str) -> list[str]:
    """The resources whose replacement or deletion the engine refused because they are protected."""
    return list(dict.fromkeys(a or b for a, b in _PROTECTED.findall(text)))


def _holder(host: str, pid: int, since: str) -> str:
    """Who holds a lock, and whether it is stale: a holder on this machine whose process is gone was killed."""
    text = f"pid {pid} on {host}" + (f" since {since}" if since else "")
    if host == socket.gethostname() and not _pid_alive(pid):
        text += " (that process is gone: the update was killed, and its lock is stale)"
    return text


def _pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _engine_errors(diagnostics: list[str]) -> list[str]:
    """The engine's own error diagnostics, without its closing "update failed" summary."""
    out = []
    for d in diagnostics:
        d = d.replace("Exception calling application: ", "")
        if d not in out and not d.startswith(("update failed", "preview failed", "destroy failed")):
            out.append(d)
    return out


def _error_lines(exc: Any) -> str:
    text = "\n".join(x for x in (getattr(exc, "stderr", ""), getattr(exc, "stdout", "")) if x) or str(exc)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower()]
    return "\n".join("  " + ln for ln in (errors or lines)[-12:])


def save_recipe(home: Home, name: str, recipe_json: dict) -> Path:
    """The resolved recipe of a deployed stack, so `--stack NAME` verbs run without the file (0600: it may carry
    values from the environment)."""
    path = home.stack_dir(name) / "recipe.json"
    write_private(path, json.dumps(recipe_json, indent=2, sort_keys=True))
    return path


def saved_recipe(home: Home, name: str) -> dict:
    path = home.stack_dir(name) / "recipe.json"
    if not path.exists():
        raise StackNotFoundError(
            f"no stack named {name!r} in {home.root}", hint="`mlstack list` shows the stacks this home knows"
        )
    return json.loads(path.read_text())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True
