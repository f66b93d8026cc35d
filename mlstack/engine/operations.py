"""What each verb does to a stack, independent of how the CLI prints it."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from collections.abc import Callable
from typing import Any

from mlstack import registry
from mlstack.engine import plugins, runtimes
from mlstack.engine.events import ProgressPrinter
from mlstack.engine.kubeconfig import reaching
from mlstack.engine.plan import ChangePlan

# the verbs that need no engine (and import none of it): here too, as every verb is
from mlstack.engine.planning import (  # noqa: F401
    StackRef,
    offline_preview,
    resolve,
)
from mlstack.engine.results import (
    CancelResult,
    DeployResult,
    DestroyResult,
    DriftResult,
    PreviewResult,
    VerifyResult,
)
from mlstack.engine.workspace import (
    StackSession,
    backend_url,
    data_at_risk,
    display_url,
    kept_in_place,
    save_recipe,
    saved_recipe,
)
from mlstack.errors import (
    CredentialsError,
    MlstackError,
    StackLockedError,
    StackNotFoundError,
    UsageError,
)
from mlstack.home import Home, write_private
from mlstack.recipe.model import Recipe
from mlstack.registry import SharedStack, TargetHooks


def session(
    home: Home,
    recipe: Recipe,
    ref: StackRef,
    emit: Callable[[str], None] | None = None,
    runtime_paths: dict[str, str] | None = None,
    planning: bool = False,
    runs_program: bool = False,
    gate: Callable[[], None] | None = None,
) -> StackSession:
    from mlstack.stacks.program import make_program, runtimes_of, warm

    home.make_private(recipe.name if not planning else None)
    # The engine's start (and its refresh, where it runs one) take a second or more before it runs the program:
    # import the program's modules meanwhile (the thread only imports; the program imports the same modules and
    # waits on the lock).
    if runs_program:
        threading.Thread(target=_quietly, args=(warm, recipe), daemon=True).start()
    if runtime_paths is None:  # not deploying: the paths runtimes are (or would be) installed at
        runtime_paths = {name: str(runtimes.expected_path(home, name)) for name in runtimes_of(recipe)}
    return StackSession(
        home,
        recipe.name,
        backend=backend_url(home, recipe.state.backend, ref.backend),
        secrets_provider=recipe.state.secrets_provider,
        program=make_program(recipe, home.stack_dir(recipe.name), runtime_paths, gate=gate),
        progress=ProgressPrinter(emit, planning=planning) if emit else None,
        refresh=registry.target(recipe.target.type).refresh,
    )


def _quietly(work: Callable[..., Any], *args: Any) -> None:
    """Work done ahead of time: a failure here resurfaces, with its message, where the work is done for real."""
    try:
        work(*args)
    except Exception:  # noqa: BLE001, S110 - the program's own import raises it again, in its place
        pass


def _preflight(
    home: Home, recipe: Recipe, plugin: bool = True, wait: bool = True, program: bool = True
) -> Callable[[], None]:
    """What must hold before the engine starts, in the order a user fixes it: the installation (exit 3), the
    target's own tools and platform (exit 3, 4), credentials (exit 4), the provider plugin (exit 3).

    A target's check that takes time (a cluster's API server) may run in the background: with `wait=False` the
    returned gate waits for it and raises its failure; `deploy` has its program call the gate first, so the check
    overlaps the engine's start and refresh and still comes before any change."""
    from mlstack.stacks.program import check_available

    check_available(recipe)
    target, placement = registry.target(recipe.target.type), recipe.target
    if program:  # what the program reads from this machine (a chart mirror's files)
        target.lifecycle().inputs(placement, recipe.component_specs())
    gate: Callable[[], None] = _passed
    # what the target needs beyond credentials (a cluster that answers, kind's tools, ...)
    gate = target.lifecycle().preflight(placement, recipe.name) or _passed
    if wait:
        gate()
    try:
        ok, detail = target.needs.credentials(placement=placement)
        if not ok:
            raise CredentialsError(
                f"no credentials for target {recipe.target.type}: {detail}",
                hint="configure them, then check with `mlstack doctor`",
            )
        if plugin:
            plugins.require(home, recipe.target.type, target.needs.plugins_for(placement))
    except MlstackError:
        gate()  # the platform's own failure comes first in the order a user fixes things
        raise
    return gate


def _passed() -> None:
    return None


