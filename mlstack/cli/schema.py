from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mlstack.cli.common import DebugOpt, JsonOpt, run, say


def recipe_schema() -> dict:
    """The recipe's JSON Schema, discriminated by target first: each target's recipe offers its own placement and
    exactly its flavors' settings (a kind recipe is not offered `vpc_id`)."""
    from pydantic import TypeAdapter

    from mlstack.recipe.model import Recipe, recipe_union

    schema = TypeAdapter(recipe_union()).json_schema()
    _target_shorthands(schema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "mlstack/v1/recipe",
        "title": "Recipe",
        "description": (Recipe.__doc__ or "").strip(),
        **schema,
    }


def _target_shorthands(schema: dict) -> None:
    """What a target's recipe accepts before its own validation expands it, so that editors accept it too:
    `target: local` (a target whose settings all have defaults, by name) and aliases (`target: kind`,
    `{type: kind, ...}`)."""
    import copy

    from mlstack import registry
    from mlstack.recipe.model import recipe_model

    defs = schema["$defs"]
    for declared in registry.targets():
        recipe = defs[recipe_model(declared.name).__name__]
        base = defs[declared.placement.__name__]
        names = [declared.name] if set(base.get("required", [])) <= {"type"} else []
        variants: list[dict] = [{"$ref": f"#/$defs/{declared.placement.__name__}"}]
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
        target = recipe["properties"]["target"]
        choices: list[dict] = [{"oneOf": variants}]
        if names:
            choices.insert(0, {"type": "string", "enum": sorted(names), "description": "The target by name."})
        recipe["properties"]["target"] = {"description": target.get("description", ""), "anyOf": choices}


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
