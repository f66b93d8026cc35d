"""Per-resource progress from the engine's event stream, printed to stderr."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

_DONE = {
    "create": "created",
    "update": "updated",
    "delete": "deleted",
    "refresh": "refreshed",
    "read": "read",
}
# A replacement in the plan's words: its new resource is created and its old one deleted, each when that happens.
# The engine's own `replace` step marks the switch between the two and takes no time: it is not shown.
_REPLACEMENT = {"create-replacement": ("create", "(replacement)"), "delete-replaced": ("delete", "(replaced)")}
_SILENT = {"same", "read", "refresh", "replace"}


class ProgressPrinter:
    """`planning`: the run changes nothing (preview, drift), so no resource is reported as created or updated;
    only the engine's warnings are shown and the plan is printed once at the end."""

    def __init__(self, emit: Callable[[str], None], planning: bool = False) -> None:
        self.emit = emit
        self.planning = planning
        self.started: dict[str, float] = {}

    def on_event(self, event: Any) -> None:
        pre = getattr(event, "resource_pre_event", None)
        out = getattr(event, "res_outputs_event", None)
        failed = getattr(event, "res_op_failed_event", None)
        diag = getattr(event, "diagnostic_event", None)
        if self.planning and (pre is not None or out is not None):
            return
        if pre is not None:
            meta = pre.metadata
            if _op(meta) in _SILENT or meta.type.startswith("pulumi:"):
                return
            word, note = _REPLACEMENT.get(_op(meta), (_op(meta), ""))
            self.started[meta.urn + _op(meta)] = time.monotonic()
            self.emit(f"  {_kept_or(meta, word):<8} {_label(meta)}{' ' + note if note else ''}")
        elif out is not None:
            meta = out.metadata
            if _op(meta) in _SILENT or meta.type.startswith("pulumi:"):
                return
            word, note = _REPLACEMENT.get(_op(meta), (_op(meta), ""))
            took = time.monotonic() - self.started.pop(meta.urn + _op(meta), time.monotonic())
            done = _kept_or(meta, _DONE.get(word, word))
            self.emit(f"  {done:<8} {_label(meta)}{' ' + note if note else ''} ({took:.1f}s)")
        elif failed is not None:
            meta = failed.metadata
            self.emit(f"  failed   {_label(meta)}")
        elif diag is not None and diag.severity == "warning" and diag.message.strip():
            # Errors are not echoed here: the command's final error message carries them once.
            # The shim is found on PATH by design (see engine/shim.py): that warning is expected noise.
            if "has failed" not in diag.message and "pulumi-resource-pulumi-python from $PATH" not in diag.message:
                self.emit(f"  {diag.severity}: {diag.message.strip()}")


def _label(meta: Any) -> str:
    name = meta.urn.rsplit("::", 1)[-1]
    return f"{name} [{meta.type}]"


def _kept_or(meta: Any, word: str) -> str:
    """A delete of a resource marked retain-on-delete leaves it in place (its data is kept): say so."""
    retained = meta.old is not None and meta.old.retain_on_delete
    return ("kept" if word == "deleted" else "keep") if retained and _op(meta) == "delete" else word


def _op(meta: Any) -> str:
    return getattr(meta.op, "value", meta.op)