def refused(stack: str, steps: list[dict[str, Any]], replace_data: bool) -> None:
    """Raise when the plan's steps (`Step.to_dict`) would lose data: without `replace_data`, any step on what
    holds data; with it, a replacement of what mlstack keeps on delete (it cannot be replaced in place)."""
    kept = [s["urn"] for s in steps if s["replacesData"] and s["keepsOld"]]
    if replace_data and kept:
        raise kept_in_place(stack, kept)
    at_risk = [s["urn"] for s in steps if s["replacesData"]]
    if not replace_data and at_risk:
        raise data_at_risk(stack, at_risk)


def _fingerprint(recipe: Recipe) -> str:
    """What a deploy deploys: the resolved recipe and the release that turns it into resources."""
    from mlstack import __version__

    canonical = json.dumps(recipe.model_dump(mode="json", exclude_none=True), sort_keys=True)
    return hashlib.sha256(f"{__version__}\n{canonical}".encode()).hexdigest()


def deploy(
    home: Home, ref: StackRef, emit: Callable[[str], None], replace_data: bool = False, previewed: bool = False
) -> DeployResult:
    """Create or update the stack. What holds the stack's data is never replaced or deleted unless `replace_data`.

    The engine refuses such a step itself (those resources are protected), but only when it reaches it, after the
    steps before it (and not at all in a state an earlier release wrote, which protects nothing). So whenever a
    deploy can change what exists — a new recipe or a new release over a deployed stack (or one this home has
    not deployed) — the plan is checked first, unless the caller just showed it (`previewed`), and the deploy is
    refused before any change. A redeploy of what was deployed (healing a service) skips that check."""
    from mlstack.stacks.program import runtimes_of

    recipe = resolve(home, ref)
    gate = _preflight(home, recipe, wait=False)
    paths = runtimes.ensure(home, runtimes_of(recipe), emit)
    registry.target(recipe.target.type).lifecycle().prepare(  # e.g. create a kind cluster
        recipe.target, recipe.name, recipe.component_specs(), home.stack_dir(recipe.name) / "run", emit
    )
    s = session(home, recipe, ref, emit, paths, runs_program=True, gate=gate)
    known = s.has_checkpoint() or home.stack_dir(recipe.name).exists()
    save_recipe(home, recipe.name, recipe.model_dump(mode="json", exclude_none=True))
    deployed = home.stack_dir(recipe.name) / "deployed"
    fingerprint = _fingerprint(recipe)
    new_program = not deployed.exists() or deployed.read_text().strip() != fingerprint
    try:
        if not previewed and (new_program or replace_data) and s.deployed_resources():
            emit("  checking the plan first: what is deployed changes (a new recipe or release)")
            if s.progress is not None:
                s.progress.planning = True  # the check changes nothing: no step is reported as done
            steps = s.preview().steps
            if s.progress is not None:
                s.progress.planning = False
            refused(recipe.name, [step.to_dict() for step in steps], replace_data)
        gate()  # the cluster's own checks first: nothing cluster-wide is installed for a deploy they refuse
        _share(home, recipe, ref, emit, leaving=False)  # e.g. the cluster's add-ons, before what uses them
        result = s.up(with_secrets=recipe.outputs.include_secrets, replace_data=replace_data)
        write_private(deployed, fingerprint + "\n")
    except MlstackError:
        try:
            gate()  # a failed check is the cause, whatever the engine made of it (its refresh may fail first)
        except MlstackError:
            if not known:  # nothing of this stack existed before this run: leave nothing behind
                s.forget()
                shutil.rmtree(home.stack_dir(recipe.name), ignore_errors=True)
            raise
        raise
    from mlstack.stacks.program import HIDDEN_OUTPUTS

    outputs = {k: v for k, v in result.outputs.items() if k not in HIDDEN_OUTPUTS}
    files = write_client_files(home, recipe, result.outputs)
    # runtimes of earlier pins that no stack uses any more (an upgrade moved them all to the new pins)
    elsewhere = any(
        backend_url(home, (saved_recipe(home, name).get("state") or {}).get("backend")) != home.default_backend_url
        for name in home.stack_names()
        if (home.stack_dir(name) / "recipe.json").exists()
    )
    for name in runtimes.prune(home, elsewhere):
        emit(f"removed runtime {name}: no stack of this home uses it any more")
    return DeployResult(
        stack=recipe.name,
        target=recipe.target.type,
        changes=result.changes,
        changed=result.changed,
        outputs=outputs,
        files=files,
        notes=[*recipe.notes(), *result.notes],
    )


