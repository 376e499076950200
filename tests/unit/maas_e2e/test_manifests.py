"""The manifests render with kustomize and carry what docs/contract.md says a cluster gets."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from maas_e2e.expected import IDENTITY_TIER_LABEL
from maas_e2e.rbac import namespace_group

ROOT = Path(__file__).resolve().parents[3] / "manifests"
OVERLAYS = ["stack", "models/simulator", "e2e", "e2e/premium-model"]


def render(overlay: str) -> list[dict]:
    out = subprocess.run(
        ["kubectl", "kustomize", str(ROOT / overlay)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


@pytest.fixture(scope="module")
def e2e() -> list[dict]:
    return render("e2e")


def one(objects: list[dict], kind: str, name: str) -> dict:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_renders(overlay: str) -> None:
    objects = render(overlay)
    assert objects, f"{overlay} rendered no objects"
    assert all(o.get("apiVersion") and o["metadata"].get("name") for o in objects)


def test_gatewayclass_component_renders_the_openshift_controller(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "resources": [os.path.relpath(ROOT / "stack", tmp_path)],
                "components": [os.path.relpath(ROOT / "stack/components/gatewayclass", tmp_path)],
            }
        )
    )
    out = subprocess.run(
        ["kubectl", "kustomize", "--load-restrictor=LoadRestrictionsNone", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    classes = [o for o in yaml.safe_load_all(out) if o and o["kind"] == "GatewayClass"]
    assert [c["spec"]["controllerName"] for c in classes] == ["openshift.io/gateway-controller/v1"]


@pytest.mark.parametrize(
    ("kind", "name", "namespace"),
    [
        ("Deployment", "maas-api", "maas-api"),
        ("Service", "maas-api", "maas-api"),
        ("ServiceAccount", "maas-api", "maas-api"),
        ("HTTPRoute", "maas-api-route", "maas-api"),
        ("AuthPolicy", "maas-api-auth-policy", "maas-api"),
        ("ConfigMap", "tier-to-group-mapping", "maas-api"),
        ("Gateway", "maas-default-gateway", "openshift-ingress"),
        ("AuthPolicy", "gateway-auth-policy", "openshift-ingress"),
        ("RateLimitPolicy", "gateway-rate-limits", "openshift-ingress"),
        ("TokenRateLimitPolicy", "gateway-token-rate-limits", "openshift-ingress"),
        ("TelemetryPolicy", "user-group", "openshift-ingress"),
        ("LLMInferenceService", "facebook-opt-125m-simulated", "llm"),
        ("Role", "model-user", "llm"),
    ],
)
def test_contract_objects_live_in_their_namespaces(
    e2e: list[dict], kind: str, name: str, namespace: str
) -> None:
    obj = one(e2e, kind, name)
    assert obj["metadata"].get("namespace") == namespace


def test_maas_api_deployment_has_the_dev_settings(e2e: list[dict]) -> None:
    container = one(e2e, "Deployment", "maas-api")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    assert env["PROVIDER"] == "sa-tokens"
    assert env["DEBUG_MODE"] == "true"
    assert env["NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"


def test_maas_api_route_rewrites_the_prefix(e2e: list[dict]) -> None:
    rules = one(e2e, "HTTPRoute", "maas-api-route")["spec"]["rules"]
    assert [r["matches"][0]["path"]["value"] for r in rules] == ["/v1/models", "/maas-api"]
    rewrite = rules[1]["filters"][0]["urlRewrite"]["path"]
    assert rewrite == {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}


def tiers_of(objects: list[dict]) -> list[dict]:
    """The parsed `data.tiers` of the ConfigMap tier-to-group-mapping, in file order."""
    return yaml.safe_load(one(objects, "ConfigMap", "tier-to-group-mapping")["data"]["tiers"])


def test_stack_tiers_are_the_contract_defaults() -> None:
    tiers = {t["name"]: (t["level"], t["groups"]) for t in tiers_of(render("stack"))}
    assert tiers == {
        "free": (0, ["tier-free-users", "system:authenticated"]),
        "premium": (1, ["tier-premium-users", "premium-group"]),
        "enterprise": (2, ["tier-enterprise-users", "enterprise-group", "admin-group"]),
    }


def test_e2e_tiers_are_the_stacks_plus_one_identity_namespace_group_each(e2e: list[dict]) -> None:
    """The e2e overlay copies the stack's tiers (kustomize cannot append to the YAML string
    `data.tiers`), so this catches the copy drifting: a tier added or changed in the stack that
    would otherwise silently vanish from, or differ in, what the suite deploys and expects."""
    stack_file = "manifests/stack/maas-api/tier-to-group-mapping.yaml"
    e2e_file = "manifests/e2e/tier-to-group-mapping.yaml"
    identities = {
        o["metadata"]["labels"][IDENTITY_TIER_LABEL]: o["metadata"]["name"]
        for o in e2e
        if o["kind"] == "Namespace" and IDENTITY_TIER_LABEL in o["metadata"].get("labels", {})
    }
    stack = tiers_of(render("stack"))
    names = [t["name"] for t in stack]
    assert sorted(identities) == sorted(names), (
        f"every tier of {stack_file} needs one Namespace labelled {IDENTITY_TIER_LABEL} in "
        f"manifests/e2e/tier-identities.yaml, and its tier, with that namespace's group, in "
        f"{e2e_file}: the namespaces label {sorted(identities)}, the stack has {names}"
    )
    wanted = [
        {**tier, "groups": [*(tier.get("groups") or []), namespace_group(identities[tier["name"]])]}
        for tier in stack
    ]
    actual = tiers_of(e2e)
    assert actual == wanted, (
        f"{e2e_file} must hold exactly the tiers of {stack_file} (same names, levels, "
        "descriptions, groups, order), each with the group of its identity namespace added last;"
        f" change {e2e_file} to this `data.tiers`:\n{yaml.safe_dump(wanted, sort_keys=False)}"
    )


@pytest.mark.parametrize(
    ("kind", "name", "expected"),
    [
        (
            "RateLimitPolicy",
            "gateway-rate-limits",
            {"free": (5, "2m"), "premium": (20, "2m"), "enterprise": (50, "2m")},
        ),
        (
            "TokenRateLimitPolicy",
            "gateway-token-rate-limits",
            {"free": (100, "1m"), "premium": (50000, "1m"), "enterprise": (100000, "1m")},
        ),
    ],
)
def test_limits_are_the_contract_figures(
    e2e: list[dict], kind: str, name: str, expected: dict
) -> None:
    policy = one(e2e, kind, name)
    assert policy["spec"]["targetRef"]["name"] == "maas-default-gateway"
    actual = {}
    for tier, limit in _limits_by_tier(policy).items():
        assert limit["counters"] == [{"expression": "auth.identity.userid"}]
        actual[tier] = (limit["rates"][0]["limit"], limit["rates"][0]["window"])
    assert actual == expected


TIER_PREDICATE = re.compile(r'auth\.identity\.tier == "([^"]+)"')


def _limits_by_tier(policy: dict) -> dict[str, dict]:
    """Each limit of a policy under the tier its only `when` predicate names (the limit's own
    name is free: the token limits are named `<tier>-user-tokens`)."""
    found = {}
    for name, limit in policy["spec"]["limits"].items():
        [when] = limit["when"]
        match = TIER_PREDICATE.fullmatch(when["predicate"])
        assert match, f"limit {name}: predicate {when['predicate']!r} names no tier"
        assert match.group(1) not in found, f"limit {name}: a second limit for {match.group(1)}"
        found[match.group(1)] = {**limit, "name": name}
    return found


def test_token_limits_have_upstreams_names(e2e: list[dict]) -> None:
    """opendatahub-io/models-as-a-service names them `<tier>-user-tokens`. Server-side apply over
    an upstream stack keeps upstream's keys of `spec.limits` beside ours, so other names would
    make a second token budget per tier; and Kuadrant gives Limitador's limits these names, which
    must differ from the request limits' (`<tier>`) for `limit_name` to tell them apart."""
    by_tier = _limits_by_tier(one(e2e, "TokenRateLimitPolicy", "gateway-token-rate-limits"))
    assert by_tier, "the TokenRateLimitPolicy has no limit for a tier"
    names = {tier: limit["name"] for tier, limit in by_tier.items()}
    assert names == {tier: f"{tier}-user-tokens" for tier in by_tier}, names


