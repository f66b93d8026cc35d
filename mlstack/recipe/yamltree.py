"""YAML text -> plain dicts, lists and scalars that remember their lines, bounded whatever the YAML does.

Built from ruamel.yaml's event stream rather than its composer/constructor, so that:
- nesting is refused past MAX_DEPTH without recursion (the composer recurses: RecursionError at ~300 levels);
- every alias counts the values it expands to, wherever it appears (a duplicate key included), and the document
  is refused past MAX_NODES; a duplicate key is reported by name, never by expanding its value;
- explicit tags (`!!int abc`, `!!binary`, `!!python/...`) are refused, and integers are bounded before conversion;
- keys are strings: `1:`, `true:`, `? [a, b]` are refused with their line.
Plain scalars resolve by the YAML 1.2 core schema (ruamel's resolver): `yes`, `off` stay strings.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, NoReturn

from mlstack.errors import Problem, RecipeError, excerpt
from mlstack.recipe.source import LineIndex

MAX_DEPTH = 64  # a recipe nests about 5 deep
MAX_NODES = 20_000  # values after alias expansion: a real recipe has a few hundred
MAX_INT_CHARS = 32  # longer integer text is refused before int() (which is quadratic and capped at 4300 digits)
MERGE = "<<"
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f]")  # tab and newlines allowed


class Map(dict):
    """A mapping with the file line of each key."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[str, int] = {}