def _share(home: Home, recipe: Recipe, ref: StackRef, emit: Callable[[str], None], leaving: bool) -> str | None:
    """Bring what the stacks at the recipe's placement share (a cluster's add-ons: one Pulumi stack for all of
    them, in the recipe's backend) to what they use now: before a deploy, what this stack needs is added; after a
    purge, what no other stack uses is removed, and the shared stack with the last of it. What was removed, or None."""
    shared = (
        registry.target(recipe.target.type)
        .lifecycle()
        .shared(recipe.target, recipe.name, recipe.shared_needs(), leaving)
    )
    if shared is None:
        return None
    backend = backend_url(home, recipe.state.backend, ref.backend)
    return run_shared(home, shared, backend, recipe.state.secrets_provider, emit, leaving)


def _shared_session(
    home: Home, shared: SharedStack, backend: str, secrets_provider: str | None, emit: Callable[[str], None]
) -> tuple[StackSession, int | None, dict[str, Any], list[Callable[[], None]]]:
    """The shared stack's session, how many resources it holds (None: the backend has no such stack), its outputs
    (the parts it holds are its SHARED_OUTPUT), and the slot its program goes into once chosen."""
    chosen: list[Callable[[], None]] = []
    s = StackSession(
        home,
        shared.name,
        backend=backend,
        secrets_provider=secrets_provider,
        program=lambda: chosen[0](),
        progress=ProgressPrinter(emit),
        work_dir=home.root / "shared" / shared.name,
    )
    held = s.deployed_resources()
    return s, held, (s.outputs() if held else {}), chosen


def shared_plan(
    home: Home,
    shared: SharedStack,
    backend: str,
    secrets_provider: str | None,
    emit: Callable[[str], None],
    mode: str,
    target: str,
) -> dict[str, Any] | None:
    """What a deploy would change in the shared stack (`mode` "engine": a preview, nothing written), or how it
    differs from what exists (`mode` "drift": a refresh preview); {stack, plan} (ChangePlan.to_dict()), or None when
    there is nothing to compare (drift: it was never deployed from this backend)."""
    if shared.gone:
        return None
    s, held, outputs, chosen = _shared_session(home, shared, backend, secrets_provider, emit)
    if mode == "drift":
        if not held:
            return None
        result = s.drift()
    else:
        chosen.append(shared.plan(tuple(outputs.get(registry.SHARED_OUTPUT) or {}), outputs)[1])
        result = s.preview()
    return {"stack": shared.name, "plan": ChangePlan(shared.name, target, mode, result.steps).to_dict()}


def _shared_of(home: Home, recipe: Recipe, ref: StackRef, emit: Callable[[str], None], mode: str) -> dict | None:
    """`shared_plan` of the recipe's shared stack (a cluster's add-ons), as a deploy would bring it up."""
    shared = (
        registry.target(recipe.target.type).lifecycle().shared(recipe.target, recipe.name, recipe.shared_needs(), False)
    )
    if shared is None:
        return None
    backend = backend_url(home, recipe.state.backend, ref.backend)
    return shared_plan(home, shared, backend, recipe.state.secrets_provider, emit, mode, recipe.target.type)


def run_shared(
    home: Home,
    shared: SharedStack,
    backend: str,
    secrets_provider: str | None,
    emit: Callable[[str], None],
    leaving: bool = False,
) -> str | None:
    """Bring a shared stack to `shared.wanted`: an update, or its destroy and removal when it is to hold nothing;
    what was removed, or None. A stack `leaving` never creates nor upgrades it: it removes what no one uses."""
    s, held, outputs, chosen = _shared_session(home, shared, backend, secrets_provider, emit)
    before = list(outputs.get(registry.SHARED_OUTPUT) or {})
    if held is None and (leaving or shared.gone):
        return None  # never deployed from this backend: nothing to remove, and a leaving stack creates nothing
    if shared.gone:
        s.remove(force=True)  # its objects went with the placement
        return f"shared {', '.join(before) or 'stack'} ({shared.name}: gone with the cluster)"
    wanted, program = shared.plan(tuple(before), outputs)
    chosen.append(program)
    if leaving and held and before and set(before) <= set(wanted):
        return None  # every part of it still used: not even an update
    if wanted:
        emit(f"  shared by the stacks of this placement ({shared.name}): {', '.join(wanted)}")
        s.up(with_secrets=False)
        gone = [name for name in before if name not in wanted]
        users = f"; still used by {', '.join(shared.users)}" if shared.users else ""
        return f"shared {', '.join(gone)} ({shared.name}; no other stack uses them{users})" if gone else None
    if not held:
        if held == 0:
            s.remove()  # an empty stack: only its name in the backend
        return None
    what = ", ".join(before) or "what a failed first install left"  # an install that failed exports nothing
    emit(f"  removing {shared.name}: no other stack uses {what}")
    s.destroy()
    s.remove()
    return f"shared {what} ({shared.name}: no other stack uses it)"


