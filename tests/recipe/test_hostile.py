"""Hostile and careless recipes (issue 9): each class gives exit 2 and one escaped `FILE:LINE: path: message` line
per problem, in the file's own line numbers, quickly, with no traceback and nothing of the environment."""

from __future__ import annotations

import os
import time
import unicodedata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlstack.cli import app
from mlstack.errors import RecipeError
from mlstack.recipe import source
from mlstack.recipe.loader import load_recipe, load_recipe_text
from tests.recipe.conftest import GOOD

CANARY = "MLSTACK_TEST_CANARY"


def validate(path: Path | str, *args: str, seconds: float = 5.0) -> list[str]:
    """`mlstack validate` in-process: exit 2, no traceback, bounded time, escaped lines; returns the lines."""
    start = time.monotonic()
    result = CliRunner().invoke(app, ["validate", str(path), *args])
    assert time.monotonic() - start < seconds
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.splitlines()
    assert lines and "Traceback" not in result.output
    for line in lines:
        assert not any(unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp", "Cs"} for ch in line), line
    return lines


def write(tmp_path: Path, text: str | bytes, name: str = "recipe.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def one_line(tmp_path: Path, text: str | bytes) -> str:
    path = write(tmp_path, text)
    [line] = validate(path)
    assert line.startswith(f"{path}")
    return line.removeprefix(str(path))


# --- the file itself --------------------------------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "recipe.yaml"
    os.mkfifo(fifo)
    assert validate(fifo, seconds=2) == [f"{fifo}: is a FIFO (named pipe), not a regular file"]


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_a_device_is_refused_without_reading(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    assert validate(device, seconds=2) == [f"{device}: is a character device, not a regular file"]


def test_at_most_the_limit_plus_one_byte_is_read(tmp_path, monkeypatch):
    """Even if the size the file system reports is wrong (a file still growing), reading stops at limit + 1."""
    path = write(tmp_path, GOOD + "#" * (2 * source.MAX_BYTES) + "\n")
    real_fstat, reads = os.fstat, []

    class Small:
        def __init__(self, st):
            self.st_mode, self.st_size = st.st_mode, 100

    monkeypatch.setattr(source.os, "fstat", lambda fd: Small(real_fstat(fd)))
    real_fdopen = os.fdopen

    def fdopen(fd, mode):
        f = real_fdopen(fd, mode)
        read = f.read
        f_read = lambda n=-1: reads.append(n) or read(n)  # noqa: E731
        return type("F", (), {"read": staticmethod(f_read), "fileno": f.fileno, "__enter__": lambda s: s,
                              "__exit__": lambda s, *a: f.close()})()

    monkeypatch.setattr(source.os, "fdopen", fdopen)
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    assert reads == [source.MAX_BYTES + 1]
    assert "more than" in str(err.value)


def test_a_file_of_exactly_the_limit_is_read(tmp_path):
    text = GOOD + "#" * (source.MAX_BYTES - len(GOOD) - 1) + "\n"
    assert load_recipe(write(tmp_path, text)).name == "demo"


def test_a_nul_byte_names_its_line(tmp_path):
    assert one_line(tmp_path, GOOD.replace("name: demo", "name: de\0mo")) == \
        ":2: character U+0000 (column 9) is not allowed in a recipe"


def test_a_file_name_with_a_newline_and_escape_is_escaped(tmp_path):
    path = write(tmp_path, GOOD + "bad: 1\n", name="x\n\x1b[31mok.yaml")
    [line] = validate(path)
    assert line.startswith(str(tmp_path) + "/x\\n\\x1b[31mok.yaml:9: bad: unknown field")


def test_the_ok_line_escapes_the_file_name_too(tmp_path):
    path = write(tmp_path, GOOD, name="ok\n\u202e.yaml")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0 and result.stderr.count("\n") == 1 and "\\n\\u202e" in result.stderr


# --- YAML -------------------------------------------------------------------------------------------------------

def test_an_alias_bomb_ending_in_a_duplicate_key_is_refused_quickly(tmp_path):
    bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    bomb += [f"{c}: &{c} [" + ",".join([f"*{p}"] * 9) + "]" for p, c in zip("abcdefgh", "bcdefghi")]
    text = GOOD + "\n".join(bomb) + "\ni: *i\n"  # the last step a duplicate key
    assert len(text) < 800
    line = one_line(tmp_path, text)
    assert line.startswith(":") and "through YAML aliases" in line and len(line) < 200


def test_a_duplicate_key_does_not_expand_its_value(tmp_path):
    text = GOOD + "x: &x [" + ",".join(["y"] * 50) + "]\nx: *x\n"
    assert one_line(tmp_path, text) == ":10: x: duplicate key (first at line 9)"


def test_a_recursive_alias_is_refused(tmp_path):
    text = GOOD.replace("components:\n", "components: &c\n  x: *c\n")
    assert one_line(tmp_path, text) == ":5: components.x: alias *c refers to a value that contains it (a recursive alias)"


def test_a_merge_key_merges(tmp_path):
    text = GOOD + "tags: &t {owner: me}\noutputs:\n  <<: *t\n"
    assert one_line(tmp_path, text) == ":9: outputs.owner: unknown field"  # merged from line 9, refused by the model


def test_a_second_merge_key_in_one_mapping_is_refused_and_a_merged_list_accepted(tmp_path):
    base = GOOD + "tags: &t {owner: me}\nstate: &s {}\noutputs:\n  <<: *t\n"
    assert one_line(tmp_path, base + "  <<: *s\n") == (
        ":13: outputs: `<<` twice in one mapping: merge a list instead, `<<: [*a, *b]`")
    merged = GOOD + "tags: &t {owner: me}\nstate: &s {}\noutputs:\n  <<: [*t, *s]\n"
    assert one_line(tmp_path, merged) == ":9: outputs.owner: unknown field"  # merged, then refused by the model


@pytest.mark.parametrize("escaped", ['"ml\\0ops"', '"a\\eb"', '"x\\x7f"'])
def test_a_control_character_made_by_an_escape_is_refused(tmp_path, escaped):
    line = one_line(tmp_path, GOOD + f"tags:\n  team: {escaped}\n")
    assert line.startswith(":10: tags.team: a value holds control character U+00")


def test_a_tab_in_a_value_is_kept(tmp_path):
    from mlstack.recipe.loader import load_recipe

    assert load_recipe(write(tmp_path, GOOD + 'tags:\n  team: "a\\tb"\n')).tags == {"team": "a\tb"}


@pytest.mark.parametrize("text,expected", [
    ("x: " + "[" * 300 + "]" * 300, ":9: YAML: flow collections nested more than 64 levels deep"),
    ("x: " + "{a: " * 300 + "}" * 300, ":9: x.a.a.a….a: nested more than 64 levels deep"),
    ("x:\n" + "".join(" " * i + "-\n" for i in range(1, 300)), ":73: x[0][0][0]…[0]: nested more than 64 levels deep"),
])
def test_deep_nesting_is_refused(tmp_path, text, expected):
    assert one_line(tmp_path, GOOD + text + "\n") == expected


@pytest.mark.parametrize("value", ["9" * 5000, "-0x" + "f" * 40, "99999999999999999999"])
def test_a_huge_integer_is_refused(tmp_path, value):
    line = one_line(tmp_path, GOOD.replace("    flavor: local\n", f"    flavor: local\n    port: {value}\n"))
    assert line.startswith(":9: components.orchestrator.port: integer") and "out of range" in line


@pytest.mark.parametrize("tagged", ["!!int abc", "!!binary aGVsbG8=", "!foo bar", "!!python/object:os.system x",
                                    "!!str x", "!!map {a: 1}"])
def test_an_explicit_tag_is_refused(tmp_path, tagged):
    line = one_line(tmp_path, GOOD.replace("name: demo", f"name: {tagged}"))
    assert line.startswith(":2: name: YAML tag !") and "not supported" in line


@pytest.mark.parametrize("key,what", [("1", "key 1 is an integer"), ("true", "key True is a boolean"),
                                      ("null", "key None is null"), ("? [a, b]\n ", "a key must be a string, not a list"),
                                      ("? {a: 1}\n ", "a key must be a string, not a mapping")])
def test_a_non_string_key_is_one_line_without_a_repr(tmp_path, key, what):
    line = one_line(tmp_path, GOOD + f"tags:\n  {key}: x\n")
    assert line.startswith(":10: tags: ") and what in line and "(" not in line.split(": ", 2)[-1].split(";")[0]


def test_a_tab_after_a_colon_is_allowed():
    recipe = load_recipe_text(GOOD.replace("name: demo", "name:\tdemo").replace("flavor: local", "flavor:\t \tlocal"))
    assert recipe.name == "demo"


def test_a_tab_as_indentation_is_still_an_error(tmp_path):
    assert "YAML" in one_line(tmp_path, GOOD.replace("  registry:", "\tregistry:"))


def test_a_second_document_is_refused(tmp_path):
    assert one_line(tmp_path, GOOD + "---\nname: x\n").startswith(":9: a second YAML document")


# --- strict types -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("setting,message", [('port: "8080"', "must be a whole number"), ("port: 8.08e3", "must be a whole number"),
                                             ("auth: 'off'", "must be true or false"), ("auth: off", "must be true or false"),
                                             ("auth: yes", "must be true or false"), ("port: 5000.0", "must be a whole number")])
def test_types_are_not_coerced(tmp_path, setting, message):
    line = one_line(tmp_path, GOOD.replace("    flavor: distribution\n", f"    flavor: distribution\n    {setting}\n"))
    assert line.startswith(f":7: components.registry.{setting.split(':')[0]}: ") and message in line


@pytest.mark.parametrize("flavor", ["[distribution]", "{a: 1}", "5", "null"])
def test_a_flavor_of_the_wrong_type_points_at_the_flavor_line(tmp_path, flavor):
    line = one_line(tmp_path, GOOD.replace("flavor: distribution", f"flavor: {flavor}"))
    assert line.startswith(":6: components.registry.flavor: must be a string") and "distribution" in line


def test_a_bad_flavor_of_the_only_component_is_one_problem(tmp_path):
    text = GOOD.replace("  orchestrator:\n    flavor: local\n", "").replace("flavor: distribution", "flavor: 5")
    assert one_line(tmp_path, text).startswith(":6: components.registry.flavor: must be a string, not 5")


def test_a_missing_flavor_points_at_the_component(tmp_path):
    line = one_line(tmp_path, GOOD.replace("    flavor: distribution\n", "    port: 5000\n"))
    assert line.startswith(":5: components.registry.flavor: required field is missing")


def test_a_target_type_of_the_wrong_type(tmp_path):
    line = one_line(tmp_path, GOOD.replace("target: local", "target: {type: [local]}"))
    assert line.startswith(":3: target.type: must be a string, not a list")


# --- values in messages -----------------------------------------------------------------------------------------

def test_keys_and_values_in_messages_are_escaped_and_short(tmp_path):
    text = GOOD.replace("name: demo", 'name: "x\\n\\u202e' + "y" * 3000 + '"') + '"k\\ny\\u202e": 1\n'
    lines = validate(write(tmp_path, text))
    assert len(lines) == 2 and all(len(line) < 400 for line in lines)
    assert "\\n\\u202e" in lines[0] and lines[1].endswith(":9: k\\ny\\u202e: unknown field")
    # an escape that makes a control character (ESC starts a terminal sequence) is refused before any message
    escape = validate(write(tmp_path, GOOD.replace("name: demo", 'name: "x\\e[2J"')))
    assert escape[0].endswith(":2: name: a value holds control character U+001B")


def test_many_problems_are_capped(tmp_path):
    text = GOOD + "".join(f"unknown{i}: 1\n" for i in range(200))
    lines = validate(write(tmp_path, text))
    assert len(lines) == 51 and lines[-1].endswith("more problems not shown")


# --- templates --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("snippet,message", [
    ("{% include 'x' %}", "include, import and extends are not available"),
    ("{{ 1/0 }}", "ZeroDivisionError"),
    ("{{ [].pop() }}", "unsafe"),
    ("{{ 1+'a' }}", "TypeError"),
    ("{{ 'abc'|filesizeformat }}", "ValueError"),
    ("{{ lipsum(10**6) }}", "lipsum() is not available"),
    ("{{ 'a'|center(10**9) }}", "filter 'center'"),
    ("{{ 'a'*10**8 }}", "a value of more than"),
    ("{% set x = 5 %}{{ (x+10)**(10**8) }}", "an integer of more than"),
    ("{% for i in range(99999) %}{% endfor %}", "range() of more than"),
    ("{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}", "loop iterations"),
    ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "recursive"),
    ("{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}", "loop iterations"),
    ("{% set ns = namespace(x='ab') %}{% for i in range(40) %}{% set ns.x = ns.x ~ ns.x %}{% endfor %}", "a value of"),
    ("{% set ns = namespace(x=[1]) %}{% for i in range(60) %}{% set ns.x = [ns.x, ns.x] %}{% endfor %}", "a value"),
    ("{% for i in range(10000) %}{{ 'x'*1000 }}{% endfor %}", "made or output"),
    ("{{ '%999999999s' % 1 }}", "string formatting"),
    ("{{ '{:>999999999}'.format(1) }}", "unsafe"),
    ("{{ ''.__class__.__mro__ }}", "unsafe"),
    ("{{ (5).to_bytes(10**9, 'big') }}", "unsafe"),
    ("{{ ('\\n'*100000)|indent(1000) }}", "a value of more than"),
])
def test_template_runtime_errors_and_limits_are_one_line(tmp_path, snippet, message):
    line = one_line(tmp_path, GOOD.replace("name: demo", "name: demo" + snippet))
    assert line.startswith(":2: template: ") and message in line


