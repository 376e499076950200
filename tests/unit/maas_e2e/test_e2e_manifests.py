"""The oracle reads the contract's figures (docs/contract.md) from the rendered e2e overlay, and
says clearly what is missing when a manifest is broken."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from maas_e2e.expected import Expected, Limit, load_expected
from maas_e2e.manifests import (
    ManifestError,
    RenderedManifests,
    load_manifests,
    parse_manifests,
    render_overlay,
)

E2E_OVERLAY = Path(__file__).resolve().parents[3] / "manifests" / "e2e"


@pytest.fixture(scope="module")
def rendered() -> RenderedManifests:
    return load_manifests(E2E_OVERLAY)


@pytest.fixture(scope="module")
def expected(rendered: RenderedManifests) -> Expected:
    return Expected.from_manifests(rendered)


def _mutated(rendered: RenderedManifests, mutate: Callable[[list[dict[str, Any]]], None]) -> str:
    docs = copy.deepcopy(list(rendered.documents))
    mutate(docs)
    return yaml.safe_dump_all(docs)


def _doc(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


@pytest.mark.parametrize(
    ("tier", "amount", "window"),
    [("free", 5, "2m"), ("premium", 20, "2m"), ("enterprise", 50, "2m")],
)
def test_request_limits_are_the_contracts(
    expected: Expected, tier: str, amount: int, window: str
) -> None:
    limit = expected.request_limit(tier)
    assert limit == Limit(amount, window), f"{tier}: expected {amount} per {window}, got {limit}"


@pytest.mark.parametrize(
    ("tier", "amount"), [("free", 100), ("premium", 50000), ("enterprise", 100000)]
)
def test_token_limits_are_the_contracts(expected: Expected, tier: str, amount: int) -> None:
    limit = expected.token_limit(tier)
    assert limit == Limit(amount, "1m"), f"{tier}: expected {amount} per 1m, got {limit}"


def test_limits_keep_their_names_under_spec_limits(expected: Expected) -> None:
    """Kuadrant names Limitador's limits after these keys: the bring-up's probe tells the request
    limit's calls by it. The figures compare equal whatever the name."""
    names = {
        tier: (request.name, token.name)
        for tier in expected.tier_names
        if (request := expected.request_limit(tier)) and (token := expected.token_limit(tier))
    }
    assert names == {t: (t, f"{t}-user-tokens") for t in expected.tier_names}, names
    assert Limit(5, "2m", name="free") == Limit(5, "2m")


def test_gateway_audience_is_instance_sa(expected: Expected) -> None:
    assert expected.audience == "maas-default-gateway-sa", expected.audience


def test_maas_api_audiences_accept_identity_and_maas_tokens(expected: Expected) -> None:
    assert expected.maas_api_audiences == (
        "https://kubernetes.default.svc",
        "maas-default-gateway-sa",
    ), expected.maas_api_audiences


def test_instance_defaults_to_gateway_name(expected: Expected) -> None:
    assert expected.instance == "maas-default-gateway", expected.instance


def test_tiers_are_ordered_by_level(expected: Expected) -> None:
    actual = [(t.name, t.level) for t in expected.tiers]
    assert actual == [("free", 0), ("premium", 1), ("enterprise", 2)], actual


def test_simulator_model_is_allowed_for_every_tier(expected: Expected) -> None:
    model = expected.model("facebook-opt-125m-simulated")
    assert (model.namespace, model.path) == ("llm", "/llm/facebook-opt-125m-simulated"), model
    assert model.allowed_tiers == {"free", "premium", "enterprise"}, model.allowed_tiers


def test_premium_model_is_allowed_for_premium_and_enterprise_only(expected: Expected) -> None:
    allowed = expected.model("premium-simulated", "llm").allowed_tiers
    assert allowed == {"premium", "enterprise"}, allowed


def test_a_model_without_max_model_len_holds_the_simulators_default(expected: Expected) -> None:
    assert expected.model("facebook-opt-125m-simulated").context_tokens == 1024


@pytest.mark.parametrize("args", [["--max-model-len", "512"], ["--max-model-len=512"]])
def test_max_model_len_is_read_from_the_model_args(
    rendered: RenderedManifests, args: list[str]
) -> None:
    def set_len(docs: list[dict[str, Any]]) -> None:
        container = _doc(docs, "LLMInferenceService", "premium-simulated")["spec"]["template"]
        container["containers"][0]["args"] += args

    expected = Expected.from_manifests(parse_manifests(_mutated(rendered, set_len)))
    assert expected.model("premium-simulated").context_tokens == 512


def test_identity_namespaces_map_each_tier(expected: Expected) -> None:
    actual = dict(expected.identity_namespaces)
    assert actual == {
        "free": "maas-e2e-free",
        "premium": "maas-e2e-premium",
        "enterprise": "maas-e2e-enterprise",
    }, actual


