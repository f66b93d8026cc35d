"""The policy suite: every recipe in recipes/ whose target declares policy rules passes them on its offline plan
(Pulumi mocks), plus the rules every target shares (below). Recipes are discovered, not listed, and each target
package keeps its own rules (`components/<target>/policy.py`), so a new recipe or target is enrolled by existing.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import re
from functools import cache
from pathlib import Path

import pytest

from mlstack import registry
from mlstack.engine.offline import Plan, plan
from mlstack.recipe.loader import load_recipe
from tests.conftest import RECIPES


def policed_recipes() -> list[Path]:
    """Recipes whose target has policy rules (the local target has none: it runs nothing beyond this machine)."""
    return [path for path in sorted(RECIPES.glob("*.yaml"))
            if registry.target(load_recipe(path).target.type).policy_rules()]


@cache
def planned(path: Path) -> Plan:
    return plan(load_recipe(path))


RECIPE_PATHS = policed_recipes()
RULES = [
    (path, rule)
    for path in RECIPE_PATHS
    for rule in registry.target(load_recipe(path).target.type).policy_rules(load_recipe(path).target)
]


@pytest.mark.parametrize(("path", "rule"), RULES, ids=[f"{p.stem}-{r.__name__}" for p, r in RULES])
def test_recipe_passes_its_targets_policy_rule(path, rule):
    rule(planned(path), load_recipe(path))


def test_every_target_with_resources_beyond_this_machine_is_policed():
    assert {load_recipe(p).target.type for p in RECIPE_PATHS} >= {"aws", "gcp", "azure"}


each_recipe = pytest.mark.parametrize("path", RECIPE_PATHS, ids=[p.name for p in RECIPE_PATHS])


@each_recipe
def test_there_is_a_plan_to_check(path):
    assert planned(path).resources


@each_recipe
def test_resource_names_are_unique_in_the_plan(path):
    """Pulumi allows one name for two types; a reader of the plan (or of the state) should not have to."""
    names = [r.name for r in planned(path).resources]
    assert sorted({n for n in names if names.count(n) > 1}) == []


# What EC2 takes in the description of a security group or of one of its rules; anything else (an apostrophe) is
# refused only when the stack is deployed (InvalidParameterValue), which an offline plan would not show
EC2_DESCRIPTION = re.compile(r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*")
SECURITY_GROUP_TYPES = ("aws:ec2/securityGroup:SecurityGroup",
                        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")


def test_the_ec2_description_alphabet_refuses_what_ec2_refuses():
    assert EC2_DESCRIPTION.fullmatch("mlstack s: MLflow database, from the cluster (tcp 5432) #1 [a]")
    assert not EC2_DESCRIPTION.fullmatch("MLflow's database") and not EC2_DESCRIPTION.fullmatch("café")


@each_recipe
def test_security_group_descriptions_use_only_what_ec2_accepts(path):
    bad = [(r.name, r.inputs["description"]) for r in planned(path).resources
           if r.type in SECURITY_GROUP_TYPES and not EC2_DESCRIPTION.fullmatch(str(r.inputs.get("description") or ""))]
    assert bad == []


def _sdk_class(typ: str):
    """`aws:s3/bucket:Bucket` -> pulumi_aws.s3.Bucket (None for providers and components)."""
    package, _, rest = typ.partition(":")
    module, _, name = rest.partition(":")
    if package in ("pulumi", "mlstack", "pulumi-python") or not name:  # providers, components, dynamic resources
        return None
    sdk = "pulumi_" + package.replace("-", "_")  # Pulumi's naming of a provider's Python SDK
    group, _, version = module.partition("/")
    # `aws:s3/bucket:Bucket` lives in pulumi_aws.s3; `kubernetes:apps/v1:Deployment` in pulumi_kubernetes.apps.v1
    # (`networking.k8s.io/v1` in .networking.v1)
    for path in (f"{sdk}.{group}", f"{sdk}.{group.split('.')[0]}.{version}"):
        try:
            return getattr(importlib.import_module(path), name)
        except (ImportError, AttributeError):
            continue
    if package == "kubernetes" and not group.endswith("k8s.io") and "." in group:
        return None  # a custom resource (KServe's ServingRuntime): a CustomResource, with no tags or labels input
    raise LookupError(typ)


@each_recipe
def test_recipe_tags_land_on_every_taggable_resource(path):
    p = planned(path)
    wanted = load_recipe(path).tags
    untagged = []
    for r in p.resources:
        cls = _sdk_class(r.type) if r.custom else None
        if cls is not None and ("tags" in inspect.signature(cls._internal_init).parameters
                                or "labels" in inspect.signature(cls._internal_init).parameters):
            got = r.inputs.get("tags") or r.inputs.get("labels") or {}
            if not wanted.items() <= got.items():
                untagged.append(r.name)
    assert untagged == []


@each_recipe
def test_generated_secrets_never_appear_in_plaintext(path):
    """Every generated credential reaches resources only as a Pulumi secret (the plan redacts those)."""
    p = planned(path)
    text = json.dumps(p.to_dict())
    assert p.generated, "the plan generated no credential to check"
    assert all(len(value) >= 20 and value not in text for value in p.generated)




def _weakened(path: Path, mutate) -> Plan:
    """The recipe's plan with one resource's inputs changed the way a careless edit would."""
    import copy

    p = copy.deepcopy(planned(path))
    mutate(p)
    return p


def _pod(p: Plan, name: str) -> dict:
    return next(r for r in p.resources if r.name == name).inputs["spec"]["template"]["spec"]


KUBERNETES = RECIPES / "kubernetes.yaml"
INFERENCE_SERVICE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"


def _custom_workload(p: Plan, **pod) -> None:
    """A custom resource running containers (as a KServe flavor would add), its pod spec at spec.predictor."""
    import copy

    serving = next(r for r in p.resources if r.name == "serving-deployment")
    predictor = {**copy.deepcopy(serving.inputs["spec"]["template"]["spec"]), **pod}
    p.resources.append(dataclasses.replace(serving, urn=serving.urn.replace("Deployment", "InferenceService"),
                                           type=INFERENCE_SERVICE, name="serving-inference",
                                           inputs={"spec": {"predictor": predictor}}, raw={}))


BREACHES = {
    "every_pod_spec_is_policed": _custom_workload,
    "containers_are_locked_down": lambda p: _pod(p, "tracking-deployment")["containers"][0]["securityContext"].update(
        readOnlyRootFilesystem=False),
    "containers_have_requests_and_limits": lambda p: _pod(p, "serving-deployment")["containers"][0].pop("resources"),
    "nothing_reaches_the_host": lambda p: _pod(p, "registry-deployment").update(hostNetwork=True),
    "secrets_are_referenced_never_literal": lambda p: _pod(p, "tracking-deployment")["containers"][0]["env"].append(
        {"name": "DB_PASSWORD", "value": "hunter2"}),
    "mounted_secrets_are_read_only_and_owner_only": lambda p: _pod(p, "object_store-statefulset")["containers"][0][
        "volumeMounts"][1].pop("readOnly"),
    "service_account_tokens_only_where_needed": lambda p: _pod(p, "object_store-statefulset").update(
        automountServiceAccountToken=True),
    "rbac_is_namespaced_without_wildcards": lambda p: next(
        r for r in p.resources if r.name == "orchestrator-role").inputs["rules"][0]["verbs"].append("*"),
    "network_is_default_deny_with_one_allow_per_flow": lambda p: p.resources.remove(
        next(r for r in p.resources if r.name == "default-deny")),
    # gke.yaml's MLflow on Cloud SQL, told to connect without TLS
    "databases_outside_the_cluster_take_tls": lambda p: next(
        r for r in p.resources if r.name == "tracking-deployment").inputs["spec"]["template"]["spec"]["containers"][0][
        "env"].append({"name": "DB_SSLMODE", "value": "disable"}),
    "services_are_cluster_internal_unless_exposed": lambda p: next(
        r for r in p.resources if r.name == "tracking-service").inputs["spec"].update(type="LoadBalancer"),
    "namespace_enforces_restricted": lambda p: next(
        r for r in p.resources if r.name == "namespace").inputs["metadata"]["labels"].pop(
        "pod-security.kubernetes.io/enforce"),
    "charts_keep_their_pods_restricted": lambda p: _chart_values(p)["securityContexts"]["pod"].update(
        runAsNonRoot=False),
    "manifests_keep_their_pods_restricted": lambda p: _kfp_applied(p, {"runAsNonRoot": False}),
    "node_agents_are_pinned_and_confined": lambda p: _pod(p, "nvidia-device-plugin")["volumes"].append(
        {"name": "root", "hostPath": {"path": "/"}}),
}
AIRFLOW = RECIPES / "kubernetes-airflow.yaml"
KUBEFLOW = RECIPES / "kubernetes-kubeflow.yaml"
# the rules of what only some recipes have
RULE_RECIPES = {"charts_keep_their_pods_restricted": AIRFLOW, "manifests_keep_their_pods_restricted": KUBEFLOW,
                "node_agents_are_pinned_and_confined": RECIPES / "eks.yaml",
                "databases_outside_the_cluster_take_tls": RECIPES / "gke.yaml"}


def _kfp_applied(p: Plan, pod_security: dict) -> None:
    """KFP's objects as a deploy applies them from the mirror (this machine has no render: one Deployment shaped as
    KFP's, fitted by the flavor), with the given pod security context."""
    from mlstack.components.kubernetes import kubeflow
    from tests.kube.test_kubeflow import STACK, _deployment

    deployment = _deployment("ml-pipeline", [])
    deployment["spec"]["template"]["spec"]["securityContext"] = pod_security
    claim = next(r for r in p.resources if r.name == "orchestrator-db-volume")
    p.resources.append(dataclasses.replace(claim, urn=claim.urn.replace("PersistentVolumeClaim", "ConfigGroup"),
                                           type="kubernetes:yaml/v2:ConfigGroup", name="orchestrator-kubeflow-pipelines",
                                           custom=False, inputs={"objs": kubeflow.stack_objects([deployment], STACK)},
                                           raw={}))