@pytest.mark.parametrize("snippet", ["{{ env }}", "{{ env|list }}", "{{ env|string }}", "{% set e = env %}{{ e }}",
                                     "{% for k in env %}{{ k }}{% endfor %}", "{{ [env] }}", "{{ env|tojson }}",
                                     "{{ env[('MLSTACK_TEST_' ~ 'CANARY')] }}", "{{ env.items() }}",
                                     "{{ self.__dict__ }}", "{{ namespace.__init__.__globals__ }}"])
def test_the_environment_never_leaks(tmp_path, monkeypatch, snippet):
    monkeypatch.setenv(CANARY, "s3cr3t-canary-value")
    lines = validate(write(tmp_path, GOOD.replace("name: demo", f'name: "{snippet}"')))
    assert "s3cr3t-canary-value" not in "\n".join(lines) and len(lines) == 1


def test_a_named_environment_variable_is_read(monkeypatch):
    monkeypatch.setenv(CANARY, "from-env")
    assert load_recipe_text(GOOD.replace("name: demo", "name: {{ env.MLSTACK_TEST_CANARY }}")).name == "from-env"
    assert load_recipe_text(GOOD.replace("name: demo", "name: {{ env['MLSTACK_TEST_CANARY'] }}")).name == "from-env"


def test_env_get_is_refused_with_the_spelling_that_works(tmp_path, monkeypatch):
    monkeypatch.delenv(CANARY, raising=False)
    line = one_line(tmp_path, GOOD.replace("name: demo", "name: \"{{ env.get('MLSTACK_TEST_CANARY', 'x') }}\""))
    assert line.startswith(":2: template: `env.get(...)` is not supported") and "env.NAME | default('value')" in line
    text = GOOD.replace("name: demo", "name: \"{{ env.MLSTACK_TEST_CANARY | default('demo') }}\"")
    assert load_recipe_text(text).name == "demo"


