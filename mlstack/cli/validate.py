from __future__ import annotations

import typer

from mlstack.cli.common import DebugOpt, JsonOpt, RecipeArg, VarOpt, parse_vars, run, say


def register(app: typer.Typer) -> None:
    @app.command()
    def validate(recipe: RecipeArg, var: VarOpt = None, json_out: JsonOpt = False, debug: DebugOpt = False) -> None:
        """Check a recipe without touching any state: syntax, fields, flavors the target offers."""
        from mlstack.recipe.loader import load_recipe

        def body() -> dict:
            r = load_recipe(recipe, parse_vars(var))
            return {
                "recipe": str(recipe),
                "name": r.name,
                "target": r.target.type,
                "components": {k: v.flavor for k, v in r.component_specs().items()},
                "notes": r.notes(),
            }

        def human(r: dict) -> None:
            components = ", ".join(f"{k}={v}" for k, v in r["components"].items())
            say(f"{recipe}: ok (stack {r['name']!r} on {r['target']}: {components})")
            for note in r["notes"]:
                say(f"  note: {note}")

        run("validate", json_out, debug, body, human)
