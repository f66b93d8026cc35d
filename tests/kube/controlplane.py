"""A real Kubernetes control plane run as plain processes, for tests on machines without a container runtime.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (which plays the kubelet of one fake Node) run
on 127.0.0.1 from a temp dir: Deployments become Ready, Jobs complete, PVCs bind (host-path provisioner), Services
get EndpointSlices, admission (PodSecurity included) and RBAC are the real ones. Nothing runs in a container, so
`kubectl logs/exec` cannot work. Facts behind every flag: ../shared/KUBERNETES.md.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from mlstack.versions import KWOK_VERSION
from tests.kube.build import bin_dir
from tests.kube.pki import Pki, make_pki

ETCD = Path("/usr/bin/etcd")
CONTEXT = "mlstack-test"
NODE_NAME = "kwok-node-0"
NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
NODE_RESOURCES = {"cpu": "32", "memory": "64Gi", "pods": "110"}
STORAGE_CLASS = "standard"
HOSTPATH_PV_DIR = Path("/tmp/hostpath_pv")  # hard-coded in the controller-manager's host-path provisioner
# kwok has no built-in stages; these are the ones its `kustomize/stage/fast` composes.
KWOK_STAGES = ("node/fast/node-initialize.yaml", "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
               "pod/fast/pod-ready.yaml", "pod/fast/pod-complete.yaml", "pod/fast/pod-delete.yaml")
STOP_GRACE_S = 10.0


class ControlPlaneError(RuntimeError):
    """The control plane did not start; the message carries the tail of the log that explains why."""


class KubectlError(subprocess.CalledProcessError):
    """A failed kubectl call whose message includes kubectl's stderr (CalledProcessError's alone does not)."""

    def __str__(self) -> str:
        return f"{super().__str__()}\n{(self.stderr or '').strip()}"


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def exit_status(self) -> str | None:
        """How it ended ("exit code 1", "signal 9"), or None while it runs. Does not reap it: the zombie keeps its
        pid, hence its process group id, from being reused before `_terminate` has killed the rest of the group."""
        try:
            info = os.waitid(os.P_PID, self.popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:  # already reaped
            return f"exit code {self.popen.returncode}"
        if info is None:
            return None
        return f"exit code {info.si_status}" if info.si_code == os.CLD_EXITED else f"signal {info.si_status}"

    def tail(self, lines: int = 40) -> str:
        try:
            text = "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError as e:
            text = str(e)
        return f"--- last lines of {self.log}:\n{text or '(empty)'}"


def _free_ports(n: int) -> list[int]:
    """Ports free right now on 127.0.0.1 (held together so that they are distinct)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


# util-linux's setpriv sets the death signal (SIGKILL when the test process dies, even by SIGKILL or os._exit, as
# pytest-timeout's thread method does, when atexit never runs) and execs the component: no Python runs in the forked
# child (a `preexec_fn` did, and raced the threads an in-process gRPC restarts there: a CI run lost its scheduler so).
SETPRIV = shutil.which("setpriv")


def kwok_stages_config() -> str:
    """The kwok stage files of the module at KWOK_VERSION, joined into one config (found in Go's module cache)."""
    try:  # outside any module, offline once tests/kube/build.py has installed kwok
        done = subprocess.run(["go", "mod", "download", "-json", f"sigs.k8s.io/kwok@{KWOK_VERSION}"], check=False,
                              capture_output=True, text=True, timeout=300, cwd="/", env={**os.environ, "GOFLAGS": ""})
    except FileNotFoundError as e:
        raise ControlPlaneError(f"Go is needed to locate kwok's stage files: {e}") from e
    if done.returncode != 0:
        raise ControlPlaneError(f"cannot locate the kwok module: {done.stdout}{done.stderr}")
    stage_dir = Path(json.loads(done.stdout)["Dir"]) / "kustomize" / "stage"
    return "\n---\n".join((stage_dir / s).read_text().strip() for s in KWOK_STAGES) + "\n"