@pytest.mark.parametrize("where", [
    'name: "{{ env.MLSTACK_TEST_CANARY }}"',
    'name: "x{{ env.MLSTACK_TEST_CANARY }}"',
    "tags: {team: '{{ env.MLSTACK_TEST_CANARY }}', 'mlstack-x': '{{ env.MLSTACK_TEST_CANARY }}'}\nname: demo",
])
def test_a_value_a_template_made_is_never_echoed_in_an_error(tmp_path, monkeypatch, where):
    monkeypatch.setenv(CANARY, "Sup3r_Secret!")
    lines = validate(write(tmp_path, GOOD.replace("name: demo", where)))
    assert lines and not any("Sup3r_Secret" in line for line in lines), lines
    assert any("(a value the template made)" in line or "tags" in line for line in lines)


def test_a_value_written_plainly_is_still_shown(tmp_path):
    assert "got 'Not_A_Name'" in one_line(tmp_path, GOOD.replace("name: demo", "name: Not_A_Name"))


@pytest.mark.parametrize("value, line, field", [
    ("demo # the rest is a comment", ":2: ", "name"),       # cut silently by YAML
    ("demo\ntags: {x: y}", ":2: ", "tags"),                 # a key added
    ("demo: nested", ":2: ", ""),                             # YAML no longer parses where a value was
])
def test_a_templated_value_can_never_reshape_the_recipe(tmp_path, monkeypatch, value, line, field):
    monkeypatch.setenv(CANARY, value)
    got = one_line(tmp_path, GOOD.replace("name: demo", "name: {{ env.MLSTACK_TEST_CANARY }}"))
    prefix = f"{line}{field}: " if field else line
    assert got.startswith(f"{prefix}a value from the template changed the recipe around it"), got
    assert "{{ value | tojson }}" in got and value not in got


