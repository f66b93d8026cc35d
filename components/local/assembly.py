"""How the `local` target sets up a stack: nothing beyond the components, each a service process on 127.0.0.1 with
its files under the stack's home."""

from __future__ import annotations

from mlstack.components.context import StackContext


def setup(ctx: StackContext) -> tuple[None, None]:
    return None, None
