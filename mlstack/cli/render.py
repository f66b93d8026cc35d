from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlstack.cli.common import DebugOpt, JsonOpt, RecipeArg, VarOpt, parse_vars, run, say

OutOpt = Annotated[Path, typer.Option("--out", metavar="DIR", help="Directory the manifests are written to (created).")]


if TYPE_CHECKING:
    from mlstack.engine.results import RenderResult


def register(app: typer.Typer) -> None:
    @app.command()
    def render(
        recipe: RecipeArg,
        out: OutOpt,
        force: Annotated[
            bool, typer.Option("--force", help="Write into a folder that has files mlstack did not write.")
        ] = False,
        var: VarOpt = None,
        json_out: JsonOpt = False,
        debug: DebugOpt = False,
    ) -> None:
        """Write the stack as the platform's own manifests (kubernetes: YAML for GitOps), from the program itself,
        offline: no cluster, engine or state. Generated secret values are never written (SECRETS.md lists them)."""
        from mlstack.engine import planning
        from mlstack.home import Home

        def body() -> RenderResult:
            return planning.render(Home.from_env(), planning.StackRef(recipe, None, parse_vars(var), None), out, force)

        def human(r: RenderResult) -> None:
            say(f"wrote {len(r.files)} files of stack {r.stack!r} ({r.target}) to {r.out}")
            for name in r.files:
                say(f"  {name}")
            for name in r.removed:
                say(f"  removed {name} (no longer part of the stack)")

        run("render", json_out, debug, body, human)