def test_a_templated_value_written_with_tojson_or_in_quotes_arrives_whole(tmp_path, monkeypatch):
    monkeypatch.setenv(CANARY, "team # a, b: c")
    text = GOOD + "tags:\n  team: {{ env.MLSTACK_TEST_CANARY | tojson }}\n  quoted: \"{{ env.MLSTACK_TEST_CANARY }}\"\n"
    assert load_recipe_text(text).tags == {"team": "team # a, b: c", "quoted": "team # a, b: c"}
    monkeypatch.setenv(CANARY, "5000")
    typed = GOOD.replace("    flavor: distribution\n", "    flavor: distribution\n    port: {{ env.MLSTACK_TEST_CANARY }}\n")
    assert load_recipe_text(typed).components.registry.port == 5000
    loop = GOOD + "tags:\n{% for t in ['a', 'b'] %}  {{ t }}: '{{ t }}-x'\n{% endfor %}"
    assert load_recipe_text(loop).tags == {"a": "a-x", "b": "b-x"}


@pytest.mark.parametrize("name", ["loops-and-json.yaml", "generated-keys.yaml"])
def test_templates_that_build_structure_on_purpose_are_accepted(name):
    """Loops that make list items and keys, `{% if %}` blocks, whitespace control, arithmetic and a mapping written
    as `{{ {...} | tojson }}`: structure the template's own text builds is not a value reshaping the recipe."""
    from mlstack.recipe.loader import load_recipe

    recipe = load_recipe(Path(__file__).parent / "templates" / name)
    assert recipe.name == "demo" and recipe.tags in ({"team": "ml", "env": "dev"}, {"a": "1", "b": "2"})