def _chart_values(p: Plan) -> dict:
    return next(r for r in p.resources if r.type == "kubernetes:helm.sh/v4:Chart").inputs["values"]


@pytest.mark.parametrize("rule", registry.target("kubernetes").policy_rules(), ids=lambda r: r.__name__)
def test_each_kubernetes_rule_catches_its_breach(rule):
    from mlstack.policy import PolicyViolation

    path = RULE_RECIPES.get(rule.__name__, KUBERNETES)
    rule(planned(path), load_recipe(path))  # the shipped recipe passes
    with pytest.raises(PolicyViolation):
        rule(_weakened(path, BREACHES[rule.__name__]), load_recipe(path))


@pytest.mark.parametrize(("change", "named"), [
    (lambda v: v["redis"].update(enabled=True), "redis: on"),
    (lambda v: v.pop("statsd"), "statsd: on"),  # the chart's default is on
    (lambda v: v.setdefault("dags", {}).update(gitSync={"enabled": True}), "dags.gitSync: on"),
    (lambda v: v.setdefault("ingress", {}).update(apiServer={"enabled": True}), "ingress: exposed"),
    (lambda v: v.pop("jwtSecretName"), "jwtSecretName: unset"),
    (lambda v: v["data"].pop("metadataSecretName"), "data.metadataSecretName: unset"),
    (lambda v: v["createUserJob"].pop("enabled"), "createUserJob: on"),
    (lambda v: v["securityContexts"]["containers"]["capabilities"].update(drop=[]), "securityContexts.containers"),
    (lambda v: v["apiServer"].pop("serviceAccount"), "apiServer.serviceAccount: a token"),
], ids=["redis", "statsd", "git-sync", "ingress", "jwt", "metadata", "create-user", "capabilities", "token"])
def test_the_airflow_chart_s_values_are_policed(change, named):
    from mlstack.components.kubernetes.policy import charts_keep_their_pods_restricted
    from mlstack.policy import PolicyViolation

    with pytest.raises(PolicyViolation, match=named.replace(".", r"\.")):
        charts_keep_their_pods_restricted(_weakened(AIRFLOW, lambda p: change(_chart_values(p))), load_recipe(AIRFLOW))


def test_a_flavor_declares_its_custom_workload_and_every_pod_rule_reads_it(monkeypatch):
    """Once a flavor's module declares where its custom resource keeps its pod spec, the pod rules read it."""
    from mlstack.components.kubernetes import policy, serving
    from mlstack.policy import PolicyViolation

    monkeypatch.setattr(serving, "POD_SPECS", {INFERENCE_SERVICE: ("spec", "predictor")}, raising=False)
    policy.pod_specs.cache_clear()
    try:
        weakened = _weakened(KUBERNETES, lambda p: _custom_workload(p, hostNetwork=True))
        policy.every_pod_spec_is_policed(weakened, load_recipe(KUBERNETES))  # declared: no longer unpoliced
        with pytest.raises(PolicyViolation, match="serving-inference: shares a host namespace"):
            policy.nothing_reaches_the_host(weakened, load_recipe(KUBERNETES))
    finally:
        policy.pod_specs.cache_clear()
