"""Read a recipe file into a validated `Recipe`, or fail with one `FILE:LINE: field: message` per problem.

Order: file checks -> jinja2 templating (`--var` and the environment) -> YAML (duplicate keys refused, alias
expansion bounded) -> flavor checks against the registry -> pydantic validation with errors mapped to lines.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any, Mapping

from pydantic import BaseModel, ValidationError

from mlstack import registry
from mlstack.errors import Problem, RecipeError
from mlstack.recipe import model as m

MAX_BYTES = 256 * 1024
MAX_NODES = 20_000  # after alias expansion: a real recipe has a few hundred


def load_recipe(path: str | Path, variables: Mapping[str, str] | None = None,
                environ: Mapping[str, str] | None = None) -> m.Recipe:
    path = Path(path)
    shown = str(path)
    if not path.exists():
        raise RecipeError([Problem(shown, None, "", "no such file")])
    if path.is_dir():
        raise RecipeError([Problem(shown, None, "", "is a directory, not a recipe file")])
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise RecipeError([Problem(shown, None, "", f"file is {size} bytes; a recipe may be at most {MAX_BYTES}")])
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise RecipeError([Problem(shown, line, "", f"not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})")])
    return load_recipe_text(text, shown, variables, environ)


def load_recipe_text(text: str, filename: str = "<recipe>", variables: Mapping[str, str] | None = None,
                     environ: Mapping[str, str] | None = None) -> m.Recipe:
    if not text.strip():
        raise RecipeError([Problem(filename, None, "", "file is empty; see `mlstack schema` for the format")])
    text = _render(text, filename, variables or {}, os.environ if environ is None else environ)
    data = _parse_yaml(text, filename)
    problems, unknown = _check_flavors(data, filename)
    for kind in unknown:
        data["components"].pop(kind)  # reported already; pydantic would only repeat it less clearly
    try:
        recipe = m.Recipe.model_validate(data)
    except ValidationError as exc:
        reported = {p.field for p in problems}
        for err in exc.errors():
            problem = _problem(err, data, filename)
            if problem.field not in reported and not (problems and err["type"] == "value_error" and not err["loc"]):  # the model's own flavor-on-target check repeats ours
                problems.append(problem)
    if not problems:
        problems = _target_problems(recipe, data, filename)
    if problems:
        raise RecipeError(sorted(problems, key=lambda p: (p.line or 0, p.field)))
    return recipe


def _target_problems(recipe: m.Recipe, data: dict, filename: str) -> list[Problem]:
    """What the recipe's target makes of its components: settings it does not take or requires, kinds a flavor
    needs, placement rules, and cloud names derived from the recipe name that the cloud refuses."""
    problems = []
    for kind, flavor in recipe.flavors().items():
        spec, where = recipe.component_specs()[kind], f"{flavor.name} on {flavor.target}"
        for field in sorted(spec.model_fields_set - {"flavor"}):
            if not flavor.accepts(field):
                problems.append(Problem(filename, _line_of(data, ("components", kind, field)),
                                        f"components.{kind}.{field}",
                                        f"not a setting of {where} (its settings: {', '.join(flavor.setting_names())})"))
        for field in flavor.required:
            if not getattr(spec, field):
                what = re.sub(r"^\([^)]*\)\s*", "", type(spec).model_fields[field].description or "").split(";")[0]
                problems.append(Problem(filename, _line_of(data, ("components", kind, field))
                                        or _line_of(data, ("components", kind, "flavor")),
                                        f"components.{kind}.{field}", f"required for {where}: {what.rstrip('.')}"))
        for needed in flavor.needs:
            if needed not in recipe.component_specs():
                problems.append(Problem(filename, _line_of(data, ("components", kind, "flavor")), f"components.{kind}",
                                        f"flavor {flavor.name!r} needs components.{needed} in the same recipe"))
    for kind, flavor in recipe.flavors().items():
        placement = recipe.target.model_dump(exclude={"type"})
        found = flavor.problems(recipe.component_specs()[kind], recipe.name, placement) if flavor.problems else []
        for field, message in found:
            name, _, index = field.partition("[")
            loc = ("components", kind, name, int(index.rstrip("]"))) if index else ("components", kind, name)
            problems.append(Problem(filename, _line_of(data, loc) or _line_of(data, ("name",)),
                                    f"components.{kind}.{field}", message))
    return problems


def _render(text: str, filename: str, variables: Mapping[str, str], environ: Mapping[str, str]) -> str:
    if "{{" not in text and "{%" not in text and "{#" not in text:
        return text  # no template: skip importing jinja2
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    try:
        template = env.from_string(text)
        return template.render({**variables, "env": dict(environ)})
    except jinja2.TemplateSyntaxError as exc:
        raise RecipeError([Problem(filename, exc.lineno, "", f"template: {exc.message}")]) from None
    except jinja2.UndefinedError as exc:
        line = _template_line(exc)
        hint = " (pass it with --var NAME=VALUE)" if "'env'" not in str(exc) else ""
        raise RecipeError([Problem(filename, line, "", f"template: {exc.message}{hint}")]) from None
    except jinja2.TemplateError as exc:  # SecurityError from the sandbox, filter errors, ...
        raise RecipeError([Problem(filename, _template_line(exc), "", f"template: {exc}")]) from None


def _template_line(exc: BaseException) -> int | None:
    import traceback

    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<template>"]
    return lines[-1] if lines else None


def _parse_yaml(text: str, filename: str) -> dict:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        data = YAML(typ="rt", pure=True).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise RecipeError([Problem(filename, mark.line + 1 if mark else None, "", f"YAML: {message}")]) from None
    except YAMLError as exc:
        raise RecipeError([Problem(filename, None, "", f"YAML: {exc}")]) from None
    if data is None:
        raise RecipeError([Problem(filename, None, "", "file has no content; see `mlstack schema` for the format")])
    if not isinstance(data, dict):
        what = "a list" if isinstance(data, list) else f"a scalar ({type(data).__name__})"
        raise RecipeError([Problem(filename, 1, "", f"top level is {what}; a recipe is a mapping (apiVersion, name, ...)")])
    for key in data:
        if _expanded_size(data[key], {}) > MAX_NODES:
            raise RecipeError([Problem(filename, _line_of(data, (key,)), str(key),
                                       f"expands to more than {MAX_NODES} values through YAML aliases")])
    return data


def _expanded_size(node: Any, memo: dict[int, int]) -> int:
    """Values reached when every alias is expanded; memoised, so a "billion laughs" costs microseconds."""
    if not isinstance(node, (dict, list)):
        return 1
    if id(node) not in memo:
        memo[id(node)] = 1  # guards against recursive aliases
        children = node.values() if isinstance(node, dict) else node
        memo[id(node)] = 1 + sum(_expanded_size(c, memo) for c in children)
    return memo[id(node)]


def _check_flavors(data: dict, filename: str) -> tuple[list[Problem], list[str]]:
    """Unknown flavors and combinations the target lacks, naming the flavors that do exist.

    Returns the problems and the kinds whose flavor exists nowhere (their settings cannot be checked).
    """
    components, target = data.get("components"), registry.expand_alias(data.get("target"))
    target_type = target.get("type") if isinstance(target, dict) else target
    if target_type not in registry.target_names():
        target_type = None  # reported by the model; flavors can still be checked for existence
    if not isinstance(components, dict):
        return [], []
    problems, unknown = [], []
    for kind, spec in components.items():
        if kind not in registry.KINDS or not isinstance(spec, dict) or not isinstance(spec.get("flavor"), str):
            continue
        flavor = spec["flavor"]
        anywhere = sorted({f.name for f in registry.flavors_for(kind=kind)})
        here = ", ".join(sorted(f.name for f in registry.flavors_for(target_type, kind))) or "none yet"
        if flavor not in anywhere:
            unknown.append(kind)
            message = f"unknown flavor {flavor!r}{_did_you_mean(flavor, anywhere)}"
            message += f" (on {target_type}: {here})" if target_type else f" (flavors: {', '.join(anywhere)})"
        elif target_type and not registry.lookup(target_type, kind, flavor):
            message = f"flavor {flavor!r} is not available on target {target_type!r} (on {target_type}: {here})"
        else:
            continue
        problems.append(Problem(filename, _line_of(data, ("components", kind, "flavor")),
                                f"components.{kind}.flavor", message))
    return problems, unknown


def _problem(err: dict, data: dict, filename: str) -> Problem:
    loc = tuple(err["loc"])
    message = err["msg"]
    if err["type"] == "union_tag_invalid" and loc == ("target",):
        tag = err["input"].get("type") if isinstance(err["input"], dict) else err["input"]
        loc, message = ("target", "type"), f"unknown target {tag!r}{_did_you_mean(str(tag), [*registry.target_names(), *registry.alias_names()])}"
    elif err["type"] == "union_tag_not_found" and loc == ("target",):
        loc, message = ("target", "type"), f"required field is missing (one of: {', '.join(registry.target_names())})"
    elif err["type"] == "extra_forbidden":
        message = f"unknown field{_did_you_mean(str(loc[-1]), _known_fields(loc[:-1], data))}"
    elif err["type"] == "missing":
        message = "required field is missing"
    elif err["type"] == "string_pattern_mismatch":
        pattern = err["ctx"]["pattern"]
        message = m.PATTERN_HINTS.get(pattern, f"must match {pattern}") + f", got {err['input']!r}"
    elif err["type"] == "value_error":
        message = message.removeprefix("Value error, ")
    return Problem(filename, _line_of(data, loc), _display_path(loc, data), message)


def _did_you_mean(word: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _walk(loc: tuple, data: Any) -> list[tuple[Any, Any]]:
    """(key, node) pairs along `loc` that exist in the data; union tags pydantic adds are skipped."""
    pairs, node = [], data
    for key in loc:
        if isinstance(node, dict) and key in node:
            pairs.append((key, node))
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            pairs.append((key, node))
            node = node[key]
    return pairs


def _line_of(data: Any, loc: tuple) -> int | None:
    line = None
    for key, parent in _walk(loc, data):
        lc = getattr(parent, "lc", None)
        if lc is not None:
            try:
                line = (lc.key(key) if isinstance(parent, dict) else lc.item(key))[0] + 1
            except (KeyError, TypeError, IndexError):
                pass
    return line


def _display_path(loc: tuple, data: Any) -> str:
    """`components.registry.port`, `tags[0]`: the user's keys, without the union tags pydantic adds."""
    walked = {id(parent): key for key, parent in _walk(loc, data)}
    parts, node = [], data
    for key in loc:
        if id(node) in walked and walked[id(node)] == key:
            parts.append(f"[{key}]" if isinstance(node, list) else f".{key}")
            node = node[key]
        elif node != key and key not in _union_tags(node):
            parts.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    return "".join(parts).lstrip(".")