class Seq(list):
    """A sequence with the file line of each item."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[int] = []


class _Frame:
    """A mapping or sequence being built."""

    def __init__(self, node: Map | Seq, line: int, anchor: str | None, size: int) -> None:
        self.node, self.line, self.anchor, self.size_before = node, line, anchor, size
        self.key: Any = None  # the key waiting for its value (mappings)
        self.key_line = 0
        self.has_key = False
        self.merges: list[tuple[Any, int]] = []


class _Builder:
    def __init__(self, filename: str, lines: LineIndex) -> None:
        self.filename, self.lines = filename, lines
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, int]] = {}  # name -> (value, expanded size)
        self.open_anchors: set[str] = set()
        self.size = 0
        self.documents = 0
        self.root: Any = None

    def feed(self, event: Any) -> None:
        name = type(event).__name__
        line = self.lines.line(event.start_mark.index)
        if name == "DocumentStartEvent":
            self.documents += 1
            if self.documents > 1:
                self.fail(line, "", "a second YAML document; a recipe is one document (remove the `---`)")
        elif name == "AliasEvent":
            self.alias(event.anchor, line)
        elif name == "ScalarEvent":
            value = self.scalar(event, line)
            self.grow(1, line)
            if event.anchor:
                self.anchors[event.anchor] = (value, 1)
            self.add(value, line, plain=event.style is None)
        elif name in ("MappingStartEvent", "SequenceStartEvent"):
            self.check_tag(event, line)
            if len(self.stack) >= MAX_DEPTH:
                self.fail(line, self.path(), f"nested more than {MAX_DEPTH} levels deep")
            self.grow(1, line)
            node: Map | Seq = Map() if name == "MappingStartEvent" else Seq()
            if event.anchor:
                self.open_anchors.add(event.anchor)
            self.stack.append(_Frame(node, line, event.anchor, self.size - 1))
        elif name in ("MappingEndEvent", "SequenceEndEvent"):
            frame = self.stack.pop()
            if isinstance(frame.node, Map):
                self.merge(frame)
            if frame.anchor:
                self.open_anchors.discard(frame.anchor)
                self.anchors[frame.anchor] = (frame.node, self.size - frame.size_before)
            self.add(frame.node, frame.line, plain=False)

    def alias(self, anchor: str, line: int) -> None:
        if anchor in self.open_anchors:
            self.fail(
                line,
                self.path(),
                f"alias *{excerpt(anchor)[1:-1]} refers to a value that contains it (a recursive alias)",
            )
        if anchor not in self.anchors:
            self.fail(line, self.path(), f"alias *{excerpt(anchor)[1:-1]} is not defined above it")
        value, size = self.anchors[anchor]
        self.grow(size, line)
        self.add(value, line, plain=False)

    def grow(self, count: int, line: int) -> None:
        self.size += count
        if self.size > MAX_NODES:
            self.fail(
                line,
                self.path(),
                f"more than {MAX_NODES} values in the recipe, counting each repeat through YAML aliases",
            )

    def check_tag(self, event: Any, line: int) -> None:
        if event.tag is not None and str(event.tag) != "!":
            tag = str(event.tag).replace("tag:yaml.org,2002:", "!!")
            self.fail(
                line,
                self.path(),
                f"YAML tag {excerpt(tag)[1:-1]} is not supported in a recipe "
                "(write the value plainly; quote it to make it a string)",
            )

    def scalar(self, event: Any, line: int) -> Any:
        self.check_tag(event, line)
        control = CONTROL.search(event.value)
        if control:  # the file's characters are checked; an escape (`"\0"`, `"\e"`) can still make one
            self.fail(line, self.path(), f"a value holds control character U+{ord(control.group()):04X}")
        if event.style is not None or event.tag is not None:  # quoted, block or `!`: a string
            return event.value
        kind = _ruamel().resolve(event.value)
        if kind == "int":
            return self.integer(event.value, line)
        if kind == "float":
            return float(event.value.replace("_", "").lower().replace(".inf", "inf").replace(".nan", "nan"))
        if kind == "bool":
            return event.value.lower() == "true"
        return None if kind == "null" else event.value  # timestamps and the rest: strings, as in YAML 1.2's core schema

    def integer(self, text: str, line: int) -> int | str:
        digits = text.replace("_", "")
        if len(digits) > MAX_INT_CHARS:  # before int(), which is quadratic (and refuses 4300 digits with a traceback)
            self.fail(line, self.path(), f"integer of {len(digits)} characters is out of range")
        sign, digits = (-1 if digits.startswith("-") else 1), digits.lstrip("+-")
        base = {"0b": 2, "0o": 8, "0x": 16}.get(digits[:2], 10)
        body = digits[2:] if base != 10 else digits
        if not body:
            return text  # `0x_`: the resolver's pattern allows it, but it is no number
        value = sign * int(body, base)
        if not -(2**63) <= value < 2**63:
            self.fail(line, self.path(), f"integer {excerpt(text)} is out of range")
        return value

    def add(self, value: Any, line: int, plain: bool) -> None:
        if not self.stack:
            self.root = value
            return
        frame = self.stack[-1]
        if isinstance(frame.node, Seq):
            frame.node.append(value)
            frame.node.lines.append(line)
        elif not frame.has_key:
            self.key(frame, value, line, plain)
        else:
            if frame.key is _MERGE_KEY:
                frame.merges.append((value, line))
            else:
                frame.node[frame.key] = value
                frame.node.lines[frame.key] = frame.key_line
            frame.has_key = False

    def key(self, frame: _Frame, key: Any, line: int, plain: bool) -> None:
        if plain and key == MERGE:
            if frame.merges:
                self.fail(line, self.path(), "`<<` twice in one mapping: merge a list instead, `<<: [*a, *b]`")
            key = _MERGE_KEY
        elif not isinstance(key, str):
            what = {bool: "a boolean", int: "an integer", float: "a number", type(None): "null"}.get(type(key))
            if what is None:
                self.fail(line, self.path(), f"a key must be a string, not {excerpt(key)}")
            self.fail(line, self.path(), f"key {excerpt(key)} is {what}; keys are strings (quote it)")
        elif isinstance(frame.node, Map) and key in frame.node:
            self.fail(line, self.path(key), f"duplicate key (first at line {frame.node.lines[key]})")
        frame.key, frame.key_line, frame.has_key = key, line, True

    def merge(self, frame: _Frame) -> None:
        """`<<: *defaults` (or a list of them): keys not written in the mapping itself come from the merged ones."""
        for value, line in frame.merges:
            sources = value if isinstance(value, Seq) else [value]
            for source in sources:
                if not isinstance(source, Map):
                    self.fail(line, self.path(), "`<<` merges a mapping or a list of mappings")
                for k, v in source.items():
                    if k not in frame.node:
                        frame.node[k] = v
                        frame.node.lines[k] = source.lines[k]

    def path(self, last: Any = None) -> str:
        parts = []
        for frame in self.stack:
            if isinstance(frame.node, Seq):
                parts.append(f"[{len(frame.node)}]")
            elif frame.has_key and frame.key is not _MERGE_KEY:
                parts.append(f".{shown_key(frame.key)}")
        if last is not None:
            parts.append(f".{shown_key(last)}")
        if len(parts) > 8:  # deep nesting: the start and the end say where
            parts = [*parts[:4], "…", *parts[-1:]]
        return "".join(parts).lstrip(".")

    def fail(self, line: int, field: str, message: str) -> NoReturn:
        raise RecipeError([Problem(self.filename, line, field, message)])


_MERGE_KEY = object()


def shown_key(key: str) -> str:
    """A key as a field path shows it: quoted when blank or padded, so `FILE:LINE: path: message` stays readable."""
    return key if key.strip() == key and key else excerpt(key)


def parse(text: str, filename: str, lines: LineIndex) -> Any:
    """The single document in `text` (None if there is none); RecipeError with the file's line otherwise."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    builder = _Builder(filename, lines)
    try:
        for event in _ruamel().events(text):
            builder.feed(event)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        line = lines.line(mark.index) if mark else None
        raise RecipeError([Problem(filename, line, "", f"YAML: {message}")]) from None
    except YAMLError as exc:  # ReaderError and kin: characters are checked before, so rare
        raise RecipeError([Problem(filename, None, "", f"YAML: {(str(exc).splitlines() or ['error'])[0]}")]) from None
    return builder.root


