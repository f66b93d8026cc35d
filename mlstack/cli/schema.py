from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mlstack.cli.common import DebugOpt, JsonOpt, run, say


def recipe_schema() -> dict:
    from mlstack.recipe.model import Recipe

    schema = Recipe.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "mlstack/v1/recipe", **schema}


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