class ControlPlane:
    """Start with `with ControlPlane(tmp_dir) as cp:`; `cp.kubectl("get", "nodes")` then talks to it.

    Every process runs in its own session (process group), logs to `<workdir>/<name>.log`, and is killed by
    `stop()` (also at interpreter exit, and by the kernel if the test process dies). Start it from a thread that
    lives as long as it should (the main thread): the kernel's parent-death signal follows the starting thread.
    """

    def __init__(self, workdir: Path, *, binaries: Path | None = None, etcd: Path = ETCD,
                 ready_timeout: float = 90.0) -> None:
        self.workdir = Path(workdir)
        self.binaries = binaries or bin_dir()
        self.etcd = etcd
        self.ready_timeout = ready_timeout
        self.context = CONTEXT
        self.kubeconfig = self.workdir / "kubeconfig"
        self.server = ""
        self._processes: list[_Process] = []
        self._ssl: ssl.SSLContext | None = None

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> ControlPlane:
        """Start everything and return once a Node is Ready, `standard` is the default StorageClass and
        the `default` ServiceAccount exists (so pods can be created at once)."""
        if self._processes:
            raise ControlPlaneError("already started")
        atexit.register(self.stop)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Kill every process group: the Kubernetes components first, etcd last (the API server hangs on SIGTERM
        when etcd is already gone). Idempotent."""
        atexit.unregister(self.stop)
        volumes = self._hostpath_volumes() if self._processes else []
        processes, self._processes = self._processes, []
        etcd = [p for p in processes if p.name == "etcd"]
        _terminate([p for p in processes if p.name != "etcd"])
        _terminate(etcd)
        for path in volumes:
            shutil.rmtree(path, ignore_errors=True)

    def _hostpath_volumes(self) -> list[Path]:
        """Directories of this cluster's host-path PVs, which outlive it: the provisioner makes them under the
        machine-wide /tmp/hostpath_pv, and namespaces deleted without waiting leave their PVs behind."""
        status, body = self._api("GET", "/api/v1/persistentvolumes")
        if status != 200:
            return []
        paths = [Path(pv["spec"].get("hostPath", {}).get("path", "")) for pv in json.loads(body)["items"]]
        return [p for p in paths if p.parent == HOSTPATH_PV_DIR]

    def _start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        pki = make_pki(self.workdir / "pki")
        self._ssl = ssl.create_default_context(cafile=str(pki.ca_cert))
        self._ssl.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
        etcd_port, peer_port, api_port = _free_ports(3)
        self.server = f"https://127.0.0.1:{api_port}"
        self._write_kubeconfig(pki)
        stages = self.workdir / "kwok-stages.yaml"
        stages.write_text(kwok_stages_config())

        etcd_url = f"http://127.0.0.1:{etcd_port}"
        peer_url = f"http://127.0.0.1:{peer_port}"
        self._spawn("etcd", [str(self.etcd), "--name=mlstack-test", f"--data-dir={self.workdir / 'etcd'}",
                             f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
                             f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
                             f"--initial-cluster=mlstack-test={peer_url}", "--unsafe-no-fsync", "--logger=zap"])
        self._wait("etcd healthy", lambda: b'"true"' in _get(f"{etcd_url}/health", None)[1], 30, "etcd")
        self._spawn("kube-apiserver", self._apiserver_args(pki, etcd_url, api_port))
        self._wait("kube-apiserver /readyz", lambda: self._api("GET", "/readyz")[0] == 200, self.ready_timeout,
                   "kube-apiserver", detail=lambda: _failing_checks(self._api("GET", "/readyz?verbose")[1]))
        kubeconfig = f"--kubeconfig={self.kubeconfig}"
        self._spawn("kube-controller-manager", [
            self._bin("kube-controller-manager"), kubeconfig, "--secure-port=0", "--leader-elect=false",
            f"--service-account-private-key-file={pki.sa_key}", f"--root-ca-file={pki.ca_cert}",
            f"--cluster-signing-cert-file={pki.ca_cert}", f"--cluster-signing-key-file={pki.ca_key}",
            "--enable-hostpath-provisioner=true"])
        # kwok does not schedule: without the scheduler pods stay Pending.
        self._spawn("kube-scheduler", [self._bin("kube-scheduler"), kubeconfig, "--secure-port=0",
                                       "--leader-elect=false"])
        # Node leases are off in the kwok binary by default; without them its heartbeat stage (every 10-20 min)
        # is too rare, the node lifecycle controller marks the Node Unknown every ~50 s (pods NotReady, taints)
        # and kwok sets it Ready again.
        self._spawn("kwok", [self._bin("kwok"), kubeconfig, f"--config={stages}", "--manage-all-nodes=false",
                             f"--manage-nodes-with-annotation-selector={'='.join(NODE_ANNOTATION)}",
                             "--node-ip=127.0.0.1", "--cidr=10.244.0.0/16", "--node-lease-duration-seconds=40"])
        self._bootstrap()

    def _apiserver_args(self, pki: Pki, etcd_url: str, port: int) -> list[str]:
        return [
            self._bin("kube-apiserver"), f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={port}",
            f"--tls-cert-file={pki.server_cert}", f"--tls-private-key-file={pki.server_key}",
            f"--client-ca-file={pki.ca_cert}", f"--cert-dir={self.workdir / 'apiserver-certs'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.sa_pub}", f"--service-account-signing-key-file={pki.sa_key}",
            "--service-cluster-ip-range=10.0.0.0/24",
            # A loopback advertise address would otherwise log an endpoint-reconcile error every 10 s.
            "--endpoint-reconciler-type=none",
            "--authorization-mode=Node,RBAC",
            # Privileged pods must reach admission, so that PodSecurity (on by default) is what refuses them.
            "--allow-privileged=true",
            # With WatchList on, the server turns every watch from resourceVersion 0 into a watch-list stream, which
            # needs etcd's RequestWatchProgress (not in Debian's etcd 3.4): such watches end at once with an error.
            # kwok watches that way, so it saw new pods only at each relist, later and later (measured: pods Ready
            # after 0.2 s, 0.8 s, 3.7 s, 6.5 s, 19 s, 45 s). Off, clients fall back to list+watch.
            "--feature-gates=WatchList=false",
        ]

    def _bootstrap(self) -> None:
        """The objects a kubelet and a cluster installer would make: the Node, the default StorageClass."""
        node = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": NODE_NAME, "annotations": {NODE_ANNOTATION[0]: NODE_ANNOTATION[1]},
                             "labels": {"kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux",
                                        "kubernetes.io/arch": "amd64", "type": "kwok"}},
                "status": {"capacity": NODE_RESOURCES, "allocatable": NODE_RESOURCES}}
        self._create("/api/v1/nodes", node)
        self._create("/apis/storage.k8s.io/v1/storageclasses", {
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": STORAGE_CLASS,
                         "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "kubernetes.io/host-path", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"})
        self._wait(f"Node {NODE_NAME} Ready and untainted", self._node_ready, 60, "kwok", "kube-controller-manager",
                   detail=lambda: self._api("GET", f"/api/v1/nodes/{NODE_NAME}")[1].decode(errors="replace")[-3000:])
        self._wait("ServiceAccount default/default",
                   lambda: self._api("GET", "/api/v1/namespaces/default/serviceaccounts/default")[0] == 200, 60,
                   "kube-controller-manager")

    def _node_ready(self) -> bool:
        """Ready, and rid of the not-ready taint the API server puts on new Nodes (pods would wait for that)."""
        status, body = self._api("GET", f"/api/v1/nodes/{NODE_NAME}")
        if status != 200:
            return False
        node = json.loads(body)
        ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in node.get("status", {}).get("conditions", []))
        return ready and not node.get("spec", {}).get("taints")

    # -- helpers for tests ---------------------------------------------------------------------------------------

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run the built kubectl against this control plane; raise KubectlError (with stderr) if `check`."""
        cmd = [self._bin("kubectl"), f"--kubeconfig={self.kubeconfig}", f"--context={self.context}", *args]
        done = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise KubectlError(done.returncode, cmd, done.stdout, done.stderr)
        return done

    def rss_bytes(self) -> dict[str, int]:
        """Resident memory of each running component (from /proc), to keep an eye on what the tests cost."""
        out = {}
        for p in self._processes:
            try:
                status = Path(f"/proc/{p.popen.pid}/status").read_text()
            except OSError:
                continue
            match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
            out[p.name] = int(match.group(1)) * 1024 if match else 0
        return out

    # -- internals -----------------------------------------------------------------------------------------------

    def _bin(self, name: str) -> str:
        return str(self.binaries / name)

    def _spawn(self, name: str, args: list[str]) -> None:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            argv = [SETPRIV, "--pdeathsig", "KILL", "--", *args] if SETPRIV else args
            popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                     cwd=self.workdir, start_new_session=True)
        self._processes.append(_Process(name, popen, log))

    def _wait(self, what: str, ready: Callable[[], bool], timeout: float, *logs: str,
              detail: Callable[[], str] | None = None) -> None:
        """Poll `ready` until true; fail early if any component exits, and on timeout with the tails of `logs`
        (and `detail()`, the state seen last)."""
        deadline = time.monotonic() + timeout
        while True:
            for p in self._processes:
                status = p.exit_status()
                if status is not None:
                    raise ControlPlaneError(f"{p.name} ended ({status}) while waiting for {what}\n{p.tail()}")
            if ready():
                return
            if time.monotonic() > deadline:
                tails = "\n".join(p.tail() for p in self._processes if p.name in logs)
                seen = f"\n--- last seen:\n{detail()}" if detail else ""
                raise ControlPlaneError(f"{what}: not within {timeout:g} s{seen}\n{tails}")
            time.sleep(0.1)

    def _api(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, bytes]:
        return _get(self.server + path, self._ssl, method, body)

    def _create(self, path: str, obj: dict[str, Any]) -> None:
        status, body = self._api("POST", path, obj)
        if status != 201:
            raise ControlPlaneError(f"creating {obj['kind']} {obj['metadata']['name']}: HTTP {status}: {body!r}")

    def _write_kubeconfig(self, pki: Pki) -> None:
        """Certificates embedded, so the file alone is enough (tools may copy it or read it as content)."""
        def b64(p: Path) -> str:
            return base64.b64encode(p.read_bytes()).decode()

        self.kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: {CONTEXT}\n  cluster:\n    server: {self.server}\n"
            f"    certificate-authority-data: {b64(pki.ca_cert)}\n"
            f"users:\n- name: {CONTEXT}-admin\n  user:\n    client-certificate-data: {b64(pki.admin_cert)}\n"
            f"    client-key-data: {b64(pki.admin_key)}\n"
            f"contexts:\n- name: {CONTEXT}\n  context:\n    cluster: {CONTEXT}\n    user: {CONTEXT}-admin\n"
            f"current-context: {CONTEXT}\n")
        self.kubeconfig.chmod(0o600)


def _get(url: str, context: ssl.SSLContext | None, method: str = "GET",
         body: dict[str, Any] | None = None) -> tuple[int, bytes]:
    """(HTTP status, body); status 0 when nothing answers yet."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, context=context, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def _failing_checks(readyz: bytes) -> str:
    """The `[-]` lines of /readyz?verbose: the checks the API server still fails."""
    lines = readyz.decode(errors="replace").splitlines()
    return "\n".join(line for line in lines if line.startswith("[-]")) or "\n".join(lines[-5:]) or "(no answer)"


def _terminate(processes: list[_Process]) -> None:
    """SIGTERM each process group, wait (bounded), SIGKILL what is left, and reap."""
    for p in processes:
        _killpg(p, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    while time.monotonic() < deadline and any(p.exit_status() is None for p in processes):
        time.sleep(0.05)
    for p in processes:
        _killpg(p, signal.SIGKILL)  # the stragglers, and whatever a leader left behind in its group
        p.popen.wait()


def _killpg(p: _Process, sig: signal.Signals) -> None:
    try:
        os.killpg(p.popen.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
