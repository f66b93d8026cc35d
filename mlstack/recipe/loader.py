"""Read a recipe file into a validated `Recipe`, or fail with one `FILE:LINE: field: message` per problem.

Order: file checks (source.py) -> jinja2 template in a bounded sandbox (template.py) -> YAML into values that
remember their file lines, bounded (yamltree.py) -> flavor checks against the registry -> pydantic validation with
errors mapped to lines. Every stage reports the file's own line numbers, whatever the template did to them.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from mlstack import registry
from mlstack.errors import Problem, RecipeError, excerpt
from mlstack.recipe import model as m
from mlstack.recipe import source, yamltree
from mlstack.recipe.source import MAX_BYTES, LineIndex
from mlstack.recipe.yamltree import MAX_NODES, Map, Seq, shown_key  # noqa: F401

MAX_PROBLEMS = 50  # more are summarised in one line: a generated recipe can have thousands


def load_recipe(
    path: str | Path, variables: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None
) -> m.Recipe:
    path = Path(path)
    return load_recipe_text(source.read_text(path), str(path), variables, environ)


def load_recipe_text(
    text: str,
    filename: str = "<recipe>",
    variables: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> m.Recipe:
    text = source.normalise(text)
    if len(text) > MAX_BYTES:
        raise RecipeError([Problem(filename, None, "", f"recipe is more than {MAX_BYTES} characters")])
    source.check_characters(text, filename)
    if not text.strip():
        raise RecipeError([Problem(filename, None, "", "file is empty; see `mlstack schema` for the format")])
    lines = LineIndex(text)
    templated: set[int] = set()  # the file's lines holding a template expression: their values are never echoed
    if "{{" in text or "{%" in text or "{#" in text:
        templated = {n for n, line in enumerate(text.splitlines(), 1) if "{{" in line or "{%" in line}
        from mlstack.recipe import template  # only templates pay for importing jinja2

        text, sources = template.render(text, filename, variables or {}, os.environ if environ is None else environ)
        lines = LineIndex(text, sources)
        source.check_characters(text, filename, lines)  # a --var value can carry control characters
    shape = getattr(text, "shape", None)
    try:
        data = _parse_yaml(text, filename, lines)
    except RecipeError as exc:
        if shape is not None and _parses(shape, filename):  # as written it parses: a value broke it
            _changed(filename, {}, (), exc.problems[0].line)
        raise
    if shape is not None:
        _values_kept(data, shape, text.values, filename)  # type: ignore[attr-defined]
    problems = _check_target(data, filename)
    flavor_problems, unknown = _check_flavors(data, filename)
    problems += flavor_problems
    try:
        recipe = m.validate(data)
    except ValidationError as exc:
        reported = {p.field for p in problems}
        for err in exc.errors(include_input=True, include_url=False):
            if tuple(err["loc"][:2]) in {("components", kind) for kind in unknown}:
                continue  # its flavor is reported already; pydantic would only repeat it less clearly
            problem = _problem(err, data, filename)
            if problem.field not in reported and not (
                problems and err["type"] == "value_error" and not err["loc"]
            ):  # the model's own flavor-on-target check repeats ours
                problems.append(problem)
    reported = {p.field for p in problems}
    problems += [p for p in _target_problems(data, filename) if p.field not in reported]
    if problems:
        if templated:
            problems = [_unechoed(p, data) if p.line in templated else p for p in problems]
        problems.sort(key=lambda p: (p.line or 0, p.field))
        if len(problems) > MAX_PROBLEMS:
            more = Problem(filename, None, "", f"{len(problems) - MAX_PROBLEMS} more problems not shown")
            problems = problems[:MAX_PROBLEMS] + [more]
        raise RecipeError(problems)
    return recipe


TEMPLATED = "(a value the template made)"


def _values_kept(data: Any, shape_text: str, values: list[str], filename: str) -> None:
    """A value a template outputs is a value: the recipe parses to the same structure as with a placeholder in its
    place, and the value arrives whole. A value with a newline, `#`, `: ` or a quote would otherwise add or cut
    keys, or end in a comment, silently."""
    from mlstack.recipe.template import PLACEHOLDERS

    try:
        shape = yamltree.parse(shape_text, filename, LineIndex(shape_text))
    except RecipeError:
        return  # the written structure itself does not parse: the rendered text's own errors say where

    def expected(written: Any) -> Any:
        if isinstance(written, str) and PLACEHOLDERS.search(written):
            whole = PLACEHOLDERS.fullmatch(written)
            value = values[int(whole.group(1))] if whole else None
            if value is not None and value.startswith('"') and value.endswith('"') and len(value) > 1:
                try:  # `{{ x | tojson }}`: a JSON string is a YAML double-quoted scalar of exactly the value
                    return json.loads(value)
                except ValueError:
                    pass
            return PLACEHOLDERS.sub(lambda m: values[int(m.group(1))], written)
        return written

    def same(got: Any, want: Any) -> bool:
        if isinstance(want, str) and not isinstance(got, str):  # a typed scalar: the value as YAML would read it
            if got is None:
                return want.strip() in ("", "~", "null", "Null", "NULL")
            if isinstance(got, bool):
                return want.strip().lower() == str(got).lower()
            try:
                return type(got)(want.strip().replace("_", "")) == got
            except ValueError:
                return False
        return bool(got == want)

    def structure(written: Any) -> Any:
        """A whole value that is JSON of a mapping or a list (`{{ {...} | tojson }}`): the structure it stands for."""
        whole = PLACEHOLDERS.fullmatch(written) if isinstance(written, str) else None
        if whole is None:
            return None
        try:
            decoded = json.loads(values[int(whole.group(1))])
        except ValueError:
            return None
        return decoded if isinstance(decoded, (dict, list)) else None

    def plain(node: Any) -> Any:
        if isinstance(node, Map):
            return {k: plain(v) for k, v in node.items()}
        if isinstance(node, Seq):
            return [plain(v) for v in node]
        return node

    def walk(got: Any, written: Any, path: tuple, line: int | None) -> None:
        if (decoded := structure(written)) is not None:  # a mapping or list written as JSON: a value, whole
            if plain(got) != decoded:
                _changed(filename, data, path, line)
            return
        if isinstance(written, Map):
            keys = [str(expected(k)) for k in written]
            if not isinstance(got, Map):
                _changed(filename, data, path, line)
            found = [str(k) for k in got]
            if found != keys:  # the first key the value added, cut or renamed
                at = next((i for i, (a, b) in enumerate(zip(found, keys, strict=False)) if a != b), len(keys))
                key = list(got)[min(at, len(found) - 1)] if found else None
                where = got.lines.get(key, line) if key is not None else line
                _changed(filename, data, (*path, key) if key is not None else path, where)
            for key, want in zip(got, written.values(), strict=True):
                walk(got[key], want, (*path, key), got.lines.get(key))
        elif isinstance(written, Seq):
            if not isinstance(got, Seq) or len(got) != len(written):
                _changed(filename, data, path, line)
            for index, (have, want) in enumerate(zip(got, written, strict=True)):
                walk(have, want, (*path, index), got.lines[index] if index < len(got.lines) else line)
        elif isinstance(got, (Map, Seq)) or not same(got, expected(written)):
            _changed(filename, data, path, line)

    walk(data, shape, (), 1)


def _parses(text: str, filename: str) -> bool:
    try:
        yamltree.parse(text, filename, LineIndex(text))
    except RecipeError:
        return False
    return True


def _changed(filename: str, data: Any, path: tuple, line: int | None) -> NoReturn:
    raise RecipeError(
        [
            Problem(
                filename,
                line,
                _display_path(path, data) if path else "",
                "a value from the template changed the recipe around it (a newline, '#', ': ' or a quote in it): "
                "write it as {{ value | tojson }}, which keeps any value one value",
            )
        ]
    )


def _unechoed(problem: Problem, data: Any) -> Problem:
    """The problem without the values of its line: they came from a template (--var, the environment), which may
    hold a secret, and an error message is no place to print it."""
    message = problem.message
    for value in _values_at(data, problem.line):
        for shown in sorted({excerpt(value), repr(value), repr(str(value))}, key=len, reverse=True):
            message = message.replace(shown, TEMPLATED)
    return Problem(problem.file, problem.line, problem.field, message)


def _values_at(node: Any, line: int | None) -> list[Any]:
    """The scalar values (and keys) the data holds at a line of the file."""
    found: list[Any] = []
    stack: list[Any] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Map):
            for key, value in current.items():
                if current.lines.get(key) == line:
                    found.append(key)
                    if not isinstance(value, (Map, Seq)):
                        found.append(value)
                stack.append(value)
        elif isinstance(current, Seq):
            for index, value in enumerate(current):
                if index < len(current.lines) and current.lines[index] == line and not isinstance(value, (Map, Seq)):
                    found.append(value)
                stack.append(value)
    return [v for v in found if v is not None and not isinstance(v, bool) and str(v) != ""]


def _target_problems(data: dict, filename: str) -> list[Problem]:
    """What the recipe's target makes of its components, beyond each model: kinds a flavor needs, placement rules,
    and cloud names derived from the recipe name that the cloud refuses. Read from the data as written, so they are
    reported with the model's own problems, not after them: a setting or placement that is itself invalid is left
    out of these checks (the model names it)."""
    target = m.target_of(data)
    components = data.get("components")
    if target is None or not isinstance(components, dict):
        return []
    flavors = {
        kind: found
        for kind, spec in components.items()
        if isinstance(spec, dict) and (found := registry.lookup(target, str(kind), str(spec.get("flavor"))))
    }
    problems = []
    for kind, flavor in flavors.items():
        for needed in flavor.needs:
            if needed not in components:
                problems.append(
                    Problem(
                        filename,
                        _line_of(data, ("components", kind, "flavor")),
                        f"components.{kind}",
                        f"flavor {flavor.name!r} needs components.{needed} in the same recipe",
                    )
                )
        for other, (allowed, why) in flavor.only_with.items():
            chosen = flavors[other].name if other in flavors else None  # a known flavor (an unknown one is named)
            if chosen is not None and chosen not in allowed:
                problems.append(
                    Problem(
                        filename,
                        _line_of(data, ("components", kind, "flavor")),
                        f"components.{kind}",
                        f"flavor {flavor.name!r} works with components.{other} of flavor {' or '.join(allowed)}, "
                        f"not {chosen!r}: {why}",
                    )
                )
    placement = _lenient(registry.target(target).placement, registry.expand_alias(data.get("target")))
    name = str(data["name"]) if isinstance(data.get("name"), str) else ""
    typed = {kind: _lenient(flavor.settings, components[kind]) for kind, flavor in flavors.items()}
    for kind, flavor in flavors.items():
        settings = typed[kind]
        if settings is None or (flavor.problems is None or placement is None) and flavor.alongside is None:
            continue
        try:
            broken = [
                *(flavor.problems(settings, name, placement) if flavor.problems and placement is not None else []),
                *(flavor.alongside(settings, typed) if flavor.alongside else []),
            ]
        except (AttributeError, KeyError, TypeError, ValueError):  # it reads a setting the model refused
            continue
        for field, message in broken:
            setting, _, index = field.partition("[")
            loc = ("components", kind, setting, int(index.rstrip("]"))) if index else ("components", kind, setting)
            problems.append(
                Problem(
                    filename, _line_of(data, loc) or _line_of(data, ("name",)), f"components.{kind}.{field}", message
                )
            )
    return problems


def _lenient(model: type[BaseModel], raw: Any) -> Any:
    """`model` with each field of `raw` that is valid on its own, the rest left at their defaults (or unset; an
    invalid one unset): what a rule beyond the model can still read when another field is wrong or missing."""
    if not isinstance(raw, dict):
        return None
    built = model.model_construct()
    for key, value in raw.items():
        if key in model.model_fields:
            try:
                model.__pydantic_validator__.validate_assignment(built, key, value)
            except ValidationError as exc:
                # a field whose own value is invalid is not its default either: a rule that reads it is left out
                # (AttributeError), not misled; a model-level rule that fails (loc ()) leaves the field as it was
                if any(error["loc"][:1] == (key,) for error in exc.errors()):
                    built.__dict__.pop(key, None)
            except AttributeError:  # a model-level rule read a field left out above
                continue
    return built


def _parse_yaml(text: str, filename: str, lines: LineIndex) -> Map:
    data = yamltree.parse(text, filename, lines)
    if data is None:
        raise RecipeError([Problem(filename, None, "", "file has no content; see `mlstack schema` for the format")])
    if not isinstance(data, Map):
        what = "a list" if isinstance(data, Seq) else f"a scalar ({type(data).__name__})"
        raise RecipeError(
            [Problem(filename, 1, "", f"top level is {what}; a recipe is a mapping (apiVersion, name, ...)")]
        )
    return data


def _check_target(data: Map, filename: str) -> list[Problem]:
    """A `target.type` that is not a string: reported here, and dropped, because the registry looks it up by value."""
    target = data.get("target")
    if not isinstance(target, Map) or "type" not in target or isinstance(target["type"], str):
        return []
    problem = Problem(
        filename,
        _line_of(data, ("target", "type")),
        "target.type",
        f"must be a string, not {excerpt(target['type'])} (one of: {', '.join(registry.target_names())})",
    )
    data["target"] = _without(target, ["type"])
    return [problem]


def _without(mapping: Map, keys: list[str]) -> Map:
    """A copy of `mapping` without `keys`, lines kept: the original may be shared through an alias."""
    copy = Map()
    for key, value in mapping.items():
        if key not in keys:
            copy[key], copy.lines[key] = value, mapping.lines[key]
    return copy


def _check_flavors(data: dict, filename: str) -> tuple[list[Problem], list[str]]:
    """Unknown flavors, flavors that are no string or missing, and combinations the target lacks, naming the
    flavors that do exist.

    Returns the problems and the kinds whose flavor is unusable (their settings cannot be checked).
    """
    components, target = data.get("components"), registry.expand_alias(data.get("target"))
    target_type = target.get("type") if isinstance(target, dict) else target
    if target_type not in registry.target_names():
        target_type = None  # reported by the model; flavors can still be checked for existence
    if not isinstance(components, dict):
        return [], []
    problems, unknown = [], []
    for kind, spec in components.items():
        if kind not in registry.KINDS or not isinstance(spec, dict):
            continue
        flavor, line = spec.get("flavor"), _line_of(data, ("components", kind, "flavor"))
        if isinstance(flavor, str) and target_type and registry.lookup(target_type, kind, flavor):
            continue  # the target offers it (every target's flavors are read only to name a problem)
        anywhere = sorted({f.name for f in registry.flavors_for(kind=kind)})
        here = ", ".join(sorted(f.name for f in registry.flavors_for(target_type, kind))) or "none yet"
        choices = f" (on {target_type}: {here})" if target_type else f" (flavors: {', '.join(anywhere)})"
        misspelt = next((k for k in spec if isinstance(k, str) and _did_you_mean(k, ["flavor"])), None)
        if "flavor" not in spec and misspelt is not None:
            unknown.append(kind)  # one problem, where it is written: `flavour: x` is the flavor misspelt
            line = _line_of(data, ("components", kind, misspelt))
            problems.append(
                Problem(filename, line, f"components.{kind}.{misspelt}", "unknown field (did you mean 'flavor'?)")
            )
            continue
        if "flavor" not in spec:
            unknown.append(kind)
            message, line = f"required field is missing{choices}", _line_of(data, ("components", kind))
        elif not isinstance(flavor, str):
            unknown.append(kind)
            message = f"must be a string, not {excerpt(flavor)}{choices}"
        elif flavor not in anywhere:
            unknown.append(kind)
            message = f"unknown flavor {excerpt(flavor)}{_did_you_mean(flavor, anywhere)}{choices}"
        elif target_type and not registry.lookup(target_type, kind, flavor):
            unknown.append(kind)  # the target's model has no such variant: pydantic would only repeat it
            message = f"flavor {flavor!r} is not available on target {target_type!r} (on {target_type}: {here})"
        else:
            continue
        problems.append(Problem(filename, line, f"components.{kind}.flavor", message))
    return problems, unknown


def _problem(err: ErrorDetails, data: dict, filename: str) -> Problem:
    loc = tuple(err["loc"])
    message = err["msg"]
    if err["type"] == "union_tag_invalid" and loc == ("target",):
        tag = err["input"].get("type") if isinstance(err["input"], dict) else err["input"]
        names = [*registry.target_names(), *registry.alias_names()]
        suggestion = _did_you_mean(str(tag), names) or f" (one of: {', '.join(names)})"
        loc, message = ("target", "type"), f"unknown target {excerpt(tag)}{suggestion}"
    elif err["type"] == "union_tag_not_found" and loc == ("target",):
        loc, message = ("target", "type"), f"required field is missing (one of: {', '.join(registry.target_names())})"
    elif err["type"] in ("union_tag_invalid", "union_tag_not_found"):  # another discriminated union (a cluster's)
        ctx = err.get("ctx", {})
        loc = (*loc, ctx.get("discriminator", "type").strip("'"))
        message = (
            f"unknown type {excerpt(ctx.get('tag'))} (one of: {ctx.get('expected_tags')})"
            if err["type"] == "union_tag_invalid"
            else "required field is missing"
        )
    elif err["type"] == "extra_forbidden" and (here := _elsewhere(loc, data)) is not None:
        settings = ", ".join(here.settings.model_fields)
        message = f"not a setting of {here.name} on {here.target} (its settings: {settings})"
    elif err["type"] == "extra_forbidden":
        message = f"unknown field{_did_you_mean(str(loc[-1]), _known_fields(loc[:-1], data))}"
    elif err["type"] == "missing" and (here := _flavor_at(loc, data)) is not None and len(loc) >= 3:
        what = (here.settings.model_fields[str(loc[-1])].description or "").split(";")[0].rstrip(".")
        message = f"required for {here.name} on {here.target}: {what}"
    elif err["type"] == "missing":
        message = "required field is missing"
    elif err["type"] == "string_pattern_mismatch":
        pattern = err["ctx"]["pattern"]
        message = m.PATTERN_HINTS.get(pattern, f"must match {pattern}") + f", got {excerpt(err['input'])}"
    elif err["type"] == "value_error":
        message = message.removeprefix("Value error, ")
    elif message.startswith("Input should be "):
        message = _plain(err)
    return Problem(filename, _line_of(data, loc), _display_path(loc, data), message)


PLAIN = {
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "float_parsing": "must be a number",
    "dict_type": "must be a mapping (key: value lines)",
    "list_type": "must be a list",
}


def _plain(err: ErrorDetails) -> str:
    """pydantic's "Input should be ..." in the recipe's own words, with the value written (escaped, short)."""
    got = f", got {excerpt(err['input'])}" if "input" in err else ""
    if err["type"] in PLAIN:
        return PLAIN[err["type"]] + got
    ctx = err.get("ctx") or {}
    if err["type"] == "literal_error" and "expected" in ctx:
        return f"must be {ctx['expected']}{got}"
    if err["type"] in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = {"greater_than_equal": "at least", "less_than_equal": "at most", "greater_than": "more than"}
        limit = next(iter(ctx.values()), "")
        return f"must be {bound.get(err['type'], 'less than')} {limit}{got}"
    return err["msg"].replace("Input should be", "must be", 1) + got


# What other tools (ZenML, mlstacks) call a component kind or a field: a suggestion, where no spelling is near.
SYNONYMS = {
    "model_deployer": "serving",
    "artifact_store": "object_store",
    "container_registry": "registry",
    "experiment_tracker": "tracking",
    "flavour": "flavor",
}


def _did_you_mean(word: str, candidates: list[str]) -> str:
    if len(word) > 64:
        return ""  # no near name is that long; and difflib's cost grows with it
    if SYNONYMS.get(word) in candidates:
        return f" (did you mean {SYNONYMS[word]!r}?)"
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _walk(loc: tuple, data: Any) -> list[tuple[Any, Any]]:
    """(key, node) pairs along `loc` that exist in the data; union tags pydantic adds are skipped."""
    pairs: list[tuple[Any, Any]] = []
    node = data
    for key in loc:
        if isinstance(node, dict) and key in node:
            pairs.append((key, node))
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            pairs.append((key, node))
            node = node[key]
    return pairs


def _line_of(data: Any, loc: tuple) -> int | None:
    """The file line of the deepest part of `loc` the recipe has (a missing field: its parent's line)."""
    line = None
    for key, parent in _walk(loc, data):
        if isinstance(parent, Map):
            line = parent.lines.get(key, line)
        elif isinstance(parent, Seq) and key < len(parent.lines):
            line = parent.lines[key]
    return line


def _display_path(loc: tuple, data: Any) -> str:
    """`components.registry.port`, `tags[0]`: the user's keys, without the union tags pydantic adds."""
    walked = {id(parent): key for key, parent in _walk(loc, data)}
    parts, node = [], data
    for key in loc:
        if id(node) in walked and walked[id(node)] == key:
            parts.append(f"[{key}]" if isinstance(node, list) else f".{shown_key(str(key))}")
            node = node[key]
        elif node != key and key not in _union_tags(node):
            parts.append(f"[{key}]" if isinstance(key, int) else f".{shown_key(str(key))}")
    return "".join(parts).lstrip(".")


def _union_tags(node: Any) -> set:
    """Extra loc elements pydantic inserts for discriminated unions and `mode="before"` validators."""
    return (
        {node.get("flavor"), node.get("type"), "function-before[_target_shorthand(), tagged-union[...]]"}
        if isinstance(node, dict)
        else set()
    )


def _flavor_at(loc: tuple, data: Any) -> registry.Flavor | None:
    """The flavor (on the recipe's target) whose settings `loc` points into: components.<kind>[.<flavor tag>]..."""
    if len(loc) < 2 or loc[0] != "components" or not isinstance(data.get("components"), dict):
        return None
    spec, target = data["components"].get(loc[1]), m.target_of(data)
    flavor = spec.get("flavor") if isinstance(spec, dict) else None
    return registry.lookup(target, str(loc[1]), flavor) if target and isinstance(flavor, str) else None


def _elsewhere(loc: tuple, data: Any) -> registry.Flavor | None:
    """The recipe's flavor, where the field `loc` ends in is a setting of that flavor on another target (`vpc_id`
    of mlflow on aws, written for mlflow on local): said as such, not as an unknown field."""
    here = _flavor_at(loc, data) if len(loc) >= 3 else None
    if here is None:
        return None
    others = (f for f in registry.flavors_for(kind=here.kind) if f.name == here.name and f.target != here.target)
    return here if any(str(loc[-1]) in f.settings.model_fields for f in others) else None


def _known_fields(parent: tuple, data: Any) -> list[str]:
    """Field names valid at `parent` (for "did you mean"), resolved through target type and flavor."""
    keys = [k for k, _ in _walk(parent, data)]
    model: type[BaseModel] | None = m.Recipe
    if keys[:1] == ["target"]:
        target = registry.expand_alias(data.get("target"))
        kind = target.get("type") if isinstance(target, dict) else target
        model = registry.target(kind).placement if kind in registry.target_names() else None
    elif keys[:1] == ["state"]:
        model = m.StateSpec
    elif keys[:1] == ["components"] and len(keys) == 1:
        target = m.target_of(data)
        return list(m.components_model(target).model_fields) if target else list(registry.KINDS)
    elif keys[:1] == ["components"]:
        spec = data["components"].get(keys[1])
        flavor = spec.get("flavor") if isinstance(spec, dict) else None
        here = registry.lookup(str(m.target_of(data)), keys[1], str(flavor))
        if here is not None:
            return list(here.settings.model_fields)
        model = next((f.settings for f in registry.flavors_for(kind=keys[1]) if f.name == flavor), None)
    return list(model.model_fields) if model else []


def load_document(path: Path, model: type[BaseModel], what: str) -> Any:
    """Another YAML or JSON file a user gives mlstack (a price snapshot), read with the recipe's hardening (size,
    characters, bounded parse) and validated by `model`: one `FILE:LINE: field: message` per problem, exit 2."""
    filename = str(path)
    text = source.normalise(source.read_text(path))
    source.check_characters(text, filename)
    if not text.strip():
        raise RecipeError([Problem(filename, None, "", f"file is empty; it should hold {what}")])
    data = yamltree.parse(text, filename, LineIndex(text))
    if not isinstance(data, Map):
        raise RecipeError([Problem(filename, 1, "", f"top level is not a mapping; it should hold {what}")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [_document_problem(err, data, filename) for err in exc.errors(include_input=True, include_url=False)]
        problems.sort(key=lambda p: (p.line or 0, p.field))
        raise RecipeError(problems[:MAX_PROBLEMS]) from None


def _document_problem(err: ErrorDetails, data: Any, filename: str) -> Problem:
    """A problem of a document that is not a recipe: the recipe's words, without its flavor and target hints."""
    loc = tuple(err["loc"])
    if err["type"] == "extra_forbidden":
        message = "unknown field"
    elif err["type"] == "missing":
        message = "required field is missing"
    elif err["type"] == "string_pattern_mismatch":
        message = m.PATTERN_HINTS.get(err["ctx"]["pattern"], f"must match {err['ctx']['pattern']}")
        message += f", got {excerpt(err['input'])}"
    elif err["msg"].startswith("Input should be "):
        message = _plain(err)
    else:
        message = err["msg"].removeprefix("Value error, ")
    return Problem(filename, _line_of(data, loc), _display_path(loc, data), message)
