"""A change plan (mlstack.plan/v1) for people: terminal lines, or a Markdown table fit for a pull-request comment."""

from __future__ import annotations

from typing import Any

from mlstack.cli.common import wrap
from mlstack.errors import clip, printable

SYMBOL = {
    "create": "+",
    "update": "~",
    "replace": "+-",
    "delete": "-",
    "import": "=",
    "changed": "~",
    "gone": "-",
}
MAX_ROWS = 200  # a PR comment holds 65,536 characters; the JSON plan keeps every step
MAX_NAMES = 6  # property names listed per step
DATA = "HOLDS DATA: the stack loses what it holds; deploy refuses this without --replace-data"


def _properties(step: dict[str, Any]) -> str:
    names = [n for n in step["changed"] if n not in step["replaceBecause"]]
    shown = ", ".join(names[:MAX_NAMES]) + (f", +{len(names) - MAX_NAMES} more" if len(names) > MAX_NAMES else "")
    parts = [DATA] if step.get("replacesData") else []
    parts += ["GOES DOWN: the old one is deleted before the new one starts"] if step.get("down") else []
    parts += [shown] if shown else []
    if step["replaceBecause"]:
        parts.append("replaced because " + ", ".join(step["replaceBecause"][:MAX_NAMES]) + " changed")
    return "; ".join(parts)


def summary_line(plan: dict[str, Any]) -> str:
    counts = plan["summary"]
    if not counts:
        return "in sync: no drift" if plan["mode"] == "drift" else "no changes"
    joiner = " drifted: " if plan["mode"] == "drift" else " to "
    down = [s["name"] for s in plan["steps"] if s.get("down")]
    outage = f"; {len(down)} go(es) down while replaced: {', '.join(down[:MAX_NAMES])}" if down else ""
    return ", ".join(f"{n}{joiner}{op}" for op, n in counts.items()) + outage


def data_line(plan: dict[str, Any]) -> str:
    """The loud part of a plan: what holds data and would be replaced or deleted."""
    held = plan.get("replacesData") or []
    if not held:
        return ""
    more = f", +{len(held) - MAX_NAMES} more" if len(held) > MAX_NAMES else ""
    return (
        f"DATA AT RISK: {len(held)} resource(s) holding the stack's data would be replaced or deleted "
        f"({', '.join(held[:MAX_NAMES])}{more}); deploy refuses this without --replace-data"
    )


def lines(plan: dict[str, Any]) -> list[str]:
    """One line per step (`+ create  name  [type]  (changed: ...)`), then the summary."""
    out = []
    for step in plan["steps"]:
        props = _properties(step)
        detail = f"  ({props})" if props else ""
        op = step["op"]
        out += wrap(printable(f"  {SYMBOL.get(op, '?'):<2} {op:<8} {step['name']}  [{step['type']}]{detail}"), 14)
    out += wrap(
        printable(f"{plan['mode']} plan of stack {plan['stack']!r} ({plan['target']}): {summary_line(plan)}"), 2
    )
    if data_line(plan):
        out += wrap(printable(data_line(plan)), 2)
    return out


def _cell(text: str, limit: int = 120) -> str:
    """A table cell: escaped, one line, no pipe or backtick that would break the table out of its code span."""
    return clip(printable(text), limit).replace("|", "\\|").replace("`", "'")


def markdown(plan: dict[str, Any]) -> str:
    mode = {"offline": "offline plan", "engine": "plan", "drift": "drift"}[plan["mode"]]
    head = [
        f"### mlstack {mode}: `{_cell(plan['stack'])}` ({_cell(plan['target'])})",
        "",
        f"**{_cell(summary_line(plan))}**",
        "",
        *([f"> **{_cell(data_line(plan), 1000).replace('*', '')}**", ""] if data_line(plan) else []),
    ]
    if not plan["steps"]:
        return "\n".join(head)
    rows = ["| | operation | resource | type | changes |", "|---|---|---|---|---|"]
    for step in plan["steps"][:MAX_ROWS]:
        op = step["op"]
        rows.append(
            f"| `{SYMBOL.get(op, '?')}` | {op} | `{_cell(step['name'])}` | `{_cell(step['type'])}` | "
            f"{_cell(_properties(step))} |"
        )
    if len(plan["steps"]) > MAX_ROWS:
        rows.append(f"| | | … and {len(plan['steps']) - MAX_ROWS} more | | |")
    return "\n".join([*head, *rows, ""])
