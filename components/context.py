"""What every component is given besides its settings: the stack's name, tags, where its files go, and the typed
outputs of the components it uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from mlstack.components.outputs import Uses


@dataclass(frozen=True)
class StackContext:
    stack: str
    target: str
    stack_dir: Path
    tags: dict[str, str] = field(default_factory=dict)
    runtimes: dict[str, str] = field(default_factory=dict)  # runtime name -> its main program
    placement: Any = None  # the recipe's `target:` block, typed (its target's placement model)
    shared: tuple[str, ...] = ()  # what the flavors need installed once per placement (Recipe.shared_needs)

    def runtime(self, name: str) -> str:
        return self.runtimes[name]

    def data_dir(self, kind: str) -> Path:
        """Kept across destroy unless --purge: objects, runs, images."""
        return self.stack_dir / "data" / kind

    def run_dir(self, kind: str) -> Path:
        """Config files and logs: recreated on every deploy."""
        return self.stack_dir / "run" / kind


SettingsT = TypeVar("SettingsT", bound=BaseModel)
PlatformT = TypeVar("PlatformT")


@dataclass(frozen=True)
class ComponentArgs(Generic[SettingsT, PlatformT]):
    settings: SettingsT
    context: StackContext
    uses: Uses = field(default_factory=Uses)  # outputs of the components this one is wired to
    # what the target's assembly set up for every component (Azure's resource group, the kubernetes namespace)
    platform: PlatformT = None  # type: ignore[assignment]