def test_an_unset_environment_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv(CANARY, raising=False)
    assert one_line(tmp_path, GOOD.replace("name: demo", "name: {{ env.MLSTACK_TEST_CANARY }}")) == \
        ":2: template: environment variable MLSTACK_TEST_CANARY is not set"


def test_line_numbers_are_the_files_own(tmp_path):
    text = ("{# a comment\n   over three\n   lines #}\n" + GOOD.replace("target: local", "{% if true %}\ntarget: local\n"
            "{% endif %}") + "{% for i in range(2) %}\nextra{{ i }}: 1\n{% endfor %}\n")
    lines = validate(write(tmp_path, text))
    assert lines[0].endswith(":15: extra0: unknown field") and lines[1].endswith(":15: extra1: unknown field")


def test_line_numbers_after_whitespace_control_and_macros(tmp_path):
    text = ("{%- macro port() -%}\n5000\n{%- endmacro %}\n" + GOOD.replace("    flavor: local\n",
            "    flavor: local\n    port: {{ port()|int + 1 }}\n    bad: 1\n"))
    lines = [line.removeprefix(str(tmp_path / "recipe.yaml")) for line in validate(write(tmp_path, text))]
    assert lines == [":12: components.orchestrator.port: unknown field", ":13: components.orchestrator.bad: unknown field"]