EXTENSIONS = {"json": "json", "yaml": "yaml", "env": "env", "zenml": "zenml.yaml"}


def write_client_files(home: Home, recipe: Recipe, outs: dict[str, Any]) -> dict[str, str]:
    """The formats the recipe asks for, rendered from the typed outputs; 0600 when they hold secrets."""
    from mlstack.clients.models import StackClients
    from mlstack.clients.render import render
    from mlstack.home import write_private
    from mlstack.stacks.program import OUTPUT_CLIENTS, OUTPUT_SECRETS

    spec = recipe.outputs
    clients = StackClients.model_validate(outs[OUTPUT_CLIENTS])
    secrets = dict(outs.get(OUTPUT_SECRETS) or {})
    directory = home.stack_dir(recipe.name) / "outputs"
    directory.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    for fmt in spec.formats:
        path = directory / f"{recipe.name}.{EXTENSIONS[fmt]}"
        text = render(clients, secrets, fmt, spec.include_secrets, spec.zenml_version)
        write_private(path, text)  # owner-only, as everything under the home
        written[fmt] = str(path)
    return written


def preview(home: Home, ref: StackRef, emit: Callable[[str], None]) -> PreviewResult:
    """The engine's plan against the stack's state (refreshed first, where a deploy refreshes): nothing is created or
    written."""
    recipe = resolve(home, ref)
    _preflight(home, recipe)
    shared = _shared_of(home, recipe, ref, emit, "engine")  # what a deploy brings up first (a cluster's add-ons)
    result = session(home, recipe, ref, emit, planning=True, runs_program=True).preview()
    plan = ChangePlan(recipe.name, recipe.target.type, "engine", result.steps)
    return PreviewResult(
        stack=recipe.name,
        target=recipe.target.type,
        changes=result.changes,
        changed=plan.changed or bool(shared and shared["plan"]["changed"]),
        plan=plan.to_dict(),
        notes=recipe.notes(),
        shared=shared,
    )


def drift(home: Home, ref: StackRef, emit: Callable[[str], None]) -> DriftResult:
    """What differs between the stack's state and what really exists (a refresh preview: nothing is written)."""
    recipe = resolve(home, ref)
    _preflight(home, recipe)
    s = session(home, recipe, ref, emit, planning=True)
    if not s.deployed_resources():  # a destroyed stack has nothing to drift from: it is not deployed
        raise StackNotFoundError(
            f"stack {recipe.name!r} is not deployed", hint="`mlstack deploy` it first (`mlstack list` shows the stacks)"
        )
    hooks = registry.target(recipe.target.type).lifecycle()
    # what the platform moves itself (a node pool's size under its autoscaler) is not drift
    result = s.drift(hooks.drift_ignores(recipe.target))
    plan = ChangePlan(recipe.name, recipe.target.type, "drift", result.steps)
    # what the state cannot show: the platform runs something else than it holds (a rollout that did not finish);
    # a cluster the stack created is reached by the kubeconfig in its outputs
    with reaching(_clients(s.outputs()) if type(hooks).health is not TargetHooks.health else None):
        unhealthy = hooks.health(recipe.target, recipe.name)
        shared = _shared_of(home, recipe, ref, emit, "drift")  # the add-ons the stack uses, shared with others
    return DriftResult(
        stack=recipe.name,
        target=recipe.target.type,
        drifted=plan.changed or bool(unhealthy) or bool(shared and shared["plan"]["changed"]),
        plan=plan.to_dict(),
        unhealthy=[{"component": c, "problem": p} for c, p in unhealthy],
        shared=shared,
    )


