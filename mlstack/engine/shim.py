"""`pulumi-resource-pulumi-python`: the plugin the engine starts for Python dynamic providers.

It must re-exec the interpreter with `-u`: `pulumi.dynamic` prints its gRPC port without flushing, and on a
pipe the engine would wait for it forever. Installed as a console script next to the interpreter, so the
provider process imports mlstack from the same environment that pickled the provider.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.execv(sys.executable, [sys.executable, "-u", "-m", "pulumi.dynamic", *sys.argv[1:]])
