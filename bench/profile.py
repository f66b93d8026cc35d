"""Where the time of an engine verb goes: local `deploy` (fresh home), a no-op redeploy, and `destroy`, split into
phases from timestamps taken inside mlstack's own process (each verb in a fresh process, as a user runs it).

phase            from                                      to
python+imports   the process starts                        mlstack's engine layer is imported
mlstack before   that                                      mlstack hands the engine the operation (recipe read,
                                                           preflight, runtimes checked, stack selected)
engine start     that                                      the engine's first event (CLI start, backend read,
                                                           language host and plugins up)
refresh          that                                      the last resource the refresh read (dynamic provider
                                                           start, one read per resource)
program+update   that                                      the engine's summary (the program registers the
                                                           resources; creates, updates, deletes)
engine exit      that                                      the Automation API call returns (CLI exit; outputs)
mlstack after    that                                      the verb returns (client files, runtime prune)

The program's own run (stacks/program.py, in this process) is reported beside, as `program`. Medians of --rounds.
Runtimes and the engine must be installed (`make install`).

    .venv/bin/python bench/profile.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHASES = (
    "python+imports",
    "mlstack before",
    "engine start",
    "refresh",
    "program+update",
    "engine exit",
    "mlstack after",
)
VERBS = ("deploy", "no-op", "destroy")


def child(verb: str) -> None:
    """Run one verb in this process with probes; print {phase: seconds} as JSON on stdout."""
    imported = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    from mlstack.engine import operations as ops
    from mlstack.engine import workspace
    from mlstack.home import Home
    from mlstack.stacks import program as program_module

    marks: dict[str, float] = {"imported": time.perf_counter()}
    marks["python"] = imported  # perf_counter at the first line of this function: the interpreter's own start-up
    original_events = workspace.StackSession._events

    def events(self, also=None):
        marks.setdefault("engine call", time.perf_counter())

        def probe(event) -> None:
            now = time.perf_counter()
            if getattr(event, "prelude_event", None) is not None:
                marks.setdefault("first event", now)
            done = getattr(event, "res_outputs_event", None)
            if done is not None and getattr(done.metadata.op, "value", done.metadata.op) == "refresh":
                marks["refreshed"] = now
            if getattr(event, "summary_event", None) is not None:
                marks["summary"] = now
            if also is not None:
                also(event)

        return original_events(self, probe)

    workspace.StackSession._events = events
    original_make = program_module.make_program

    def make_program(*args, **kwargs):
        inner = original_make(*args, **kwargs)

        def timed() -> None:
            marks.setdefault("program start", time.perf_counter())
            inner()
            marks["program end"] = time.perf_counter()

        return timed

    program_module.make_program = make_program  # operations.session imports it at call time
    home = Home.from_env()
    ref = ops.StackRef(
        ROOT / "recipes" / "local.yaml" if verb != "destroy" else None, "local" if verb == "destroy" else None
    )
    original_session = ops.session

    def session(*args, **kwargs):
        s = original_session(*args, **kwargs)
        for name in ("up", "destroy"):
            method = getattr(s, name)

            def wrapped(*a, _method=method, **k):
                result = _method(*a, **k)
                marks["engine returned"] = time.perf_counter()
                return result

            setattr(s, name, wrapped)
        return s

    ops.session = session
    if verb == "destroy":
        ops.destroy(home, ref, False, lambda _line: None)
    else:
        ops.deploy(home, ref, lambda _line: None)
    marks["end"] = time.perf_counter()
    print(json.dumps(marks))
    import gc

    gc.freeze()  # as `mlstack.cli.main` does: the interpreter exits without rescanning what it imported


def phases(marks: dict[str, float], wall: float) -> dict[str, float]:
    """The phases of one run; `wall` is the whole process as the parent measured it."""
    end = marks["end"]
    refreshed = marks.get("refreshed", marks.get("first event", marks["engine call"]))
    return {
        "python+imports": wall - (end - marks["python"]) + (marks["imported"] - marks["python"]),
        "mlstack before": marks["engine call"] - marks["imported"],
        "engine start": marks.get("first event", marks["engine call"]) - marks["engine call"],
        "refresh": refreshed - marks.get("first event", marks["engine call"]),
        "program+update": marks.get("summary", refreshed) - refreshed,
        "engine exit": marks["engine returned"] - marks.get("summary", refreshed),
        "mlstack after": end - marks["engine returned"],
        "program": marks.get("program end", 0.0) - marks.get("program start", 0.0),
        "total": wall,
    }


def run(verb: str, env: dict[str, str]) -> dict[str, float]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", verb],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{verb} failed:\n{proc.stderr[-3000:]}")
    return phases(json.loads(proc.stdout.strip().splitlines()[-1]), wall)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=VERBS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    from cli import compiled  # bench/: this script's directory

    compiled()  # measured as installed: see bench/cli.py
    sys.path.insert(0, str(ROOT / "bench"))
    from local import fresh_home

    results: dict[str, list[dict[str, float]]] = {v: [] for v in VERBS}
    for i in range(args.rounds):
        with fresh_home() as env:
            for verb in VERBS:
                results[verb].append(run(verb, env))
        print(f"round {i + 1} done", file=sys.stderr)
    columns = [*PHASES, "program", "total"]
    print(f"local target, seconds per phase, median of {args.rounds} rounds")
    print(f"{'verb':<10}" + "".join(f"{c:>16}" for c in columns))
    for verb in VERBS:
        med = {c: statistics.median(r[c] for r in results[verb]) for c in columns}
        print(f"{verb:<10}" + "".join(f"{med[c]:>16.2f}" for c in columns))


if __name__ == "__main__":
    main()