def destroy(home: Home, ref: StackRef, purge: bool, emit: Callable[[str], None]) -> DestroyResult:
    """Delete what the stack created, keeping its data (what the target keeps: volumes, a namespace, files) unless
    `purge`; a purge deletes the kept data too, also after an earlier plain destroy. Nothing is ever created here."""
    recipe = resolve(home, ref)
    lost = [f"components.{kind} ({f.name}): {f.deletes_data}" for kind, f in recipe.flavors().items() if f.deletes_data]
    target = registry.target(recipe.target.type)
    if target.deletes_data and (text := target.deletes_data(recipe.target)):
        lost.append(f"target: {text}")
    if lost and not purge:  # "data is kept unless --purge": where the cloud cannot keep it, ask before
        raise UsageError(
            f"destroying stack {recipe.name!r} on {recipe.target.type} deletes data: " + "; ".join(lost),
            hint="copy what you need, then run the same command with --purge",
        )
    s = session(home, recipe, ref, emit)
    deployed = s.deployed_resources()  # the state answers first: with nothing deployed, nothing else matters
    if not deployed and not purge:
        raise StackNotFoundError(
            f"stack {recipe.name!r} has nothing deployed"
            + (" (it was destroyed before; what that kept is still there)" if deployed == 0 else ""),
            hint=f"`mlstack destroy --stack {recipe.name} --purge` deletes what an earlier destroy kept",
        )
    _preflight(home, recipe, plugin=False, program=False)
    if deployed:
        plugins.require(home, recipe.target.type, target.needs.plugins_for(recipe.target))
    changes = s.destroy().changes if deployed else {}
    stack_dir = home.stack_dir(recipe.name)
    data = stack_dir / "data"  # components keep their data here (StackContext.data_dir)
    kept = {d.name: str(d) for d in sorted(data.iterdir())} if data.is_dir() else {}
    purged: list[str] = []
    if purge:
        # beyond the state: a namespace and its volumes, a cluster
        purged += [removed] if (removed := target.lifecycle().purge(recipe.target, recipe.name)) else []
        purged += [f"{kind} data in {path}" for kind, path in kept.items()]
        purged += [removed] if (removed := _share(home, recipe, ref, emit, leaving=True)) else []
        if not deployed and not purged:
            raise StackNotFoundError(
                f"stack {recipe.name!r} has nothing deployed and nothing kept to purge",
                hint="`mlstack list` shows the stacks this home knows",
            )
        if deployed is not None:
            s.remove()
        shutil.rmtree(stack_dir, ignore_errors=True)
        kept = {}
    else:
        shutil.rmtree(stack_dir / "run", ignore_errors=True)
        shutil.rmtree(stack_dir / "outputs", ignore_errors=True)
        keeps = target.keeps_on_destroy
        if (text := keeps(recipe.target) if callable(keeps) else keeps) and deployed:
            kept[recipe.target.type] = text
    return DestroyResult(stack=recipe.name, changes=changes, purged=purge, deleted_data=purged, kept=kept)


def outputs(home: Home, ref: StackRef) -> tuple[Recipe, dict[str, Any]]:
    recipe = resolve(home, ref)
    return recipe, session(home, recipe, ref).outputs()


def cancel(home: Home, ref: StackRef, force: bool = False) -> CancelResult:
    """Clear the stack's lock; says when there was none (`held`: None where the backend cannot say cheaply). A lock
    whose holder still runs on this machine is an update in progress, not a crash: refused unless `force`."""
    recipe = resolve(home, ref)
    s = session(home, recipe, ref)
    holders = s.live_holders()
    if holders and not force:
        raise StackLockedError(
            f"stack {recipe.name!r} is locked by an update still running on this machine ({', '.join(holders)})",
            hint="wait for it to finish (or stop it); `mlstack cancel --force` clears the lock anyway",
        )
    held = s.lock_held()
    if held is False:
        if s.deployed_resources() is None:
            raise StackNotFoundError(
                f"stack {recipe.name!r} does not exist in this backend", hint="`mlstack list` shows the stacks"
            )
        return CancelResult(stack=recipe.name, cancelled=False, held=False)
    s.cancel()
    return CancelResult(stack=recipe.name, cancelled=True, held=held)


