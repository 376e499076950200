"""maas-local reads its whole configuration from rendered manifests, and says what is wrong."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from maas_local.config import Limit, ManifestError, load_config, render_overlay
from maas_local.config.windows import window_seconds

E2E = Path(__file__).resolve().parents[3] / "manifests" / "e2e"


@pytest.fixture(scope="module")
def objects() -> list[dict]:
    return render_overlay(E2E)


def named(objects: list[dict], kind: str, name: str) -> dict:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def write(tmp_path: Path, objects: list[dict]) -> Path:
    path = tmp_path / "rendered.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    return path


def test_config_has_the_manifests_figures() -> None:
    config = load_config(E2E)
    assert config.instance == "maas-default-gateway"
    assert config.request_limits["free"] == Limit(5, 120)
    assert config.token_limits["premium"] == Limit(50000, 60)
    assert config.gateway_audiences == ("maas-default-gateway-sa",)
    assert [t.name for t in config.tiers] == ["free", "premium", "enterprise"]
    assert {m.name for m in config.models} == {"facebook-opt-125m-simulated", "premium-simulated"}


def test_a_changed_limit_in_the_manifest_changes_the_config(
    tmp_path: Path, objects: list[dict]
) -> None:
    changed = copy.deepcopy(objects)
    named(changed, "RateLimitPolicy", "gateway-rate-limits")["spec"]["limits"]["free"]["rates"] = [
        {"limit": 3, "window": "30s"}
    ]
    assert load_config(write(tmp_path, changed)).request_limits["free"] == Limit(3, 30)


def _drop_tiers(o: list[dict]) -> None:
    del named(o, "ConfigMap", "tier-to-group-mapping")["data"]["tiers"]


def _bad_level(o: list[dict]) -> None:
    cm = named(o, "ConfigMap", "tier-to-group-mapping")
    cm["data"]["tiers"] = "- name: free\n  level: high\n  groups: [a]\n"


def _bad_window(o: list[dict]) -> None:
    rates = named(o, "RateLimitPolicy", "gateway-rate-limits")["spec"]["limits"]["free"]["rates"]
    rates[0]["window"] = "2 minutes"


def _string_limit(o: list[dict]) -> None:
    rates = named(o, "RateLimitPolicy", "gateway-rate-limits")["spec"]["limits"]["free"]["rates"]
    rates[0]["limit"] = "five"


def _no_audiences(o: list[dict]) -> None:
    rules = named(o, "AuthPolicy", "gateway-auth-policy")["spec"]["rules"]
    rules["authentication"]["service-accounts"]["kubernetesTokenReview"]["audiences"] = []


def _no_route(o: list[dict]) -> None:
    o.remove(named(o, "HTTPRoute", "maas-api-route"))


def _bad_predicate(o: list[dict]) -> None:
    limits = named(o, "TokenRateLimitPolicy", "gateway-token-rate-limits")["spec"]["limits"]
    limits["free-user-tokens"]["when"] = [{"predicate": "true"}]


@pytest.mark.parametrize(
    ("breakage", "names"),
    [
        (_drop_tiers, ["ConfigMap maas-api/tier-to-group-mapping", "data.tiers"]),
        (_bad_level, ["ConfigMap maas-api/tier-to-group-mapping", "level"]),
        (_bad_window, ["RateLimitPolicy openshift-ingress/gateway-rate-limits", "window"]),
        (_string_limit, ["gateway-rate-limits", "spec.limits.free.rates.0.limit", "int"]),
        (_no_audiences, ["AuthPolicy openshift-ingress/gateway-auth-policy", "audiences"]),
        (_no_route, ["HTTPRoute", "maas-api-route"]),
        (_bad_predicate, ["gateway-token-rate-limits", "predicate"]),
    ],
)
def test_a_broken_manifest_names_the_object_and_field(
    tmp_path: Path, objects: list[dict], breakage: Callable[[list[dict]], None], names: list[str]
) -> None:
    broken = copy.deepcopy(objects)
    breakage(broken)
    with pytest.raises(ManifestError) as err:
        load_config(write(tmp_path, broken))
    for part in names:
        assert part in str(err.value), f"expected {part!r} in the error, got: {err.value}"


@pytest.mark.parametrize("path", ["does/not/exist", "tests"], ids=["missing", "no-kustomization"])
def test_a_path_without_manifests_is_a_manifest_error(path: str) -> None:
    with pytest.raises(ManifestError, match=r"no such manifests|no kustomization"):
        load_config(path)


def test_invalid_yaml_is_a_manifest_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: [unclosed\n")
    with pytest.raises(ManifestError, match="not valid YAML"):
        render_overlay(bad)


@pytest.mark.parametrize(
    ("window", "seconds"), [("2m", 120), ("1m", 60), ("1h30m", 5400), ("10s", 10), ("1500ms", 1)]
)
def test_windows_convert_to_whole_seconds(window: str, seconds: int) -> None:
    assert window_seconds(window) == seconds


@pytest.mark.parametrize("window", ["", "2", "2d", "1.5m", "123456s", "1h1m1s1ms1h"])
def test_windows_outside_the_crd_pattern_are_refused(window: str) -> None:
    with pytest.raises(ValueError, match="does not match"):
        window_seconds(window)


def test_a_stack_without_rate_limit_policies_enforces_no_limits(tmp_path: Path) -> None:
    """Kuadrant enforces nothing once a policy is deleted; neither does the embedded gateway."""
    objects = [
        o
        for o in render_overlay(E2E)
        if o["kind"] not in ("RateLimitPolicy", "TokenRateLimitPolicy")
    ]
    source = tmp_path / "rendered.yaml"
    source.write_text(yaml.safe_dump_all(objects))
    config = load_config(source)
    assert config.request_limits == {}
    assert config.token_limits == {}
