"""The verbs that plan without the engine: a recipe resolved (from its file, or a deployed stack's saved one), the
offline preview and `render`. Nothing here imports the engine's workspace or plugins (`preview --offline` and
`render` start faster without them); `operations` re-exports StackRef, resolve and offline_preview for its verbs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlstack import registry
from mlstack.engine.plan import offline_plan
from mlstack.engine.results import OfflinePreviewResult, RenderResult
from mlstack.errors import NotAvailableError, StackNotFoundError, UsageError
from mlstack.home import Home
from mlstack.recipe.loader import load_recipe
from mlstack.recipe.model import Recipe, validate


@dataclass
class StackRef:
    """A stack named by recipe file or by `--stack NAME` (then its saved recipe is used)."""

    recipe_path: Path | None = None
    stack: str | None = None
    variables: dict[str, str] | None = None
    backend: str | None = None


def resolve(home: Home, ref: StackRef) -> Recipe:
    if (ref.recipe_path is None) == (ref.stack is None):
        raise UsageError("name either a RECIPE file or --stack NAME (not both)")
    if ref.recipe_path is not None:
        return load_recipe(ref.recipe_path, ref.variables)
    assert ref.stack is not None  # one of the two, checked above
    from mlstack.engine.workspace import save_recipe, saved_recipe

    try:
        saved = saved_recipe(home, ref.stack)
    except StackNotFoundError:
        shared = ref.backend or os.environ.get("PULUMI_BACKEND_URL")
        if not shared:
            raise
        saved = _recipe_in_backend(home, ref.stack, shared)  # another home deployed it: its recipe is kept there
        save_recipe(home, ref.stack, saved)
    # Stored by an older mlstack with absent components as nulls, which a recipe may not say.
    saved["components"] = {k: v for k, v in (saved.get("components") or {}).items() if v is not None}
    return validate(saved)


def _recipe_in_backend(home: Home, stack: str, backend: str) -> dict[str, Any]:
    """The resolved recipe a deploy kept with the stack in a shared backend (a secret output: the backend's
    passphrase or KMS key decrypts it, as any of the stack's secrets)."""
    from mlstack.engine.workspace import StackSession, display_url

    s = StackSession(home, stack, backend=backend, work_dir=home.root / "workspace")
    if s.deployed_resources() is None:
        raise StackNotFoundError(
            f"no stack named {stack!r} in this home or in backend {display_url(backend)}",
            hint="`mlstack list` shows the stacks of a backend",
        )
    recipe = s.outputs().get("recipe")
    if not isinstance(recipe, dict):
        raise StackNotFoundError(
            f"stack {stack!r} in backend {display_url(backend)} keeps no recipe (deployed by an older mlstack)",
            hint="run the verb with the recipe file instead of --stack, or deploy it once with this version",
        )
    return recipe


def offline_preview(home: Home, ref: StackRef) -> OfflinePreviewResult:
    """The plan under Pulumi's mocks: no credentials, engine, state or network."""
    from mlstack.engine.offline import plan
    from mlstack.stacks.program import check_available

    recipe = resolve(home, ref)
    check_available(recipe)
    import json

    planned = plan(recipe)
    # Keys sorted at every level (the mocks build each resource's inputs in the order its outputs resolve): the
    # same recipe gives the same bytes, so a pull-request comment changes only when the plan does.
    document = json.loads(json.dumps({**planned.to_dict(), "plan": offline_plan(planned).to_dict()}, sort_keys=True))
    return OfflinePreviewResult(notes=recipe.notes(), **document)


def render(home: Home, ref: StackRef, out: Path, force: bool = False) -> RenderResult:
    """The stack as its target's own manifests, from the offline plan; exit 3 where the target has no renderer."""
    from mlstack.engine.offline import plan

    recipe = resolve(home, ref)
    files = registry.target(recipe.target.type).lifecycle().render(plan(recipe))
    if files is None:
        raise NotAvailableError(
            f"target {recipe.target.type!r} has no manifests to render",
            hint="`mlstack preview --offline` shows its plan",
        )
    removed = _write_owned(out, files, recipe.name, force)
    return RenderResult(
        stack=recipe.name, target=recipe.target.type, out=str(out), files=sorted(files), removed=removed
    )


RENDER_RECORD = ".mlstack-render"  # no .json/.yaml extension: `kubectl apply -f DIR` must not read it


def _write_owned(out: Path, files: dict[str, str], stack: str, force: bool) -> list[str]:
    """Write `files` into `out`, which mlstack owns: a record of what it wrote lets the next render remove what no
    longer belongs (else `kubectl apply -f DIR` or a GitOps sync brings back what the recipe removed). A folder with
    other files and no record is refused unless `force`. Returns the files removed."""
    import json

    record = out / RENDER_RECORD
    previous: list[str] = []
    if record.is_file():
        try:
            previous = [str(n) for n in json.loads(record.read_text()).get("files", [])]
        except (OSError, ValueError, AttributeError):
            previous = []
    elif out.is_dir() and any(out.iterdir()) and not force:
        raise UsageError(
            f"--out {out}: the folder has files mlstack did not write (no {RENDER_RECORD} record); rendering into "
            "it would mix them with the stack's manifests",
            hint="choose an empty or new folder, or pass --force to write into it anyway",
        )
    out.mkdir(parents=True, exist_ok=True)
    removed = sorted(n for n in previous if n not in files and "/" not in n and n != RENDER_RECORD)
    for name in removed:
        (out / name).unlink(missing_ok=True)
    for name, text in files.items():
        (out / name).write_text(text)
    record.write_text(json.dumps({"stack": stack, "files": sorted(files)}, indent=2) + "\n")
    return removed
