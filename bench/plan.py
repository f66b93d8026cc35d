"""Offline plan of each recipe in recipes/ (every target: clouds, kubernetes, local): wall time and peak RSS of
`mlstack preview RECIPE --offline` and of `mlstack cost RECIPE` (the same plan, priced: target <= the preview + 0.2 s),
median of N runs, beside `python -c pass` as the baseline. Targets: clouds
<= 1.5 s and <= 250 MiB each (issue 5); kubernetes <= 1.0 s (issue 11, see also bench/kubernetes.py).

    .venv/bin/python bench/plan.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cli import compiled, measure  # noqa: E402  (same measurement as bench/cli.py)

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def recipes() -> list[Path]:
    """Every shipped recipe (found without importing mlstack: a big parent inflates children's RSS)."""
    return sorted((ROOT / "recipes").glob("*.yaml"))


def main() -> None:
    compiled()  # measured as installed: see bench/cli.py
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    cases = {"python -c pass (baseline)": [sys.executable, "-c", "pass"]}
    for path in recipes():
        cases[f"preview --offline {path.name}"] = [str(BIN / "mlstack"), "preview", str(path), "--offline", "--json"]
        # issue 18: `mlstack cost` <= the offline preview's time + 0.2 s (it prices the same plan)
        cases[f"cost {path.name}"] = [str(BIN / "mlstack"), "cost", str(path), "--json"]
    print(f"{'case':<40} {'median s':>9} {'peak RSS MiB':>13}   (n={runs}; clouds <= 1.5 s, <= 250 MiB; kubernetes <= 1.0 s)")
    for name, argv in cases.items():
        measure(argv)
        samples = [measure(argv) for _ in range(runs)]
        print(f"{name:<40} {statistics.median(s[0] for s in samples):>9.3f} "
              f"{statistics.median(s[1] for s in samples):>13.1f}")


if __name__ == "__main__":
    main()