def test_gateway_auth_policy_reviews_for_the_gateway_audience(e2e: list[dict]) -> None:
    rules = one(e2e, "AuthPolicy", "gateway-auth-policy")["spec"]["rules"]
    review = rules["authentication"]["service-accounts"]["kubernetesTokenReview"]
    assert review["audiences"] == ["maas-default-gateway-sa"]
    tier = rules["metadata"]["matchedTier"]
    assert tier["http"]["url"].endswith("/v1/tiers/lookup")
    assert tier["cache"]["ttl"] == 300
    sar = rules["authorization"]["tier-access"]["kubernetesSubjectAccessReview"]
    assert sar["resourceAttributes"]["verb"] == {"value": "post"}
    props = rules["response"]["success"]["filters"]["identity"]["json"]["properties"]
    assert set(props) == {"userid", "tier"}


def test_maas_api_auth_policy_accepts_both_audiences(e2e: list[dict]) -> None:
    policy = one(e2e, "AuthPolicy", "maas-api-auth-policy")
    assert policy["spec"]["targetRef"]["kind"] == "HTTPRoute"
    review = policy["spec"]["rules"]["authentication"]["openshift-identities"]
    assert review["kubernetesTokenReview"]["audiences"] == [
        "https://kubernetes.default.svc",
        "maas-default-gateway-sa",
    ]


