"""`pulumi-resource-pulumi-python`: the plugin the engine starts for Python dynamic providers.

It re-execs the interpreter with `-u`: `pulumi.dynamic` prints its gRPC port without flushing, and on a pipe
the engine would wait for it forever. Before the provider runs, a watchdog thread is started that ends the
provider when the engine that started it is gone: if mlstack or the Pulumi CLI is killed mid-update, the
provider would otherwise wait for a dead engine forever. Installed as a console script next to the interpreter,
so the provider imports mlstack from the same environment that pickled it.
"""

from __future__ import annotations

import os
import sys

BOOTSTRAP = """
import atexit, gc, os, runpy, sys, threading, time
atexit.register(gc.freeze)
parent = os.getppid()
def watch():
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)
threading.Thread(target=watch, name="engine-watchdog", daemon=True).start()
sys.argv = ["pulumi.dynamic", *sys.argv[1:]]
runpy.run_module("pulumi.dynamic", run_name="__main__")
"""


def main() -> None:
    # -P: `-c` would put the working directory first on sys.path, and a checkout of mlstack there (another
    # version's sources) would be imported instead of the installed one
    os.execv(sys.executable, [sys.executable, "-u", "-P", "-c", BOOTSTRAP, *sys.argv[1:]])
