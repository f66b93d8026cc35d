"""The `mlstack ...` command lines a GitHub Actions workflow runs, each with the file and line it is on.

Every `run:` script is read (ruamel keeps each value's line), `\\` continuations are joined, each `${{ ... }}`
expression becomes one opaque word, and the script is split into shell words by shlex's POSIX rules. An `mlstack`
word counts where a command starts (start of line, after `;`, `&&`, `|`, `(`, `then`, an assignment, ...), so
`pip install mlstack` and `echo "mlstack deploy"` are not invocations; `$(...)` inside a quoted word is read too.
Its arguments run to the next operator or redirection. `$VARS` stay opaque words: only their count matters.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.S)
OPAQUE = "__EXPR__"  # what an expression becomes: one word whose value is unknown until the runner expands it
# Words after which a new command starts (besides operators): shell keywords and grouping.
COMMAND_STARTERS = {"if", "then", "else", "elif", "while", "until", "do", "time", "!", "{", "exec"}
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
OPERATOR_CHARS = set("();<>|&")


@dataclass(frozen=True)
class Script:
    file: Path
    line: int  # the file's line of the script's first line
    text: str


@dataclass(frozen=True)
class Invocation:
    file: Path
    line: int
    args: tuple[str, ...]  # the words after `mlstack`

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def __str__(self) -> str:
        return f"{self.where}: mlstack {' '.join(self.args)}"


def run_scripts(path: Path) -> list[Script]:
    """Every `run:` string of the workflow (steps of every job, wherever they sit in the document)."""
    document = YAML(typ="rt").load(path.read_text())
    return list(_scripts_in(document, path))


def _scripts_in(node: object, path: Path) -> Iterator[Script]:
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            if key == "run" and isinstance(value, str):
                line0, _ = node.lc.value(key)
                # A block scalar (`run: |`) starts on the line after its indicator.
                block = isinstance(value, (LiteralScalarString, FoldedScalarString))
                yield Script(path, line0 + (2 if block else 1), str(value))
            else:
                yield from _scripts_in(value, path)
    elif isinstance(node, CommentedSeq):
        for item in node:
            yield from _scripts_in(item, path)


def invocations(script: Script) -> list[Invocation]:
    found = []
    for line, text in _logical_lines(script):
        for words in _commands(_words(text, script, line)):
            found.append(Invocation(script.file, line, tuple(words)))
    return found


def workflow_invocations(path: Path) -> list[Invocation]:
    return [inv for script in run_scripts(path) for inv in invocations(script)]


def _logical_lines(script: Script) -> Iterator[tuple[int, str]]:
    """(line in the file, text) of each shell line: `\\` continuations joined, and a quote left open on one line
    closed on a later one, as the shell reads them."""
    lines = EXPRESSION.sub(OPAQUE, script.text).split("\n")
    i = 0
    while i < len(lines):
        start, buffer = i, lines[i]
        while True:
            if _continues(buffer) and i + 1 < len(lines):
                i += 1
                buffer = buffer[:-1] + " " + lines[i]
            elif not _quotes_closed(buffer) and i + 1 < len(lines):
                i += 1
                buffer = buffer + "\n" + lines[i]
            else:
                break
        yield script.line + start, buffer
        i += 1


def _continues(text: str) -> bool:
    trailing = len(text) - len(text.rstrip("\\"))
    return trailing % 2 == 1


def _quotes_closed(text: str) -> bool:
    try:
        _split(text)
    except ValueError:
        return False
    return True


def _split(text: str) -> list[str]:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def _words(text: str, script: Script, line: int) -> list[str]:
    try:
        return _split(text)
    except ValueError as exc:
        raise ValueError(f"{script.file}:{line}: cannot split this shell line into words ({exc}): {text!r}") from None


def _is_operator(word: str) -> bool:
    return bool(word) and set(word) <= OPERATOR_CHARS


def _commands(words: list[str]) -> Iterator[list[str]]:
    """The argument words of each `mlstack` command among `words`, including those inside `$(...)` of a word."""
    command_start = True
    for i, word in enumerate(words):
        if command_start and (word == "mlstack" or word.endswith("/mlstack")):
            yield _arguments(words[i + 1 :])
        for inner in _substitutions(word):
            yield from _commands(_split(inner))
        # `FOO=1 mlstack ...`: an assignment where a command starts leaves the command still to come
        command_start = (
            _is_operator(word) or word in COMMAND_STARTERS or (command_start and ASSIGNMENT.match(word) is not None)
        )


def _arguments(words: list[str]) -> list[str]:
    args = []
    for i, word in enumerate(words):
        if _is_operator(word):
            break
        # `2>&1`: the 2 is a file descriptor of the redirection that follows, not an argument
        if word.isdigit() and i + 1 < len(words) and _is_operator(words[i + 1]) and set(words[i + 1]) & set("<>"):
            break
        args.append(word)
    return args


def _substitutions(word: str) -> Iterator[str]:
    """The text of each `$(...)` in a word that shlex kept whole (inside double quotes)."""
    start = word.find("$(")
    while start != -1:
        depth, i = 0, start + 1
        while i < len(word):
            depth += {"(": 1, ")": -1}.get(word[i], 0)
            if depth == 0:
                break
            i += 1
        yield word[start + 2 : i]
        start = word.find("$(", i)
