"""Packages are discovered, not listed: mlstack/ itself, and the top-level stacks/ and components/ folders, which
install as mlstack.stacks and mlstack.components (so only the `mlstack` namespace lands in site-packages). A new
target package under components/ is picked up without an edit here; everything else is in pyproject.toml."""

from setuptools import find_packages, setup


def under(folder: str) -> list[str]:
    return [f"mlstack.{p}" for p in find_packages(include=[folder, f"{folder}.*"])]


setup(
    packages=find_packages(include=["mlstack", "mlstack.*"]) + under("stacks") + under("components"),
    package_dir={"mlstack": "mlstack", "mlstack.stacks": "stacks", "mlstack.components": "components"},
)