@pytest.mark.parametrize(
    ("tier", "group"),
    [("free", "tier-free-users"), ("premium", "tier-premium-users"),
     ("enterprise", "tier-enterprise-users")],
)  # fmt: skip
def test_user_group_puts_a_user_in_exactly_that_tier(
    expected: Expected, tier: str, group: str
) -> None:
    assert expected.user_group(tier) == group
    resolved = expected.tier_for_groups([group, "system:authenticated"])
    assert resolved == tier, f"{group}+system:authenticated: expected {tier}, got {resolved}"


@pytest.mark.parametrize(
    ("groups", "tier"),
    [
        (["system:authenticated"], "free"),
        (["premium-group", "system:authenticated"], "premium"),
        (["tier-premium-users", "admin-group"], "enterprise"),
        (["system:serviceaccounts:maas-default-gateway-tier-premium"], "premium"),
        (["system:serviceaccounts:maas-e2e-enterprise", "system:authenticated"], "enterprise"),
        (["nobody"], None),
        ([], None),
    ],
)
def test_tier_for_groups_highest_level_wins(
    expected: Expected, groups: list[str], tier: str | None
) -> None:
    actual = expected.tier_for_groups(groups)
    assert actual == tier, f"{groups}: expected {tier}, got {actual}"


def test_content_hash_is_sha256_of_rendered_yaml(
    rendered: RenderedManifests, expected: Expected
) -> None:
    assert expected.content_hash == hashlib.sha256(rendered.text.encode()).hexdigest()


def test_rendered_file_gives_same_figures_as_overlay(
    rendered: RenderedManifests, expected: Expected, tmp_path: Path
) -> None:
    path = tmp_path / "rendered.yaml"
    path.write_text(rendered.text, encoding="utf-8")
    assert load_expected(path) == expected


def test_unknown_tier_name_raises(expected: Expected) -> None:
    with pytest.raises(ValueError, match="unknown tier 'gold'"):
        expected.request_limit("gold")


def test_instance_name_env_overrides_gateway_name(rendered: RenderedManifests) -> None:
    def set_instance(docs: list[dict[str, Any]]) -> None:
        container = _doc(docs, "Deployment", "maas-api")["spec"]["template"]["spec"]
        container["containers"][0]["env"].append({"name": "INSTANCE_NAME", "value": "other"})

    expected = Expected.from_manifests(parse_manifests(_mutated(rendered, set_instance)))
    assert expected.instance == "other"
    assert expected.tier_namespace("free") == "other-tier-free"
    # The model RBAC binds maas-default-gateway-tier-* groups, which no "other" token carries.
    assert expected.model("facebook-opt-125m-simulated").allowed_tiers == frozenset()


def test_binding_to_system_authenticated_allows_every_tier(rendered: RenderedManifests) -> None:
    def widen(docs: list[dict[str, Any]]) -> None:
        binding = _doc(docs, "RoleBinding", "premium-model-post-access")
        binding["subjects"] = [{"kind": "Group", "name": "system:authenticated"}]

    expected = Expected.from_manifests(parse_manifests(_mutated(rendered, widen)))
    allowed = expected.model("premium-simulated").allowed_tiers
    assert allowed == {"free", "premium", "enterprise"}, allowed


def test_without_a_custom_message_a_403_gives_authorinos_review_reason(
    expected: Expected,
) -> None:
    reason = expected.forbidden_reason
    assert reason is not None, "expected Authorino's own reason"
    assert reason.matches("not authorized: unknown reason"), reason
    assert not reason.matches("not authorized: "), "the review's reason must follow the prefix"
    assert not reason.matches("Unauthorized"), reason


def _unauthorized_message(message: dict[str, Any]) -> Callable[[list[dict[str, Any]]], None]:
    def mutate(docs: list[dict[str, Any]]) -> None:
        rules = _doc(docs, "AuthPolicy", "gateway-auth-policy")["spec"]["rules"]
        rules["response"]["unauthorized"] = {"message": message}

    return mutate


def test_a_literal_unauthorized_message_is_the_403s_reason(rendered: RenderedManifests) -> None:
    mutate = _unauthorized_message({"value": "model not in your tier"})
    reason = Expected.from_manifests(parse_manifests(_mutated(rendered, mutate))).forbidden_reason
    assert reason is not None, "expected the AuthPolicy's literal message"
    assert reason.matches("model not in your tier"), reason
    assert not reason.matches("not authorized: unknown reason"), reason


def test_a_computed_unauthorized_message_cannot_be_expected(rendered: RenderedManifests) -> None:
    mutate = _unauthorized_message({"expression": "'denied: ' + request.path"})
    reason = Expected.from_manifests(parse_manifests(_mutated(rendered, mutate))).forbidden_reason
    assert reason is None, reason