def list_backend(home: Home, backend: str) -> list[dict[str, Any]]:
    """The stacks a backend holds, whoever deployed them (a team's shared state)."""
    # Not a stack of this home: a work dir of its own, outside the home's stacks.
    rows = StackSession(home, "_", backend=backend, work_dir=home.root / "workspace").backend_stacks()
    return [{**row, "backend": display_url(backend)} for row in rows]


def list_stacks(home: Home) -> list[dict[str, Any]]:
    rows = []
    for name in home.stack_names():
        try:
            recipe = saved_recipe(home, name)
        except (StackNotFoundError, ValueError, OSError):  # a half-written stack dir is not a stack
            continue
        backend = backend_url(home, recipe.get("state", {}).get("backend"))
        try:
            status = StackSession(home, name, backend=backend).status()
        except MlstackError as exc:  # a backend this machine cannot reach now (credentials, network)
            status = {"state": "unknown", "lastChange": None, "resources": None, "why": exc.message}
        rows.append(
            {
                "stack": name,
                "target": recipe.get("target", {}).get("type"),
                **status,
                "backend": display_url(backend),
                "components": {k: v["flavor"] for k, v in (recipe.get("components") or {}).items() if v},
            }
        )
    return rows


def health(recipe: Recipe, clients: Any = None) -> list[tuple[str, str]]:
    """(component, problem) where the platform runs something else than the state says; [] where it cannot tell
    now (a cluster that does not answer: `output` still hands out what the state holds). `clients`: the stack's
    client config (a cluster it created is reached by its own kubeconfig)."""
    try:
        with reaching(clients):
            return registry.target(recipe.target.type).lifecycle().health(recipe.target, recipe.name)
    except MlstackError:
        return []


def _clients(outs: dict[str, Any]) -> Any:
    """The typed client config in a stack's outputs (None: it has none)."""
    from mlstack.clients.models import StackClients
    from mlstack.stacks.program import OUTPUT_CLIENTS

    return StackClients.model_validate(outs[OUTPUT_CLIENTS]) if OUTPUT_CLIENTS in outs else None


def clients_of(home: Home, ref: StackRef) -> tuple[Recipe, Any, dict[str, str]]:
    """The deployed stack's typed client config and its secrets."""
    from mlstack.clients.models import StackClients
    from mlstack.stacks.program import OUTPUT_CLIENTS, OUTPUT_SECRETS

    recipe, outs = outputs(home, ref)
    if OUTPUT_CLIENTS not in outs:
        raise StackNotFoundError(
            f"stack {recipe.name!r} has no outputs: it is not deployed", hint="`mlstack deploy` it first"
        )
    return recipe, StackClients.model_validate(outs[OUTPUT_CLIENTS]), dict(outs.get(OUTPUT_SECRETS) or {})


def verify(home: Home, ref: StackRef) -> VerifyResult:
    recipe, clients, secrets = clients_of(home, ref)
    with reaching(clients):  # a cluster the stack created: by its own kubeconfig
        return _verify(recipe, clients, secrets)


def _verify(recipe: Recipe, clients: Any, secrets: dict[str, str]) -> VerifyResult:
    from mlstack.clients.models import StackClients
    from mlstack.clients.verify import CheckResult, as_dicts
    from mlstack.clients.verify import verify as run_checks

    hooks = registry.target(recipe.target.type).lifecycle()
    # a component whose rollout did not finish answers with its previous pods: it fails, whatever they answer
    unhealthy = dict(hooks.health(recipe.target, recipe.name))
    reached = hooks.connect(recipe.target, recipe.name, clients.components)
    try:
        if reached is None:
            results = run_checks(clients, secrets, hooks.checks(recipe.target, recipe.name, clients.components))
        else:  # services only the cluster reaches are checked through port forwards, as a user would reach them
            with reached as local:
                results = run_checks(
                    StackClients.model_validate({**clients.model_dump(by_alias=True), "components": local}),
                    secrets,
                    hooks.checks(recipe.target, recipe.name, local),
                )
    except MlstackError:
        if not unhealthy:
            raise
        results = []  # the unfinished rollout is the cause to fix first (its pods may be what does not answer)
    failed = [
        CheckResult(kind, clients.components.get(kind, {}).get("flavor", "?"), False, f"not as deployed: {why}", 0.0)
        for kind, why in unhealthy.items()
    ]
    results = failed + [r for r in results if r.kind not in unhealthy]
    return VerifyResult(stack=recipe.name, ok=all(r.ok for r in results), checks=as_dicts(results))