def test_simulator_model_runs_llm_d_inference_sim(e2e: list[dict]) -> None:
    svc = one(e2e, "LLMInferenceService", "facebook-opt-125m-simulated")
    assert svc["spec"]["model"]["name"] == "facebook/opt-125m"
    assert svc["spec"]["router"]["gateway"]["refs"] == [
        {"name": "maas-default-gateway", "namespace": "openshift-ingress"}
    ]
    container = svc["spec"]["template"]["containers"][0]
    assert container["image"] == "ghcr.io/llm-d/llm-d-inference-sim:v0.5.1"
    args = container["args"]
    assert args[args.index("--model") + 1] == "facebook-opt-125m-simulated"
    assert args[args.index("--mode") + 1] == "random"


@pytest.mark.parametrize(
    ("binding", "tiers"),
    [
        ("model-post-access-tier-binding", {"free", "premium", "enterprise"}),
        ("premium-model-post-access", {"premium", "enterprise"}),
    ],
)
def test_model_rbac_binds_the_tier_groups(e2e: list[dict], binding: str, tiers: set[str]) -> None:
    subjects = one(e2e, "RoleBinding", binding)["subjects"]
    prefix = "system:serviceaccounts:maas-default-gateway-tier-"
    assert {s["name"].removeprefix(prefix) for s in subjects if s["kind"] == "Group"} == tiers


# KServe (release-v0.15, config/llmisvc/config-llm-template.yaml) mounts the model's self-signed
# certificate secret `<name>-kserve-self-signed-certs` here; a path elsewhere makes the simulator
# exit at start and the model never becomes Ready.
KSERVE_CERT_DIR = "/etc/ssl/certs"


@pytest.mark.parametrize("name", ["facebook-opt-125m-simulated", "premium-simulated"])
def test_simulator_tls_files_are_where_kserve_mounts_them(e2e: list[dict], name: str) -> None:
    container = one(e2e, "LLMInferenceService", name)["spec"]["template"]["containers"][0]
    args = container["args"]
    assert args[args.index("--ssl-certfile") + 1] == f"{KSERVE_CERT_DIR}/tls.crt"
    assert args[args.index("--ssl-keyfile") + 1] == f"{KSERVE_CERT_DIR}/tls.key"


def test_every_model_serves_tls_from_the_kserve_mount(e2e: list[dict]) -> None:
    for svc in (o for o in e2e if o["kind"] == "LLMInferenceService"):
        for container in svc["spec"]["template"]["containers"]:
            paths = [a for a in container.get("args") or [] if a.startswith("/") and "tls" in a]
            outside = [p for p in paths if not p.startswith(f"{KSERVE_CERT_DIR}/")]
            assert not outside, f"{svc['metadata']['name']}: TLS files outside KServe's mount"


def test_the_gateway_is_not_managed_by_odh_model_controller(e2e: list[dict]) -> None:
    """Without the annotation, odh-model-controller adds a gateway AuthPolicy of its own
    (maas-default-gateway-authn) that overrides ours (upstream #164)."""
    gateway = one(e2e, "Gateway", "maas-default-gateway")
    assert gateway["metadata"]["annotations"]["opendatahub.io/managed"] == "false"