def test_a_template_cannot_forge_line_markers(tmp_path):
    line = one_line(tmp_path, GOOD.replace("name: demo", "name: demo{{ '\\x00' ~ '9' * 5000 ~ '\\x00' }}"))
    assert line.startswith(":2: character U+0000")


def test_a_set_block_holds_the_text_written(tmp_path):
    text = "{% set p %}\n5000\n{% endset %}\n" + GOOD.replace(
        "    flavor: distribution\n", "    flavor: distribution\n    port: {{ p|trim|int + 1 }}\n")
    assert load_recipe_text(text).components.registry.port == 5001


# Whatever the YAML construct, a problem in it names the file's own line (issue 10, part 6): block and flow
# collections, quoted scalars, tabs, directives, anchors and aliases, complex keys, tags, documents.
CONSTRUCTS = {
    "unclosed flow sequence": ("apiVersion: mlstack/v1\nname: [a, b\n", 3),
    "unclosed quoted scalar": ('apiVersion: mlstack/v1\nname: "unterminated\n', 3),
    "tab indentation": ("apiVersion: mlstack/v1\n\tname: x\n", 2),
    "repeated directive": ("%YAML 1.1\n%YAML 1.1\n---\na: 1\n", 2),
    "undefined alias": ("apiVersion: mlstack/v1\nname: &a stack-one\ntags: *b\n", 3),
    "complex key": ("apiVersion: mlstack/v1\n? [a]\n: 1\n", 2),
    "unknown field in a flow mapping": (GOOD.replace("flavor: local", "{flavor: local, foo: 1}")
                                        if "flavor: local" in GOOD else GOOD + "x: {a: 1}\n", None),
    "second document": (GOOD + "---\nname: x\n", 9),
    "bad indentation": ("apiVersion: mlstack/v1\nname: x\n  target: local\n", 3),
    "block sequence where a mapping is": ("apiVersion: mlstack/v1\n- a\n", 2),
}


@pytest.mark.parametrize("verb", [["validate"], ["import", "mlstacks"]])
@pytest.mark.parametrize("construct", sorted(CONSTRUCTS))
def test_a_problem_in_any_yaml_construct_names_its_line(tmp_path, construct, verb):
    text, line = CONSTRUCTS[construct]
    path = write(tmp_path, text)
    result = CliRunner().invoke(app, [*verb, str(path)])
    assert result.exit_code == 2, result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{path}:"), first
    number = first[len(str(path)) + 1:].split(":", 1)[0]
    assert number.isdigit(), first
    if line is not None:
        assert int(number) == line, first


def test_the_refused_characters_are_exactly_those_yaml_cannot_print():
    """`NOT_TEXT` spells the refused set; YAML 1.2 names the printable one (c-printable): complements, code point by
    code point."""
    from mlstack.recipe.source import NOT_TEXT

    printable = [(0x09, 0x0A), (0x0D, 0x0D), (0x20, 0x7E), (0x85, 0x85), (0xA0, 0xD7FF), (0xE000, 0xFFFD),
                 (0x10000, 0x10FFFF)]
    text = "".join(map(chr, range(0x110000)))
    refused = {match.start() for match in NOT_TEXT.finditer(text)}
    allowed = {c for low, high in printable for c in range(low, high + 1)}
    assert refused == set(range(0x110000)) - allowed
