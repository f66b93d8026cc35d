"""Every registered target and flavor keeps the contracts the central modules rely on, checked without a deploy:
its hooks, assembly, offline fakes and policy rules resolve with the right signatures; each flavor's component is a
typed Component with its own type token, its settings model names the flavor, its wiring names kinds, and its verify
check, ZenML hint and naming rules resolve."""

from __future__ import annotations

import inspect
from typing import get_args

import pytest

from mlstack import registry
from mlstack.clients.verify import CHECKS
from mlstack.components.base import Component

TARGETS = registry.targets()
FLAVORS = registry.all_flavors()
each_target = pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
each_flavor = pytest.mark.parametrize("flavor", FLAVORS, ids=[f"{f.target}-{f.kind}-{f.name}" for f in FLAVORS])


def _params(fn) -> list[str]:
    return [p for p in inspect.signature(fn).parameters if p != "self"]


@each_target
def test_hooks_are_a_typed_object_whose_overrides_keep_the_base_signatures(target):
    hooks = target.lifecycle()
    assert isinstance(hooks, registry.TargetHooks)
    for name, base in inspect.getmembers(registry.TargetHooks, inspect.isfunction):
        if name.startswith("_"):
            continue
        mine = getattr(type(hooks), name)
        assert _params(mine) == _params(base), f"{target.name}: {name}{inspect.signature(mine)}"


@each_target
def test_assembly_offline_fakes_and_policy_rules_resolve(target):
    assert _params(target.load_assembly()) == ["ctx"]
    fake = target.offline_module()
    assert fake is not None, f"{target.name} cannot be planned offline"
    assert _params(fake.attributes) == ["typ", "name", "inputs", "placement"]
    assert _params(fake.call) == ["placement", "token", "args"]
    for rule in target.policy_rules():
        assert _params(rule) == ["plan", "recipe"], rule.__name__


@each_target
def test_placement_model_is_discriminated_by_the_targets_name(target):
    assert get_args(target.placement.model_fields["type"].annotation) == (target.name,)


@each_flavor
def test_component_is_a_typed_component_with_its_own_type_token(flavor):
    cls = flavor.load()
    assert issubclass(cls, Component), flavor.component
    assert cls.TYPE == f"mlstack:{flavor.target}:{cls.TYPE.rsplit(':', 1)[-1]}", cls.TYPE
    assert _params(cls.__init__) == ["name", "args", "opts"]


def test_type_tokens_are_unique():
    tokens = [f.load().TYPE for f in FLAVORS]
    assert sorted({t for t in tokens if tokens.count(t) > 1}) == []


@each_flavor
def test_settings_wiring_and_hints_resolve(flavor):
    assert get_args(flavor.settings.model_fields["flavor"].annotation) == (flavor.name,)
    assert set(flavor.needs + flavor.uses) <= set(registry.KINDS) - {flavor.kind}
    # the model is the target's own: no setting is another target's (their descriptions once said "(aws) ...")
    assert not [n for n, f in flavor.settings.model_fields.items() if (f.description or "").startswith("(")]
    if isinstance(flavor.verify, registry.Unsupported):
        assert flavor.verify.reason
    else:
        hooks = registry.target(flavor.target).lifecycle()
        if flavor.verify in hooks.check_names:  # the target's own (it acts on the platform): given by its hooks
            assert flavor.verify not in CHECKS
            assert set(hooks.checks(None, "stack", {})) == set(hooks.check_names)
        else:
            assert flavor.verify in CHECKS and _params(CHECKS[flavor.verify])[1:] == ["secrets"]
    assert set(flavor.without) <= set(flavor.uses), "a note for a kind the flavor does not use"
    if flavor.problems is not None:
        assert len(_params(flavor.problems)) == 3
    if flavor.zenml_config is not None:
        assert len(_params(flavor.zenml_config)) == 1
    for module in flavor.requires:
        assert module.isidentifier() or all(part.isidentifier() for part in module.split("."))
