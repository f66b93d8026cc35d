"""The kubernetes target's speed, medians of N runs (issue 11's targets in brackets):

- `mlstack preview RECIPE --offline` and `mlstack render RECIPE` of each kubernetes recipe [<= 1.0 s each], beside
  `python -c pass` (the interpreter's own start) as the baseline;
- the floor a deploy could reach: server-side apply of the rendered manifests on the test control plane
  (tests/kube/controlplane.py) until every workload is Ready, beside applying one ConfigMap (kubectl's own cost);
- where the Pulumi kubernetes provider plugin is installed: `deploy` to all Ready [<= 1.5 x floor + 2 s], no-op
  redeploy [<= 2.5 s] and `destroy` [<= 5 s]. Without it those rows say why they were not measured.

    .venv/bin/python bench/kubernetes.py [--runs 3]   (needs `python -m tests.kube.build` and etcd-server)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cli import compiled, measure  # noqa: E402  (same measurement as bench/cli.py)

BIN = Path(sys.executable).parent
RECIPES = [ROOT / "recipes" / "kubernetes.yaml", ROOT / "recipes" / "kind.yaml"]


def median_of(runs: int, once) -> float:
    once()  # warm-up
    return statistics.median(once() for _ in range(runs))


def cli_rows(runs: int) -> None:
    cases = {"python -c pass (baseline)": [sys.executable, "-c", "pass"]}
    out = Path(tempfile.mkdtemp())
    for path in RECIPES:
        cases[f"preview --offline {path.name}"] = [str(BIN / "mlstack"), "preview", str(path), "--offline", "--json"]
        cases[f"render {path.name}"] = [str(BIN / "mlstack"), "render", str(path), "--out", str(out / path.stem)]
    base = None
    for name, argv in cases.items():
        seconds = median_of(runs, lambda: measure(argv)[0])
        base = base or seconds
        print(f"{name:<40} {seconds:>8.3f} s  {seconds / base:>6.1f} x baseline")


def apply_rows(runs: int) -> float:
    from tests.kube.controlplane import ControlPlane
    from tests.kube.test_manifests import generated_secrets, planned

    path = RECIPES[0]
    out = Path(tempfile.mkdtemp()) / "manifests"
    subprocess.run([str(BIN / "mlstack"), "render", str(path), "--out", str(out)], check=True, capture_output=True)
    secrets = json.dumps({"apiVersion": "v1", "kind": "List", "items": generated_secrets(planned(path))})
    namespace = "mlops"
    with ControlPlane(Path(tempfile.mkdtemp())) as cp:
        def configmap() -> float:
            start = time.monotonic()
            cp.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe", "namespace": "default"}}))
            return time.monotonic() - start

        def stack() -> float:
            start = time.monotonic()
            cp.kubectl("apply", "--server-side", "-f", str(next(out.glob("*-namespace-*.yaml"))))
            cp.kubectl("wait", "--for=create", "serviceaccount/default", "-n", namespace, "--timeout=60s")
            cp.kubectl("apply", "--server-side", "-f", "-", input=secrets)
            cp.kubectl("apply", "--server-side", "-k", str(out))
            for kind in ("deployment", "statefulset"):
                cp.kubectl("-n", namespace, "wait", "--for=jsonpath={.status.readyReplicas}=1", kind, "--all",
                           "--timeout=120s")
            cp.kubectl("-n", namespace, "wait", "--for=condition=complete", "job", "--all", "--timeout=120s")
            elapsed = time.monotonic() - start
            cp.kubectl("delete", "-k", str(out), "--wait=true", "--timeout=120s")
            return elapsed

        base = median_of(runs, configmap)
        floor = median_of(runs, stack)
    print(f"{'apply one ConfigMap (baseline)':<40} {base:>8.3f} s")
    print(f"{'apply ' + path.name + ' until all Ready':<40} {floor:>8.3f} s  {floor / base:>6.1f} x baseline  (the floor)")
    return floor


def engine_rows(floor: float, runs: int) -> None:
    """deploy to all Ready, no-op redeploy and destroy through the engine, on a fresh control plane per run."""
    from mlstack import registry
    from mlstack.engine import plugins
    from mlstack.home import Home
    from tests.kube.controlplane import ControlPlane
    from tests.kube.plugin_home import link_plugin

    needs, prepared = registry.plugin_need("kubernetes"), Home.from_env()
    if plugins.installed(prepared, needs) is None:
        print(f"deploy / no-op redeploy / destroy: not measured — the kubernetes provider plugin "
              f"v{plugins.sdk_version(needs)} is not installed here (`mlstack doctor --fix` installs it)")
        return
    samples: dict[str, list[float]] = {"deploy": [], "redeploy": [], "destroy": []}
    for _ in range(runs):
        work = Path(tempfile.mkdtemp())
        with ControlPlane(work / "cp") as cp:
            home = work / "home"
            link_plugin(prepared.pulumi_home, home / "pulumi")
            # the engine mlstack built, as in a user's home (found by its stamp, not by running `pulumi version`)
            (home / "engine").mkdir(parents=True, exist_ok=True)
            (home / "engine" / prepared.engine_dir.name).symlink_to(prepared.engine_dir)
            recipe = work / "bench.yaml"
            recipe.write_text(RECIPES[0].read_text().replace("  namespace: mlops\n",
                                                             f"  namespace: mlops\n  context: {cp.context}\n"))
            env = {**os.environ, "KUBECONFIG": str(cp.kubeconfig), "MLSTACK_HOME": str(home),
                   "MLSTACK_RUNTIMES_DIR": str(prepared.runtimes_dir),
                   "PATH": f"{prepared.engine_dir / 'bin'}{os.pathsep}{os.environ['PATH']}"}
            for verb, argv in (("deploy", ["deploy", str(recipe), "--yes"]), ("redeploy", ["deploy", str(recipe), "--yes"]),
                               ("destroy", ["destroy", "--stack", "mlops-k8s", "--yes"])):
                start = time.monotonic()
                subprocess.run([str(BIN / "mlstack"), *argv], env=env, check=True, capture_output=True, timeout=900)
                samples[verb].append(time.monotonic() - start)
    targets = {"deploy": 1.5 * floor + 2, "redeploy": 2.5, "destroy": 5.0}
    for verb, values in samples.items():
        median = statistics.median(values)
        print(f"{verb:<40} {median:>8.3f} s  {median / floor:>6.1f} x floor  (target <= {targets[verb]:.1f} s)")


def main() -> None:
    compiled()  # measured as installed: see bench/cli.py
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = max(3, parser.parse_args().runs)
    print(f"n={runs}, medians; {os.cpu_count()} cores")
    cli_rows(runs)
    engine_rows(apply_rows(runs), runs)


if __name__ == "__main__":
    main()