@pytest.mark.parametrize(
    ("window", "seconds"),
    [("2m", 120), ("1m", 60), ("10s", 10), ("1h30m", 5400), ("1h1m1s1ms", 3661),
     ("1500ms", 1), ("500ms", 0), ("99999s", 99999)],
)  # fmt: skip
def test_limit_window_in_whole_seconds(window: str, seconds: int) -> None:
    assert Limit(1, window).seconds == seconds


@pytest.mark.parametrize("window", ["2 m", "1d", "123456s", "1h1m1s1ms1h", "", "m", "-1m", "1.5m"])
def test_limit_rejects_window_outside_kuadrant_pattern(window: str) -> None:
    with pytest.raises(ValueError, match="does not match"):
        Limit(1, window)


def test_limit_reads_as_amount_per_window() -> None:
    assert str(Limit(5, "2m")) == "5 per 2m"


def _drop_audiences(docs: list[dict[str, Any]]) -> None:
    policy = _doc(docs, "AuthPolicy", "gateway-auth-policy")
    del policy["spec"]["rules"]["authentication"]["service-accounts"]["kubernetesTokenReview"][
        "audiences"
    ]


def _drop_tiers(docs: list[dict[str, Any]]) -> None:
    del _doc(docs, "ConfigMap", "tier-to-group-mapping")["data"]["tiers"]


def _bad_window(docs: list[dict[str, Any]]) -> None:
    rates = _doc(docs, "RateLimitPolicy", "gateway-rate-limits")["spec"]["limits"]["free"]["rates"]
    rates[0]["window"] = "2 minutes"


def _unknown_tier_limit(docs: list[dict[str, Any]]) -> None:
    limits = _doc(docs, "TokenRateLimitPolicy", "gateway-token-rate-limits")["spec"]["limits"]
    limits["gold-user-tokens"] = copy.deepcopy(limits["free-user-tokens"])
    limits["gold-user-tokens"]["when"] = [{"predicate": 'auth.identity.tier == "gold"'}]


def _no_gateway(docs: list[dict[str, Any]]) -> None:
    docs.remove(_doc(docs, "Gateway", "maas-default-gateway"))


def _model_without_namespace(docs: list[dict[str, Any]]) -> None:
    del _doc(docs, "LLMInferenceService", "premium-simulated")["metadata"]["namespace"]


def _text_level(docs: list[dict[str, Any]]) -> None:
    cm = _doc(docs, "ConfigMap", "tier-to-group-mapping")
    cm["data"]["tiers"] = cm["data"]["tiers"].replace("level: 1", "level: high")


@pytest.mark.parametrize(
    ("mutate", "fragments"),
    [
        (_drop_audiences, ["AuthPolicy openshift-ingress/gateway-auth-policy",
                           "kubernetesTokenReview.audiences"]),
        (_drop_tiers, ["ConfigMap maas-api/tier-to-group-mapping", "data.tiers"]),
        (_bad_window, ["RateLimitPolicy openshift-ingress/gateway-rate-limits",
                       "spec.limits.free.rates[0]", "2 minutes"]),
        (_unknown_tier_limit, ["TokenRateLimitPolicy", "spec.limits.gold", "unknown tier 'gold'"]),
        (_no_gateway, ["Gateway", "found 0"]),
        (_model_without_namespace, ["LLMInferenceService premium-simulated",
                                    "metadata.namespace"]),
        (_text_level, ["data.tiers[1].level", "premium"]),
    ],
    ids=["audiences", "tiers", "window", "unknown-tier", "gateway", "model-namespace", "level"],
)  # fmt: skip
def test_broken_manifest_error_names_object_and_field(
    rendered: RenderedManifests,
    mutate: Callable[[list[dict[str, Any]]], None],
    fragments: list[str],
) -> None:
    broken = parse_manifests(_mutated(rendered, mutate))
    with pytest.raises(ManifestError) as raised:
        Expected.from_manifests(broken)
    missing = [f for f in fragments if f not in str(raised.value)]
    assert not missing, f"error {str(raised.value)!r} lacks {missing}"


def test_failed_render_reports_kubectl_error(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - absent.yaml\n")
    with pytest.raises(ManifestError, match=r"kustomize .* failed .*absent\.yaml"):
        render_overlay(tmp_path)


def test_missing_kubectl_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="not found"):
        render_overlay(tmp_path, kubectl=str(tmp_path / "no-kubectl"))


def test_invalid_yaml_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("kind: [unclosed\n")
    with pytest.raises(ManifestError, match="invalid YAML"):
        load_manifests(path)


def test_document_without_name_is_a_clear_error() -> None:
    with pytest.raises(ManifestError, match=r"document #1 lacks kind or metadata\.name"):
        parse_manifests("kind: A\nmetadata: {name: a}\n---\nkind: B\nmetadata: {}\n")


def test_missing_source_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="neither a directory nor a file"):
        load_manifests(tmp_path / "nowhere")
