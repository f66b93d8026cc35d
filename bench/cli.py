"""Start-up cost of the CLI: wall time and peak RSS of `mlstack --help` and `mlstack validate`, beside
`python -c pass` as the baseline, median of N runs each. Also checks neither imports Pulumi or a cloud SDK.

    .venv/bin/python bench/cli.py [--runs 9]

Target (issue 2): <= 0.25 s median each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HEAVY = ("pulumi", "pulumi_aws", "pulumi_gcp", "pulumi_azure_native", "pulumi_kubernetes", "boto3", "grpc")

CASES = {
    "python -c pass (baseline)": [sys.executable, "-c", "pass"],
    "mlstack --help": [str(BIN / "mlstack"), "--help"],
    "mlstack validate recipes/local.yaml": [str(BIN / "mlstack"), "validate", str(ROOT / "recipes" / "local.yaml")],
}


def compiled() -> None:
    """mlstack's modules compiled, as `make install` leaves them (and pip an installed wheel). Where
    PYTHONDONTWRITEBYTECODE is set (CI machines, this one), a module edited since is otherwise compiled again by
    every measured run: 0.05-0.1 s of `validate`, which is not what a user's installation pays."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", "mlstack", "components", "stacks"], cwd=ROOT,
                   stdout=subprocess.DEVNULL, check=True)


def measure(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one run of argv."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed")
    return wall, usage.ru_maxrss / 1024


def heavy_imports(args: list[str]) -> list[str]:
    code = ("import sys\nsys.argv=['mlstack', *%r]\nfrom mlstack.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('HEAVY:' + ','.join(m for m in %r if m in sys.modules))" % (args, HEAVY))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.splitlines()
    marker = [ln for ln in out if ln.startswith("HEAVY:")]
    if not marker:
        raise SystemExit("could not check imports")
    return [m for m in marker[-1].removeprefix("HEAVY:").split(",") if m]


def main() -> None:
    compiled()
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs
    results = {}
    for name, argv in CASES.items():
        measure(argv)  # warm the page cache
        samples = [measure(argv) for _ in range(runs)]
        results[name] = (statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples))
    base = results["python -c pass (baseline)"][0]
    print(f"{'case':<40} {'median s':>9} {'x baseline':>11} {'peak RSS MiB':>13}   (n={runs})")
    for name, (wall, rss) in results.items():
        print(f"{name:<40} {wall:>9.3f} {wall / base:>11.1f} {rss:>13.1f}")
    for args in (["--help"], ["validate", str(ROOT / "recipes" / "local.yaml")]):
        heavy = heavy_imports(args)
        print(f"heavy modules imported by `mlstack {args[0]}`: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
