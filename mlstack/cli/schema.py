from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer


def recipe_schema() -> dict:
    from mlstack.recipe.model import Recipe

    schema = Recipe.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "mlstack/v1/recipe", **schema}


def register(app: typer.Typer) -> None:
    @app.command()
    def schema(output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file.")] = None) -> None:
        """Print the recipe's JSON Schema (for yaml-language-server and editors)."""
        text = json.dumps(recipe_schema(), indent=2, sort_keys=True) + "\n"
        if output:
            output.write_text(text)
        else:
            typer.echo(text, nl=False)
