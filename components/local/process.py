"""`ManagedProcess`: a Pulumi dynamic resource that is one long-running service process on this machine.

create  stops an orphan an interrupted run left (pidfile next to the log), writes the service's files (0600),
        refuses a port already in use, starts the process detached in its own process group with output appended
        to its log, and waits (bounded) for its health endpoint; a service that never gets ready is stopped and
        the error carries its last log lines.
read    (a refresh: `mlstack drift`'s, and a deploy's where the state holds an operation a killed run left pending
        or is not in a file backend) reports a dead process as gone and an unhealthy one as `healthy: false`.
diff    looks at what runs, as a refresh would (a deploy or preview of the local target runs none): a process
        that is gone (`pid`) or does not answer its health endpoint (`healthy`) is replaced, so a deploy starts
        it again. A replacement starts the new process before it stops the old one wherever the two can coexist
        (none of the new ports is an old one, and the service does not hold its data exclusively): if the new
        one fails, the old one keeps serving. Otherwise the old one is stopped first, and the plan says the
        service goes down.
migrate (optional) a service whose data an earlier version of it wrote: before the new version starts, its
        migration command runs (bounded, output in the log) when the data exists and its stamp names another
        version; the stamp is written once the new version is ready, and its `note` output says what
        happened (the engine layer reports the note of each resource an update creates).
delete  stops the whole process group (TERM, then KILL after the service's `stop_timeout`, or, for a `supervisor`
        leader, once its children have exited) and waits until it has exited and the port is free; then removes the
        files it leaves behind when killed (`leftovers`).

The provider class is kept at this import path: Pulumi state refers to it by reference.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider

from mlstack.components.base import DynamicResource
from mlstack.home import service_environ, write_private

STOP_TIMEOUT = 15.0
SIDE_PORT_WAIT = 5.0
MIGRATE_TIMEOUT = 600.0
_REPLACE_ON = ("argv", "env", "files", "port", "extra_ports", "cwd", "health_url")


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def healthy(url: str, timeout: float = 2.0) -> bool:
    """Any HTTP answer below 500 counts: an auth-protected endpoint answering 401 is up."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback URL built by mlstack
            return resp.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (urllib.error.URLError, OSError, http.client.HTTPException):  # HTTPException: not HTTP listens there
        return False


def _start_time(pid: int) -> str | None:
    """Start time of a pid in clock ticks (field 22 of /proc/PID/stat): tells a reused pid from ours."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # a zombie has exited
        return None
    return fields[19]


def alive(pid: int | float | None, started: str | None) -> bool:
    pid = int(pid or 0)  # Pulumi hands numbers back as floats
    return pid > 0 and _start_time(pid) is not None and _start_time(pid) == started


def others_in_group(pgid: int, leader: int) -> bool:
    """Whether a live process other than `leader` is in the process group (a zombie has exited)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == leader:
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # exited meanwhile
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def stop_group(
    pgid: int | float,
    pid: int | float,
    started: str | None,
    port: int | float | None,
    timeout: float = STOP_TIMEOUT,
    supervisor: bool = False,
) -> None:
    """TERM the group, then KILL it after `timeout`, or, where its leader only `supervisor`s its children, as soon as
    they have exited: what is left of the leader is an interpreter's teardown."""
    pgid, pid, port = int(pgid), int(pid), int(port or 0)
    if alive(pid, started):
        _signal_group(pgid, timeout, lambda: alive(pid, started), lambda: supervisor and not others_in_group(pgid, pid))
    elif _start_time(pgid) is None and others_in_group(pgid, pid):
        # The leader alone was killed and its children hold on (MLflow's uvicorn, with the port): the group is
        # still the service's, since Linux hands out no pid that is the id of a group with members.
        _signal_group(pgid, timeout, lambda: others_in_group(pgid, pid))
    if port:
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and port_in_use(port):
            time.sleep(0.05)