def _union_tags(node: Any) -> set:
    """Extra loc elements pydantic inserts for discriminated unions and `mode="before"` validators."""
    return {node.get("flavor"), node.get("type"), "function-before[_target_shorthand(), tagged-union[...]]"} \
        if isinstance(node, dict) else set()


def _known_fields(parent: tuple, data: Any) -> list[str]:
    """Field names valid at `parent` (for "did you mean"), resolved through target type and flavor."""
    keys = [k for k, _ in _walk(parent, data)]
    model: type[BaseModel] | None = m.Recipe
    if keys[:1] == ["target"]:
        target = data.get("target")
        kind = target.get("type") if isinstance(target, dict) else target
        model = next((t for t in m.TargetSpec.__origin__.__args__ if t.model_fields["type"].annotation.__args__[0] == kind), None)
    elif keys[:1] == ["state"]:
        model = m.StateSpec
    elif keys[:1] == ["components"] and len(keys) == 1:
        model = m.components_model()
    elif keys[:1] == ["components"]:
        spec = data["components"].get(keys[1])
        flavor = spec.get("flavor") if isinstance(spec, dict) else None
        target = data.get("target")
        target = target.get("type") if isinstance(target, dict) else target
        here = registry.lookup(str(target), keys[1], str(flavor))
        if here is not None:
            return here.setting_names()
        model = next((f.settings for f in registry.flavors_for(kind=keys[1]) if f.name == flavor), None)
    return list(model.model_fields) if model else []
