"""Render a recipe's jinja2 template in the sandbox (sandbox.py), keeping the file's line numbers and the
environment out of reach.

- Only the environment variables the template names as `env.NAME` (or `env['NAME']`) are handed to it: `{{ env }}`
  and every other use of `env` is refused before rendering, so no output or error can show the environment.
- Line numbers: each line of the template's own text carries a marker of its file line through rendering (NUL
  cannot be in a recipe file, so markers are unambiguous); rendered lines take their file line from the markers,
  which are then removed. Values made from template text (`{% set %}` blocks, macro results) are unmarked, so
  `x|int` or `x|length` see exactly what was written.
- Every failure, a limit included, is one `FILE:LINE: template: message` problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NoReturn

import jinja2
from jinja2 import nodes
from jinja2.visitor import NodeTransformer

from mlstack.errors import Problem, RecipeError, clip
from mlstack.recipe.sandbox import Meter, Sandbox, TemplateLimit

MAX_OUTPUT = 256 * 1024  # characters of rendered recipe, as for the file itself
MARK = re.compile("\x00([0-9]{1,9})\x00")


PLACEHOLDER = "mlstackvalue{}zq"  # what the second rendering writes for each value (letters and digits only)
PLACEHOLDERS = re.compile("mlstackvalue([0-9]{1,6})zq")


class Rendered(str):
    """The rendered text, with what `values_kept` needs: the same template rendered with each value the template
    outputs replaced by a placeholder (the recipe's structure as written), and those values in order."""

    shape: str
    values: list[str]


def render(text: str, filename: str, variables: Mapping[str, str], environ: Mapping[str, str]) -> tuple[str, list[int]]:
    """The rendered text and, for each of its lines, the file line it came from; RecipeError on any failure. The
    text is a `Rendered`: its `shape` is the same template with each output value replaced by a placeholder."""
    out, sources = _render(text, filename, variables, environ, None)
    values: list[str] = []
    shape, _ = _render(text, filename, variables, environ, values)
    rendered = Rendered(out)
    rendered.shape, rendered.values = shape, values
    return rendered, sources


def _render(
    text: str,
    filename: str,
    variables: Mapping[str, str],
    environ: Mapping[str, str],
    replaced: list[str] | None,
) -> tuple[str, list[int]]:
    """One rendering; with `replaced`, each value output by the template's own text (not inside a macro or a
    `{% set %}` block) is appended there and written as a placeholder instead."""
    env = Sandbox(Meter())
    env.filters["_unmark"] = _strip_marks

    def placed(value: Any) -> Any:
        if replaced is None:
            return value
        env.meter.check(value)  # before str(): a huge nested value is refused, not printed
        replaced.append(_strip_marks(value if isinstance(value, str) else str(value)))
        return PLACEHOLDER.format(len(replaced) - 1)

    env.filters["_out"] = placed
    try:
        tree = env.parse(text)
        names = _env_names(tree)
        _all_unset(tree, filename, variables, environ)
        tree = _Rewrite().visit(tree)
        tree.set_environment(env)
        template = env.template_class.from_code(env, env.compile(tree), env.make_globals(None), None)
        values = _Env({name: environ[name] for name in names if name in environ})
        out = template.render({**variables, "env": values})
    except RecipeError:
        raise  # every unset variable at once (_all_unset)
    except jinja2.TemplateSyntaxError as exc:
        _fail(filename, exc.lineno, exc.message or "syntax error")
    except jinja2.UndefinedError as exc:
        _fail(filename, _template_line(exc), _undefined(str(exc.message)))
    except TemplateLimit as exc:
        _fail(filename, _template_line(exc), f"{exc} (a limit of recipe templates)")
    except RecursionError as exc:
        _fail(filename, _template_line(exc), "nested or recursive too deeply (a macro that calls itself without end?)")
    except jinja2.TemplateError as exc:  # SecurityError from the sandbox, TemplateNotFound, ...
        _fail(filename, _template_line(exc), clip(str(exc), 120))
    except Exception as exc:  # 1/0, [].pop(), 1+'a', int('x'): the template's own runtime errors
        _fail(filename, _template_line(exc), clip(f"{type(exc).__name__}: {exc}", 120))
    rendered, sources = _unmark(out, text.count("\n") + 1)
    if len(rendered) > MAX_OUTPUT:
        _fail(filename, None, f"the template renders to more than {MAX_OUTPUT} characters")
    return rendered, sources


def _undefined(message: str) -> str:
    """jinja2's message, said for a recipe: an unset environment variable by name, a removed global as such."""
    env = re.fullmatch(r"'[\w.]*\b_Env object' has no attribute '(.*)'", message)
    if env:
        return f"environment variable {clip(env.group(1), 60)} is not set"
    if re.fullmatch(r"'(lipsum|cycler|joiner)' is undefined", message):
        return f"{message.split(chr(39))[1]}() is not available in recipe templates"
    return f"{message} (pass it with --var NAME=VALUE)"


def _fail(filename: str, line: int | None, message: str) -> NoReturn:
    raise RecipeError([Problem(filename, line, "", f"template: {message}")]) from None


def _template_line(exc: BaseException) -> int | None:
    """jinja2 rewrites tracebacks to the template's lines; the innermost template frame is where it failed."""
    import traceback

    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<template>"]
    return lines[-1] if lines else None


def _strip_marks(text: Any) -> str:
    return MARK.sub("", str(text))


def _unmark(out: str, file_lines: int) -> tuple[str, list[int]]:
    """Strip the line markers; a rendered line takes the first marker on it, else the line before's last one."""
    text, sources, current = [], [], 1
    for line in out.split("\n"):
        marks = [int(m) for m in MARK.findall(line) if 1 <= int(m) <= file_lines]
        sources.append(marks[0] if marks else current)
        current = marks[-1] if marks else current
        text.append(MARK.sub("", line) if "\x00" in line else line)
    return "\n".join(text), sources


class _Env:
    """`env` in a template: the named environment variables only; it cannot be listed or printed."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values

    def __getitem__(self, name: str) -> str:
        return self._values[name]

    def __iter__(self) -> Any:
        raise TypeError("the environment cannot be listed")

    def __repr__(self) -> str:
        return "<environment>"


def _all_unset(tree: nodes.Template, filename: str, variables: Mapping[str, str], environ: Mapping[str, str]) -> None:
    """Every variable the template needs and nobody set, in one run (rendering stops at the first): a --var the
    template reads, or an env.NAME, unless it is only used with `| default(...)` or tested with `is defined`."""
    guarded: set[int] = set()  # ids of nodes under a default filter or a defined test
    tested: set[str] = set()  # names a template tests with `is defined`: it handles their absence itself
    stack: list[nodes.Node] = [tree]
    while stack:
        node = stack.pop()
        if (isinstance(node, nodes.Filter) and node.name in ("default", "d")) or (
            isinstance(node, nodes.Test) and node.name in ("defined", "undefined")
        ):
            operand = node.node
            if operand is not None:
                guarded.update(id(n) for n in operand.find_all((nodes.Name, nodes.Getattr, nodes.Getitem)))
                guarded.add(id(operand))
            if isinstance(node, nodes.Test) and isinstance(operand, nodes.Name):
                tested.add(operand.name)
        stack.extend(node.iter_child_nodes())
    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    needed: dict[str, int] = {}
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load" and name.name not in ("env", *assigned, *tested) and id(name) not in guarded:
            if name.name not in variables and name.name not in GLOBALS:
                needed.setdefault(f"{name.name} is undefined (pass it with --var NAME=VALUE)", name.lineno)
    for access in tree.find_all((nodes.Getattr, nodes.Getitem)):
        base = getattr(access, "node", None)
        if isinstance(base, nodes.Name) and base.name == "env" and id(access) not in guarded:
            key = (
                access.attr
                if isinstance(access, nodes.Getattr)
                else getattr(getattr(access, "arg", None), "value", None)
            )
            if isinstance(key, str) and key not in environ:
                needed.setdefault(f"environment variable {clip(key, 60)} is not set", access.lineno)
    if len(needed) > 1:  # one alone: rendering reports it, with the same words
        problems = [Problem(filename, line, "", f"template: {what}") for what, line in needed.items()]
        raise RecipeError(sorted(problems, key=lambda p: p.line or 0))


# What a recipe template may use without defining it (jinja2's own globals the sandbox keeps).
GLOBALS = {"range", "dict", "namespace", "true", "false", "none", "True", "False", "None", "loop"}


def _env_names(tree: nodes.Template) -> set[str]:
    """Names the template reads as `env.NAME` or `env['NAME']`; any other use of `env` is refused."""
    for call in tree.find_all(nodes.Call):
        method = call.node
        if isinstance(method, nodes.Getattr) and isinstance(method.node, nodes.Name) and method.node.name == "env":
            raise jinja2.TemplateSyntaxError(
                f"`env.{method.attr}(...)` is not supported: read a variable as env.NAME, and give it a default "
                "as env.NAME | default('value')",
                call.lineno,
            )
    names: set[str] = set()
    stack: list[tuple[nodes.Node, nodes.Node | None]] = [(tree, None)]
    while stack:
        node, parent = stack.pop()
        if isinstance(node, nodes.Name) and node.name == "env" and node.ctx == "load":
            if isinstance(parent, nodes.Getattr) and parent.node is node:
                names.add(parent.attr)
            elif (
                isinstance(parent, nodes.Getitem)
                and parent.node is node
                and isinstance(parent.arg, nodes.Const)
                and isinstance(parent.arg.value, str)
            ):
                names.add(parent.arg.value)
            else:
                raise jinja2.TemplateSyntaxError(
                    "`env` can only be read as env.NAME (one variable at a time)", node.lineno
                )
        stack.extend((child, node) for child in node.iter_child_nodes())
    return names


class _Rewrite(NodeTransformer):
    """Adds line markers to the template's text and routes loops, `~` and literals through the meter; each value the
    template's own text outputs goes through `_out` (which the shape rendering replaces by a placeholder)."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = 0  # inside a macro, a call block or a `{% set %}` block: their output is a value, not text

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        self.generic_visit(node)
        if not self.inner:
            node.nodes = [
                child
                if isinstance(child, nodes.Const) and isinstance(child.value, str) and child.value.startswith("\x00")
                else _call("_out", child, child.lineno)
                for child in node.nodes
            ]
        return node

    def visit_TemplateData(self, node: nodes.TemplateData) -> nodes.Node:
        lines = node.data.split("\n")  # the text's first line starts at its lineno, which counts stripped whitespace
        data = "\n".join(f"\x00{node.lineno + i}\x00{line}" for i, line in enumerate(lines))
        return nodes.Const(data, lineno=node.lineno)  # a Const goes through `finalize`, which counts it

    def visit_AssignBlock(self, node: nodes.AssignBlock) -> nodes.Node:
        """`{% set x %}...{% endset %}` holds the text without markers (`x|int`, `x|length` see what was written)."""
        self.inner += 1
        self.generic_visit(node)
        self.inner -= 1
        if node.filter is None:
            node.filter = _call("_unmark", None, node.lineno)
        else:  # `{% set x | upper %}`: the innermost filter takes the block's text; give it the text unmarked
            inner = node.filter
            while isinstance(inner.node, nodes.Filter):
                inner = inner.node
            inner.node = _call("_unmark", None, node.lineno)
        return node

    def visit_Macro(self, node: nodes.Macro) -> nodes.Node:
        """A macro's (or call block's) result is a value, without markers; its lines count as the caller's."""
        self.inner += 1
        self.generic_visit(node)
        self.inner -= 1
        node.body = [nodes.FilterBlock(node.body, _call("_unmark", None, node.lineno), lineno=node.lineno)]
        return node

    visit_CallBlock = visit_Macro

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _call("_loop", node.iter, node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _call("_concat", nodes.List(node.nodes, lineno=node.lineno), node.lineno)

    def visit_List(self, node: nodes.Node) -> nodes.Node:
        self.generic_visit(node)
        return _call("_value", node, node.lineno)

    visit_Dict = visit_List

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:
        self.generic_visit(node)
        return _call("_value", node, node.lineno) if node.ctx == "load" else node

    def visit_Include(self, node: nodes.Node) -> nodes.Node:
        raise jinja2.TemplateSyntaxError(
            "include, import and extends are not available: a recipe is one file", node.lineno
        )

    visit_Import = visit_FromImport = visit_Extends = visit_Include


def _call(name: str, node: nodes.Node | None, lineno: int) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=lineno)