class _Ruamel:
    """ruamel.yaml's parser (with tabs allowed where YAML allows them) and 1.2 resolver, imported on first use so the
    CLI starts fast."""

    def __init__(self) -> None:
        from ruamel.yaml import YAML
        from ruamel.yaml.nodes import ScalarNode
        from ruamel.yaml.resolver import VersionedResolver
        from ruamel.yaml.scanner import Scanner, ScannerError

        class BoundedScanner(Scanner):
            def scan_to_next_token(self) -> Any:
                """YAML allows a tab as separation inside a line (`name:<TAB>abc`), only not as indentation; ruamel
                refuses both in block context. Skip tabs that follow something on the same line, then go on."""
                reader = self.reader
                while True:
                    super().scan_to_next_token()
                    before = reader.buffer[reader.pointer - reader.column : reader.pointer]
                    if reader.peek() != "\t" or not before.strip():
                        return None
                    while reader.peek() in " \t":
                        reader.forward()

            def fetch_flow_collection_start(self, TokenClass: Any, to_push: str) -> None:
                """Every open `[`/`{` may start a key, and the scanner re-checks them all on each token: past
                MAX_DEPTH, stop here (at `[[[[...` 3000 deep it would otherwise scan for seconds first)."""
                if len(self.flow_context) >= MAX_DEPTH:
                    raise ScannerError(
                        None, None, f"flow collections nested more than {MAX_DEPTH} levels deep", self.reader.get_mark()
                    )
                super().fetch_flow_collection_start(TokenClass, to_push)

        self._yaml, self._scanner = YAML, BoundedScanner
        self._resolver, self._node = VersionedResolver(version=(1, 2)), ScalarNode

    def events(self, text: str) -> Any:
        yaml = self._yaml(typ="safe", pure=True)
        yaml.Scanner = self._scanner
        return yaml.parse(text)

    def resolve(self, plain: str) -> str:
        return str(self._resolver.resolve(self._node, plain, (True, False))).rsplit(":", 1)[-1]


@cache
def _ruamel() -> _Ruamel:
    return _Ruamel()
