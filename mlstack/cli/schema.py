from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mlstack.cli.common import DebugOpt, JsonOpt, run, say


def recipe_schema() -> dict:
    from mlstack.recipe.model import Recipe

    schema = Recipe.model_json_schema()
    _target_shorthands(schema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "mlstack/v1/recipe", **schema}


def _target_shorthands(schema: dict) -> None:
    """What the model accepts before its own validation expands it, so that editors accept it too: `target: local`
    (a target whose settings all have defaults, by name) and aliases (`target: kind`, `{type: kind, ...}`)."""
    import copy

    from mlstack import registry

    defs, target = schema["$defs"], schema["properties"]["target"]
    variants = list(target.get("oneOf") or [])
    names = []
    for declared in registry.targets():
        base = defs.get(declared.placement.__name__)
        if base is None:
            continue
        if set(base.get("required", [])) <= {"type"}:
            names.append(declared.name)
        for alias, expansion in declared.aliases.items():
            fixed = {k for k in expansion if k != "type"}
            variant = copy.deepcopy(base)
            variant["title"] = f"{declared.name} ({alias})"
            variant["properties"] = {k: v for k, v in variant["properties"].items() if k not in fixed}
            variant["properties"]["type"] = {"const": alias, "type": "string", "description": "Target (shorthand)."}
            variant["required"] = [r for r in variant.get("required", []) if r not in fixed]
            defs[f"{declared.placement.__name__}_{alias}"] = variant
            variants.append({"$ref": f"#/$defs/{declared.placement.__name__}_{alias}"})
            if set(variant["required"]) <= {"type"}:
                names.append(alias)
    schema["properties"]["target"] = {
        "description": target.get("description", ""),
        "anyOf": [
            {"type": "string", "enum": sorted(names), "description": "A target by name, all its settings default."},
            {"oneOf": variants},
        ],
    }


def register(app: typer.Typer) -> None:
    @app.command()
    def schema(
        output: Annotated[
            Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write to this file.")
        ] = None,
        json_out: JsonOpt = False,
        debug: DebugOpt = False,
    ) -> None:
        """Print the recipe's JSON Schema (for yaml-language-server and editors)."""

        def body() -> dict:
            data = recipe_schema()
            if output:
                output.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
            return {"schema": data, "written": str(output) if output else None}

        def human(result: dict) -> None:
            if result["written"]:
                say(f"wrote {result['written']}")
            else:
                typer.echo(json.dumps(result["schema"], indent=2, sort_keys=True))

        run("schema", json_out, debug, body, human)
