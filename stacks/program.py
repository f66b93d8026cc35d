"""The whole recipe's Pulumi program. Always the whole recipe: a partial program deletes what it leaves out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlstack import registry
from mlstack.errors import NotAvailableError
from mlstack.recipe.model import Recipe

OUTPUT_CLIENTS = "mlstack"
OUTPUT_SECRETS = "secrets"
OUTPUT_RECIPE = "recipe"  # the resolved recipe, kept with the stack: `--stack NAME` works from any home
HIDDEN_OUTPUTS = (OUTPUT_SECRETS, OUTPUT_RECIPE)  # never shown with the stack's outputs


def check_available(recipe: Recipe) -> None:
    """Fail before the engine starts (exit 3) when the target's assembly or a flavor's dependencies are missing."""
    if registry.target(recipe.target.type).assembly is None:
        raise NotAvailableError(
            f"target {recipe.target.type!r} cannot be deployed by this installation yet",
            hint="`mlstack doctor` lists what each target can do here",
        )
    for kind, flavor in recipe.flavors().items():
        missing = flavor.missing()
        if missing:
            raise NotAvailableError(
                f"components.{kind} ({flavor.name} on {flavor.target}) needs {', '.join(missing)}",
                hint=flavor.install_hint,
            )


def warm(recipe: Recipe) -> None:
    """Import what the program will run (the target's assembly, each flavor's component and its provider SDK
    modules): called in a thread while the engine starts and refreshes, so the program itself starts at once."""
    registry.target(recipe.target.type).load_assembly()
    registry.target(recipe.target.type).lifecycle()
    for flavor in recipe.flavors().values():
        flavor.load()


def runtimes_of(recipe: Recipe) -> list[str]:
    return [rt for flavor in recipe.flavors().values() for rt in flavor.runtimes]


def make_program(
    recipe: Recipe,
    stack_dir: Path,
    runtimes: dict[str, str] | None = None,
    on_outputs: Callable[[dict[str, Any]], None] | None = None,
    gate: Callable[[], None] | None = None,
) -> Callable[[], None]:
    """The Pulumi program of the whole recipe; `on_outputs` also receives the exports (offline plans); `gate`: a
    check the program waits for before it declares any resource (it raises when the check failed)."""

    def program() -> None:
        if gate is not None:
            gate()
        import pulumi

        from mlstack.components.context import StackContext
        from mlstack.stacks.common import build_components

        ctx = StackContext(
            recipe.name,
            recipe.target.type,
            stack_dir,
            {"mlstack-stack": recipe.name, **recipe.tags},
            dict(runtimes or {}),
            recipe.target,
            recipe.shared_needs(),
        )
        target = registry.target(recipe.target.type)
        opts, platform = target.load_assembly()(ctx)
        components = build_components(recipe, ctx, opts, platform)
        wiring = {kind: flavor.wired_to() for kind, flavor in recipe.flavors().items()}
        target.lifecycle().finish(platform, components, wiring)
        clients = {kind: c.client_config() for kind, c in components.items()}
        # how clients reach what the assembly set up (a cluster the stack created), when there is such a thing
        cluster = platform.client() if hasattr(platform, "client") else None
        secrets: dict[str, Any] = {k: v for c in components.values() for k, v in c.secrets.items()}
        exports = {
            OUTPUT_CLIENTS: pulumi.Output.all(pulumi.Output.all(**clients), cluster).apply(
                lambda c: {
                    "schemaVersion": "mlstack.clients/v1",
                    "stack": recipe.name,
                    "target": recipe.target.type,
                    "components": c[0],
                    **({"cluster": c[1]} if c[1] else {}),
                }
            ),
            OUTPUT_SECRETS: pulumi.Output.secret(secrets),
            # a secret: values a template took from the environment may be in it
            OUTPUT_RECIPE: pulumi.Output.secret(recipe.model_dump(mode="json", exclude_none=True)),
        }
        for key, value in exports.items():
            pulumi.export(key, value)
        if on_outputs is not None:
            pulumi.Output.all(**exports).apply(on_outputs)

    return program
