"""Generate the README's reference sections and the JSON Schema file from the code (never kept by hand).

python -m mlstack.docs          # rewrite README.md's generated blocks and schema/recipe.schema.json
python -m mlstack.docs --check  # exit 1 if either is stale (a test runs this)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from mlstack import registry
from mlstack.errors import ERROR_TYPES, EXIT_CODE_MEANINGS

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SCHEMA = ROOT / "schema" / "recipe.schema.json"
CHANGELOG = ROOT / "CHANGELOG.md"  # the newest release's pins are generated (versions.py) between its markers
BLOCK = re.compile(
    r"(<!-- BEGIN generated:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- END generated:(?P=name) -->)", re.S
)


def support_table() -> str:
    rows = [
        "| target | " + " | ".join(k.replace("_", " ") for k in registry.KINDS) + " |",
        "|---|" + "---|" * len(registry.KINDS),
    ]
    for target in registry.target_names():
        cells = [", ".join(f"`{f.name}`" for f in registry.flavors_for(target, kind)) or "—" for kind in registry.KINDS]
        rows.append(f"| `{target}` | " + " | ".join(cells) + " |")
    rows.append("")
    rows += [
        f"- `{f.target}` / `{f.kind}` / `{f.name}`: {f.summary}"
        + (f" (`destroy` deletes {f.deletes_data}, so it asks for `--purge`)" if f.deletes_data else "")
        for f in registry.all_flavors()
    ]
    rows += [f"- not offered: `{kind}` / `{name}`: {why}" for kind, name, why in registry.DECLINED]
    return "\n".join(rows) + "\n"


def _type_name(annotation: Any) -> str:
    import typing

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " or ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, __import__("types").UnionType):
        return " or ".join(dict.fromkeys(_type_name(a) for a in args if a is not type(None))) + (
            " (optional)" if type(None) in args else ""
        )
    if origin is dict:
        return "mapping of " + " to ".join(_type_name(a) for a in args)
    if origin is list:
        return "list of " + _type_name(args[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    return {"str": "string", "int": "integer", "bool": "boolean"}.get(
        getattr(annotation, "__name__", ""), str(annotation)
    )


def _fields(model: type[BaseModel]) -> list[str]:
    """Rows of the model's fields (a flavor's model is its target's own: exactly the settings it takes there)."""
    rows = []
    for name, field in model.model_fields.items():
        if name == "components":
            continue
        value = None if field.is_required() else field.get_default(call_default_factory=True)
        default = (
            "required"
            if field.is_required()
            else "—"
            if value is None or isinstance(value, BaseModel)
            else f"`{value!r}`"
        )
        rows.append(f"| `{name}` | {_type_name(field.annotation)} | {default} | {field.description or ''} |")
    return rows


def recipe_reference() -> str:
    from mlstack.recipe import model as m

    header = ["| field | type | default | description |", "|---|---|---|---|"]
    out = [
        "#### Top level",
        "",
        *header,
        *_fields(m.unknown_target_model()),  # the shape every recipe has, its target any registered one
        "| `components` | mapping | required | " + (m.Recipe.model_fields["components"].description or "") + " |",
        "",
    ]
    for declared in registry.targets():
        placement = declared.placement
        out += [
            f"#### `target: {{type: {declared.name}}}` — {(placement.__doc__ or '').strip()}",
            "",
            *header,
            *_fields(placement),
            "",
        ]
    out += ["#### `state`", "", *header, *_fields(m.StateSpec), ""]
    for f in registry.all_flavors():
        out += [
            f"#### `components.{f.kind}` flavor `{f.name}` ({f.target}) — {f.summary}",
            "",
            *header,
            *_fields(f.settings),
            "",
        ]
    return "\n".join(out)


def cli_reference() -> str:
    import typer.main

    from mlstack.cli import app

    group = typer.main.get_command(app)
    out = []
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        args = " ".join(
            p.name.upper() if p.required else f"[{p.name.upper()}]"
            for p in cmd.params
            if p.param_type_name == "argument"
        )
        out += [f"- `mlstack {name}{(' ' + args) if args else ''}` — {(cmd.help or '').strip().splitlines()[0]}"]
        for p in cmd.params:
            if p.param_type_name == "option" and p.name not in ("help",):
                out.append(f"  - `{' / '.join(p.opts)}`: {p.help or ''}")
    return "\n".join(out) + "\n"


def exit_codes() -> str:
    return (
        "\n".join(["| code | meaning |", "|---|---|"] + [f"| {int(c)} | {m} |" for c, m in EXIT_CODE_MEANINGS.items()])
        + "\n\nWith `--json`, each error's `type` is one of these stable codes (never a class name):\n\n"
        + "\n".join(["| type | meaning |", "|---|---|"] + [f"| `{t}` | {m} |" for t, m in ERROR_TYPES.items()])
        + "\n"
    )


def pins() -> str:
    """What a release pins (mlstack/versions.py), as its CHANGELOG entry lists it."""
    from mlstack import versions as v

    rows = [
        ("Pulumi CLI (built from Go modules) and SDK", v.PULUMI_VERSION),
        ("pulumi-kubernetes provider plugin (built from Go modules) and SDK", v.KUBERNETES_PROVIDER_VERSION),
        ("ZenML stack files", v.ZENML_VERSION),
        ("MLflow image on the clouds", v.MLFLOW_IMAGE),
        *((f"in-cluster image `{name}`", image) for name, image in sorted(v.KUBERNETES_IMAGES.items())),
        *((f"local runtime `{name}`", rt.version) for name, rt in v.RUNTIMES.items()),
        ("kind CLI (for `cluster: {type: kind}`)", v.KIND_VERSION),
        ("test control plane: Kubernetes / kwok", f"{v.KUBERNETES_VERSION} / {v.KWOK_VERSION}"),
    ]
    return (
        "\n".join(["| pinned | version |", "|---|---|", *(f"| {what} | `{version}` |" for what, version in rows)])
        + "\n"
    )


GENERATORS = {
    "support": support_table,
    "recipe": recipe_reference,
    "cli": cli_reference,
    "exit-codes": exit_codes,
    "pins": pins,
}


def render_readme(text: str) -> str:
    return BLOCK.sub(lambda m: m.group(1) + GENERATORS[m.group("name")]() + m.group(4), text)


def schema_text() -> str:
    from mlstack.cli.schema import recipe_schema

    return json.dumps(recipe_schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    readme, schema = render_readme(README.read_text()), schema_text()
    changelog = render_readme(CHANGELOG.read_text())
    if "--check" in argv:
        generated = ((README, readme), (SCHEMA, schema), (CHANGELOG, changelog))
        stale = [str(p) for p, new in generated if not p.exists() or p.read_text() != new]
        if stale:
            print("stale generated docs: " + ", ".join(stale) + " (run `python -m mlstack.docs`)", file=sys.stderr)
            return 1
        return 0
    README.write_text(readme)
    CHANGELOG.write_text(changelog)
    SCHEMA.parent.mkdir(exist_ok=True)
    SCHEMA.write_text(schema)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
