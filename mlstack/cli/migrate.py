"""`mlstack import mlstacks STACK_FILE`: migration from mlstacks' spec files to a recipe that validates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlstack.cli.common import DebugOpt, JsonOpt, run, say
from mlstack.errors import Problem, RecipeError, UsageError


def _schema_ref(out: Path | None) -> str | None:
    """The recipe JSON Schema as the written file reaches it: relative to it in a source checkout (the README's
    set-up), else none (`mlstack schema -o FILE` writes one)."""
    import os

    import mlstack

    schema = Path(mlstack.__file__).resolve().parent.parent / "schema" / "recipe.schema.json"
    if not schema.is_file():
        return None
    if out is None:
        return schema.as_uri()
    return os.path.relpath(schema, out.expanduser().resolve().parent)


def register(app: typer.Typer) -> None:
    importer = typer.Typer(help="Import a stack from another tool's format.", no_args_is_help=True)
    app.add_typer(importer, name="import")

    @importer.command()
    def mlstacks(
        stack_file: Annotated[Path, typer.Argument(help="mlstacks stack spec (stack.yaml).", show_default=False)],
        out: Annotated[
            Path | None, typer.Option("--out", metavar="FILE", help="Write the recipe here (default: stdout).")
        ] = None,
        force: Annotated[bool, typer.Option("--force", help="Overwrite the --out file if it exists.")] = False,
        json_out: JsonOpt = False,
        debug: DebugOpt = False,
    ) -> None:
        """Write an mlstack recipe from an mlstacks stack spec and its component specs; what has no counterpart is
        listed with the reason."""
        from mlstack.recipe.loader import load_recipe_text
        from mlstack.recipe.mlstacks import convert, recipe_text

        def body() -> dict:
            if out is not None and out.exists() and not force:
                raise UsageError(f"--out {out} exists", hint="choose another file, or pass --force to overwrite it")
            recipe, unmapped, notes = convert(stack_file)
            text = recipe_text(recipe, stack_file, unmapped, notes, _schema_ref(out))
            try:  # what is written validates, or nothing is; the problem is the spec's (the recipe is not written)
                load_recipe_text(text, str(out or "<imported recipe>"))
            except RecipeError as exc:
                raise RecipeError(
                    [
                        Problem(str(stack_file), None, p.field, f"the recipe it makes would be refused: {p.message}")
                        for p in exc.problems
                    ]
                ) from None
            if out is not None:
                out.write_text(text)
            return {
                "recipe": recipe,
                "out": str(out) if out else None,
                "text": text,
                "not_imported": unmapped,
                "notes": notes,
            }

        def human(r: dict) -> None:
            if r["out"] is None:
                typer.echo(r["text"], nl=False)
            for line in r["notes"]:
                say(f"note: {line}")
            for line in r["not_imported"]:
                say(f"not imported: {line}")
            if r["out"]:
                say(f"wrote {r['out']} (stack {r['recipe']['name']!r}); check it with `mlstack validate {r['out']}`")

        run("import", json_out, debug, body, human)
