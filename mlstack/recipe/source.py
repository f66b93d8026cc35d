"""Read a recipe file as text, bounded: regular files only, at most MAX_BYTES, UTF-8, no control characters.

A recipe can come from anywhere (a pull request, a CI variable, a path typed by mistake): a FIFO would block
forever, /dev/zero or /dev/urandom never end, so nothing but a regular file is ever opened for reading.
"""

from __future__ import annotations

import os
import re
import stat
from bisect import bisect_right
from pathlib import Path
from typing import NoReturn

from mlstack.errors import Problem, RecipeError

MAX_BYTES = 256 * 1024

# What YAML refuses to read (C0 controls but TAB/LF/CR, DEL, C1 controls, surrogates, U+FFFE/FFFF): checked here,
# so the message names the line and the character rather than an offset into the rendered template.
# Spelled as the refused set, not as the complement of YAML's printable set: the same characters (a test checks every
# code point), and its compile is a tenth of the other's on every start.
NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")

_KINDS = [
    (stat.S_ISDIR, "is a directory, not a recipe file"),
    (stat.S_ISFIFO, "is a FIFO (named pipe), not a regular file"),
    (stat.S_ISCHR, "is a character device, not a regular file"),
    (stat.S_ISBLK, "is a block device, not a regular file"),
    (stat.S_ISSOCK, "is a socket, not a regular file"),
]


def read_text(path: Path) -> str:
    """The file's text with line ends normalised to LF (so every stage counts lines alike), or a RecipeError."""
    shown = str(path)
    try:
        _refuse_special(shown, os.stat(path).st_mode)  # before opening: opening a FIFO or a device can block
        # O_NONBLOCK: should the path be swapped for a FIFO after the stat, open() still returns at once.
        fd = os.open(
            path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
        )
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            _refuse_special(shown, info.st_mode)
            if info.st_size > MAX_BYTES:
                _fail(shown, None, f"file is {info.st_size} bytes; a recipe may be at most {MAX_BYTES}")
            raw = f.read(MAX_BYTES + 1)  # never more than one byte past the limit, whatever the size claims
    except FileNotFoundError:
        _fail(shown, None, "no such file")
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        _fail(shown, None, f"cannot read: {getattr(exc, 'strerror', None) or exc}")
    if len(raw) > MAX_BYTES:
        _fail(shown, None, f"file is more than {MAX_BYTES} bytes; a recipe may be at most {MAX_BYTES}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        _fail(shown, line, f"not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})")
    return normalise(text)


def normalise(text: str) -> str:
    """LF line ends and no byte-order mark: jinja2, YAML and our line numbers then agree on every line."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def check_characters(text: str, filename: str, line_of: LineIndex | None = None) -> None:
    """Refuse NUL, ESC and the other characters YAML does not allow, naming the line (of the file, via `line_of`)."""
    found = NOT_TEXT.search(text)
    if found:
        index = line_of or LineIndex(text)
        column = found.start() - text.rfind("\n", 0, found.start())
        _fail(
            filename,
            index.line(found.start()),
            f"character U+{ord(found.group()):04X} (column {column}) is not allowed in a recipe",
        )


class LineIndex:
    """Character offset of the text that is parsed -> line of the recipe file (1-based).

    `source_lines[i]` is the file line that rendered line i came from (templates can add, drop or repeat lines);
    without it, rendered lines are the file's lines.
    """

    def __init__(self, text: str, source_lines: list[int] | None = None) -> None:
        self._starts = [m.start() for m in re.finditer("\n", text)]
        self._source = source_lines

    def line(self, offset: int) -> int:
        rendered = bisect_right(self._starts, offset - 1)  # newlines before `offset`
        if self._source is None:
            return rendered + 1
        return self._source[min(rendered, len(self._source) - 1)] if self._source else 1


def _refuse_special(shown: str, mode: int) -> None:
    for test, message in _KINDS:
        if test(mode):
            _fail(shown, None, message)
    if not stat.S_ISREG(mode):
        _fail(shown, None, "is not a regular file")


def _fail(filename: str, line: int | None, message: str) -> NoReturn:
    raise RecipeError([Problem(filename, line, "", message)])
