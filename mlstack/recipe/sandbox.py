"""The jinja2 sandbox recipe templates run in: bounded in work, allocation, time, and what it offers.

jinja2's own SandboxedEnvironment stops access to Python internals, not cost: `'a'*10**8`, `'a'|center(10**9)`,
nested `range(99999)` loops or a doubling `~` run it out of memory or time. Here
- a Meter counts work (loop items, calls, filters, operators) and allocation (every value made, every piece output)
  against fixed budgets and a deadline;
- operations whose result can dwarf their inputs (`*`, `**`, `+`, `~`, `replace`, `indent`) are
  refused before they run when the result would be too big;
- only a short list of filters, globals and string methods is offered, each checked.
The template module rewrites loops, `~` and literals to pass through the meter (filters `_loop`, `_concat`, `_value`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.defaults import DEFAULT_FILTERS
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import Namespace, pass_context, pass_eval_context

MAX_VALUE = 256 * 1024  # characters (or items) of any one value the template makes
MAX_NESTING = 50  # depth of lists and dicts a template builds
MAX_ALLOC = 16 * 1024 * 1024  # characters made and output over the whole rendering
MAX_WORK = 100_000  # loop items + calls + filters + operators
MAX_RANGE = 10_000
MAX_INT_BITS = 4096
MAX_SECONDS = 2.0

# Filters a recipe may use; the int arguments of some are sizes, bounded here.
FILTERS = (
    "abs capitalize center count d default dictsort e escape filesizeformat first float indent int items join "
    "last length list lower map max min reject rejectattr replace reverse round select selectattr sort "
    "string title tojson trim truncate unique upper urlencode wordcount"
).split()
SIZE_ARGUMENTS = {"center": 1000, "indent": 1000, "round": 100, "tojson": 0, "truncate": MAX_VALUE}
ATTRIBUTES = {  # methods of plain values a template may call; everything else on them is refused
    str: set(
        "capitalize casefold count endswith find index isalnum isalpha isdigit islower isspace isupper lower "
        "lstrip partition removeprefix removesuffix replace rfind rindex rpartition rsplit rstrip split "
        "splitlines startswith strip title upper".split()
    ),
    dict: {"get", "items", "keys", "values"},
    list: {"count", "index"},
    tuple: {"count", "index"},
    bool: set(),
    int: set(),
    float: set(),
}


class TemplateLimit(Exception):
    """A bound of the sandbox was reached; the message says which."""


class Meter:
    """Work, allocation and time of one rendering, each with its budget."""

    def __init__(self) -> None:
        self.work = self.alloc = 0
        self.deadline = time.monotonic() + MAX_SECONDS

    def charge(self, work: int = 1, alloc: int = 0) -> None:
        self.work += work
        self.alloc += alloc
        if self.work > MAX_WORK:
            raise TemplateLimit(f"more than {MAX_WORK} loop iterations, calls and operations")
        if self.alloc > MAX_ALLOC:
            raise TemplateLimit(f"more than {MAX_ALLOC} characters made or output")
        if time.monotonic() > self.deadline:
            raise TemplateLimit(f"rendering takes more than {MAX_SECONDS:g} s")

    def check(self, value: Any) -> int:
        size = _size(value)
        if size > MAX_VALUE:
            raise TemplateLimit(f"a value of more than {MAX_VALUE} characters or items")
        return size

    def made(self, value: Any) -> Any:
        self.charge(alloc=self.check(value))
        return value

    def expect(self, size: int) -> None:
        """Refuse an operation before it runs when its result would be too big."""
        if size > MAX_VALUE:
            raise TemplateLimit(f"a value of more than {MAX_VALUE} characters or items")


def _size(value: Any) -> int:
    """Characters and items reachable from `value`, shared parts counted each time; stops past MAX_VALUE."""
    total, stack = 0, [(value, 0)]
    while stack and total <= MAX_VALUE:
        item, depth = stack.pop()
        if depth > MAX_NESTING:
            raise TemplateLimit(f"a value nested more than {MAX_NESTING} deep")
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, range):
            total += len(item)
        elif isinstance(item, (list, tuple, dict, Namespace)):
            items = object.__getattribute__(item, "_Namespace__attrs") if isinstance(item, Namespace) else item
            children = [*items.keys(), *items.values()] if isinstance(items, dict) else items
            total += 1 + len(children)
            stack.extend(
                (child, depth + 1)
                for child in children
                if isinstance(child, (str, list, tuple, dict, Namespace, range))
            )
        else:
            total += 1
    return total


class Sandbox(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, meter: Meter) -> None:
        super().__init__(
            undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False, finalize=self._finalize
        )
        self.meter = meter
        self.globals = {"range": self._range, "dict": dict, "namespace": Namespace}
        self.filters = {name: self._guard(name, DEFAULT_FILTERS[name]) for name in FILTERS}
        self.filters.update(_loop=self._loop, _concat=self._concat, _value=self._value)

    @pass_eval_context
    def _finalize(self, eval_ctx: Any, value: Any) -> str:
        self.meter.check(value)  # before str(): a huge nested value is refused, not printed
        text = str(value)
        self.meter.charge(alloc=len(text))
        return text

    def _range(self, *args: int) -> range:
        numbers = range(*args)
        try:
            count = len(numbers)
        except OverflowError:
            count = MAX_RANGE + 1
        if count > MAX_RANGE:
            raise TemplateLimit(f"range() of more than {MAX_RANGE} numbers")
        return numbers

    @pass_context
    def _loop(self, context: Any, iterable: Any) -> Any:
        for item in iterable:
            self.meter.charge()
            yield item

    @pass_context
    def _concat(self, context: Any, parts: list[Any]) -> str:
        self.meter.expect(sum(self.meter.check(part) for part in parts))
        return self.meter.made("".join(str(part) for part in parts))

    @pass_context
    def _value(self, context: Any, value: Any) -> Any:
        return self.meter.made(value)

    def _guard(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        limit = SIZE_ARGUMENTS.get(name)

        @functools.wraps(func)  # keeps jinja2's pass_context/pass_eval_context marks
        def guarded(*args: Any, **kwargs: Any) -> Any:
            positional = [a for a in args if not isinstance(a, _PASSED)]  # [value, arguments...]
            values = [*positional, *kwargs.values()]
            self.meter.charge()
            sizes = [self.meter.check(v) for v in values]
            numbers = [v for v in values[1:] if isinstance(v, int) and not isinstance(v, bool)]
            if limit is not None and any(n > limit for n in numbers):
                raise TemplateLimit(f"filter {name!r}: an argument above {limit}")
            if name == "replace" and len(values) >= 3:
                self.meter.expect(_replaced_size(*values[:3]))
            if name == "indent" and positional:  # every line gains the width: a narrow text can grow wide
                width = positional[1] if len(positional) > 1 else kwargs.get("width", 4)
                step = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
                self.meter.expect(sizes[0] + (str(positional[0]).count("\n") + 1) * step)
            return self.meter.made(func(*args, **kwargs))

        return guarded

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        self.meter.charge()
        if operator == "%" and isinstance(left, str):
            raise TemplateLimit("string formatting with % is not available; use ~ to join strings")
        sequences = (str, list, tuple)
        if operator == "+" and isinstance(left, sequences) and isinstance(right, sequences):
            self.meter.expect(self.meter.check(left) + self.meter.check(right))
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, sequences) and isinstance(count, int):
                    self.meter.expect(self.meter.check(seq) * max(count, 0))
        if isinstance(left, int) and isinstance(right, int):
            bits = (
                left.bit_length() + right.bit_length()
                if operator == "*"
                else left.bit_length() * right
                if operator == "**" and right > 0 and abs(left) > 1
                else 0
            )
            if bits > MAX_INT_BITS:
                raise TemplateLimit(f"an integer of more than {MAX_INT_BITS} bits")
        return self.meter.made(self.binop_table[operator](left, right))

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.meter.charge()
        for value in (*args, *kwargs.values()):
            self.meter.check(value)
        if getattr(obj, "__name__", "") == "replace" and isinstance(getattr(obj, "__self__", None), str):
            self.meter.expect(_replaced_size(obj.__self__, *args[:2]) if len(args) >= 2 else 0)
        return self.meter.made(super().call(context, obj, *args, **kwargs))

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        for kind, allowed in ATTRIBUTES.items():
            if isinstance(obj, kind):
                return attr in allowed
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> None:
        return None  # no str.format: its widths allocate freely; is_safe_attribute refuses it


_PASSED = (jinja2.runtime.Context, nodes.EvalContext, jinja2.Environment)  # what pass_context & co. add


def _replaced_size(text: Any, old: Any, new: Any) -> int:
    text, old, new = str(text), str(old), str(new)
    count = text.count(old) if old else len(text) + 1
    return len(text) + count * max(len(new) - len(old), 0)