def _signal_group(
    pgid: int, timeout: float, running: Callable[[], bool], settled: Callable[[], bool] = lambda: False
) -> None:
    """TERM the group and wait up to `timeout` while `running` (or until `settled`: a supervisor's children have
    exited), then KILL it and wait up to 5 s."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and running():
            if sig == signal.SIGTERM and settled():
                break
            time.sleep(0.05)
        if not running():
            return


def _tail(path: str, lines: int = 15) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _pidfile(props: dict[str, Any]) -> Path:
    """One per port: while a replacement runs, the old and the new process each have their own."""
    return Path(props["log_file"]).with_suffix(f".{int(props.get('port') or 0)}.pid")


def _ports(props: dict[str, Any]) -> set[int]:
    """The ports known so far (in a preview, a port chosen anew is unknown: it is a new one, so no clash)."""
    extra = props.get("extra_ports")
    candidates = [props.get("port"), *(extra if isinstance(extra, list) else [])]
    return {int(p) for p in candidates if isinstance(p, int | float) and p}


def can_coexist(olds: dict[str, Any], news: dict[str, Any]) -> bool:
    """Whether the new process can start while the old one still runs."""
    return not news.get("exclusive") and not (_ports(olds) & _ports(news))


def migrate(props: dict[str, Any], env: dict[str, str], log: Path) -> str | None:
    """Run the service's data migration (in the service's environment `env`) when its data was written by another
    version (see the module doc); what was migrated ("mlflow: migrated DATA from 3.16.0 to 3.17.2"), or None."""
    spec = props.get("migrate") or {}
    if not spec or not Path(spec["data"]).exists():
        return None  # nothing written yet: the service creates its data at the current version
    stamp = Path(spec["stamp"])
    before = stamp.read_text().strip() if stamp.exists() else ""
    if before == spec["version"]:
        return None
    what = f"{spec['data']} from {before or 'an unrecorded version'} to {spec['version']}"
    with open(log, "ab") as out:
        out.write(f"mlstack: migrating {what}\n".encode())
        out.flush()
        try:
            done = subprocess.run(
                spec["argv"],
                cwd=props.get("cwd") or None,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=MIGRATE_TIMEOUT,
                umask=0o077,
            )
        except subprocess.TimeoutExpired:
            raise RuntimeError(
                f"{props['service']}: migrating its data to {spec['version']} did not end within "
                f"{MIGRATE_TIMEOUT:.0f}s; last lines of {log}:\n{_tail(str(log))}"
            ) from None
    if done.returncode != 0:
        raise RuntimeError(
            f"{props['service']}: migrating its data to {spec['version']} failed (exit {done.returncode}); the "
            f"data is as it was before; last lines of {log}:\n{_tail(str(log))}"
        )
    return f"{props['service']}: migrated {what}"


def reap_orphan(props: dict[str, Any]) -> None:
    """Stop a process an interrupted run started but never recorded in state (its pidfile says so)."""
    path = _pidfile(props)
    try:
        pid, started = path.read_text().split()
    except (OSError, ValueError):
        return
    if alive(int(pid), started):
        stop(props, int(pid), int(pid), started)
    path.unlink(missing_ok=True)


def stop(props: dict[str, Any], pgid: int | float, pid: int | float, started: str | None) -> None:
    """Stop the service's process group (TERM; KILL after its `stop_timeout`), then remove the Unix sockets a
    killed process leaves behind (`leftovers`): those nothing listens on any more."""
    grace = float(props.get("stop_timeout") or STOP_TIMEOUT)
    stop_group(pgid, pid, started, props.get("port"), timeout=grace, supervisor=bool(props.get("supervisor")))
    # A killed process's main thread is a zombie while its other threads still exit: its sockets close a moment
    # later. Each leftover is removed once nothing listens on it (bounded).
    pending, deadline = list(props.get("leftovers") or []), time.monotonic() + 5.0
    while pending:
        for leftover in [p for p in pending if _stale_socket(p)]:
            pending.remove(leftover)
            with contextlib.suppress(OSError):  # another user's file in /tmp is theirs to remove
                Path(leftover).unlink()
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(0.05)


def _stale_socket(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(path)
        except (ConnectionRefusedError, FileNotFoundError):
            return True  # no listener (or no file)
        except OSError:
            return False  # not ours to judge (permissions)
    return False  # a live listener: another process uses it


class ManagedProcessProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        reap_orphan(props)
        port = int(props.get("port") or 0)  # Pulumi hands numbers back as floats
        if port and port_in_use(port):
            raise RuntimeError(
                f"{props['service']}: port {port} on 127.0.0.1 is already in use; free it, or set "
                f"another port in the recipe ({props.get('port_setting') or 'port'})"
            )
        taken = sorted(p for p in _ports(props) - {port} if port_in_use(p))
        deadline = time.monotonic() + SIDE_PORT_WAIT
        while taken and time.monotonic() < deadline:  # a killed process's sockets may take a moment to go
            time.sleep(0.1)
            taken = [p for p in taken if port_in_use(p)]
        if taken:
            raise RuntimeError(f"{props['service']}: port(s) {taken} on 127.0.0.1 already in use; free them")
        for name, content in (props.get("files") or {}).items():
            write_private(Path(name), content)
        for directory in props.get("dirs") or []:
            Path(directory).mkdir(mode=0o700, parents=True, exist_ok=True)
        log = Path(props["log_file"])
        log.parent.mkdir(parents=True, exist_ok=True)
        env = {**service_environ(), **(props.get("env") or {})}  # not what mlstack set for itself
        migrated = migrate(props, env, log)
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                props["argv"],
                cwd=props.get("cwd") or None,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                umask=0o077,  # what the service writes (objects, images, runs, models) only its owner reads
            )
        started = _start_time(proc.pid)
        _pidfile(props).write_text(f"{proc.pid} {started}\n")
        deadline = time.monotonic() + float(props.get("ready_timeout") or 60)
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{props['service']} exited with code {proc.returncode} before it was ready; "
                    f"last lines of {log}:\n{_tail(str(log))}"
                )
            if healthy(props["health_url"]):
                break
            if time.monotonic() > deadline:
                stop_group(proc.pid, proc.pid, started, None)
                raise RuntimeError(
                    f"{props['service']} was not ready within {props.get('ready_timeout')}s at "
                    f"{props['health_url']}; last lines of {log}:\n{_tail(str(log))}"
                )
            time.sleep(0.05)
        if props.get("migrate"):  # the data is now this version's
            write_private(Path(props["migrate"]["stamp"]), props["migrate"]["version"] + "\n")
        outs = {**props, "pid": proc.pid, "pgid": proc.pid, "started": started, "healthy": True, "note": migrated}
        return CreateResult(id_=f"{props['service']}-{proc.pid}", outs=outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        if not alive(props.get("pid"), props.get("started")):
            return ReadResult(id_=None, outs={})  # gone: the next update creates it again
        return ReadResult(id_=id_, outs={**props, "healthy": healthy(props["health_url"])})

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in _REPLACE_ON if olds.get(k) != news.get(k)]
        if "extra_ports" in replaces and sorted(_ports({"extra_ports": olds.get("extra_ports")})) == sorted(
            _ports({"extra_ports": news.get("extra_ports")})
        ):  # state written before extra_ports existed holds none: not a change
            replaces.remove("extra_ports")
        url = olds.get("health_url")
        if not alive(olds.get("pid"), olds.get("started")):
            replaces.append("pid")  # gone since the last update (killed, crashed, the machine restarted)
        elif not replaces and (olds.get("healthy") is False or (url and not healthy(url))):
            replaces.append("healthy")  # runs, but does not answer (a replacement decided already needs no probe)
        return DiffResult(changes=bool(replaces), replaces=replaces, delete_before_replace=not can_coexist(olds, news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        stop(props, props["pgid"], props["pid"], props.get("started"))
        _pidfile(props).unlink(missing_ok=True)


class ManagedProcess(DynamicResource, module="local", name="Process"):
    pid: pulumi.Output[int]
    port: pulumi.Output[int]
    healthy: pulumi.Output[bool]
    note: pulumi.Output[str | None]

    @property
    def served_port(self) -> pulumi.Output[int]:
        """The port of the process that runs, from its state: clients are handed this, not the recipe's wish (a
        failed replacement leaves the old process, on its old port, serving)."""
        return self.port.apply(lambda p: int(p) if p is not None else p)  # None: the offline plan, not yet chosen

    def __init__(
        self,
        name: str,
        *,
        service: str,
        argv: pulumi.Input[list[str]],
        health_url: pulumi.Input[str],
        log_file: str,
        port: pulumi.Input[int] | None = None,
        extra_ports: pulumi.Input[list[int]] | None = None,
        exclusive: bool = False,
        env: pulumi.Input[dict] | None = None,
        files: pulumi.Input[dict] | None = None,
        dirs: list[str] | None = None,
        cwd: str | None = None,
        ready_timeout: float = 60.0,
        stop_timeout: float = STOP_TIMEOUT,
        supervisor: bool = False,
        leftovers: pulumi.Input[list[str]] | None = None,
        port_setting: str | None = None,
        migrate: pulumi.Input[dict] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            ManagedProcessProvider(),
            name,
            {
                "service": service,
                "argv": argv,
                "health_url": health_url,
                "log_file": log_file,
                "port": port,
                "extra_ports": extra_ports or [],
                "exclusive": exclusive,
                "env": env or {},
                "files": files or {},
                "dirs": dirs or [],
                "cwd": cwd,
                "ready_timeout": ready_timeout,
                "stop_timeout": stop_timeout,
                "supervisor": supervisor,
                "leftovers": leftovers or [],
                "port_setting": port_setting,
                "migrate": migrate,
                "note": None,
                "pid": None,
                "pgid": None,
                "started": None,
                "healthy": None,
            },
            opts,
        )
