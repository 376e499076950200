"""The seed's manual flow, automated: the order of steps, what is skipped, how failures read."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import Any

import pytest
from kubefake import (
    FakeClock,
    FakeGateway,
    FakeKubectl,
    crds_except,
    e2e_expected,
    e2e_manifests,
    fake_poller,
    healthy_cluster,
    identity_rules,
    jwt_with,
    kube,
    listing,
    live_from_stdin,
    metrics_rules,
)

from maas_e2e.targets.base import TargetUnavailable
from maas_e2e.targets.cluster import BringUp, bring_up
from maas_e2e.targets.preflight import PreflightError
from maas_e2e.targets.shared_run import RunState

GATEWAY_ROUTE = {"spec": {"host": "maas.apps.example.com", "tls": {"termination": "edge"}}}


def _cluster(gateway: FakeGateway | None = None) -> FakeKubectl:
    """A healthy cluster on which the deploy succeeds and everything becomes ready."""
    applied = {"done": False}

    def live(stdin: str | None) -> dict:
        # Before the apply nothing exists; afterwards everything is ready.
        return live_from_stdin()(stdin) if applied["done"] else listing([])

    def apply(_stdin: str | None) -> dict:
        applied["done"] = True
        return {}

    fake = healthy_cluster(FakeKubectl())
    (
        fake.on("get", "namespaces", "-l", json=listing([]))
        .on("get", "-f", "-", json=live)
        .on("apply", "--server-side", json=apply)
        .on(
            "create",
            "token",
            "default",
            stdout=jwt_with({"aud": ["https://kubernetes.default.svc"]}),
        )
        .on("patch", "authpolicies.kuadrant.io", stdout="patched")
        .on("get", "routes.route.openshift.io", "gateway-route", json=GATEWAY_ROUTE)
    )
    return metrics_rules(identity_rules(fake), gateway or FakeGateway(e2e_expected()))


class _Recording(FakeGateway):
    """The fake gateway, noting the URLs the gateway probe asks."""

    def __init__(self, probed: list[str], **knobs: Any) -> None:
        super().__init__(e2e_expected(), **knobs)
        self.probed = probed

    def __call__(self, url: str) -> int:
        self.probed.append(url)
        return super().__call__(url)


def _bring_up(
    fake: FakeKubectl,
    probed: list | None = None,
    gateway: FakeGateway | None = None,
    **plan: object,
) -> RunState:
    options = {
        "manifests": e2e_manifests(),
        "expected": e2e_expected(),
        "gateway_url": None,
        "skip_deploy": False,
        "timeout": 600.0,
    }
    options.update(plan)
    state = RunState()
    gateway = gateway or _Recording(probed if probed is not None else [])
    bring_up(kube(fake), BringUp(**options), state, poller=fake_poller(FakeClock()), probe=gateway)
    return state


def test_bring_up_follows_the_seed_preflight_apply_patch_wait_find_probe() -> None:
    fake = _cluster()
    probed: list[str] = []
    state = _bring_up(fake, probed)
    order = [
        fake.index("get", "crd"),
        fake.index("apply", "--server-side"),
        fake.index("patch", "authpolicies.kuadrant.io"),
        fake.index("get", "routes.route.openshift.io"),
    ]
    assert order == sorted(order), fake.transcript()
    assert state.gateway_url == "https://maas.apps.example.com", state
    assert probed[0] == "https://maas.apps.example.com/v1/models", probed
    assert state.deployed, state


def test_skip_deploy_applies_and_patches_nothing() -> None:
    fake = _cluster()
    fake.on("get", "-f", "-", json=live_from_stdin())
    fake.rules.insert(0, fake.rules.pop())  # the stack is already there and ready
    state = _bring_up(fake, skip_deploy=True)
    assert not fake.called("apply"), fake.transcript()
    assert not fake.called("patch"), fake.transcript()
    assert not state.deployed, "nothing deployed, nothing to tear down"
    assert state.gateway_url == "https://maas.apps.example.com", state


def test_gateway_url_option_skips_discovery() -> None:
    fake = _cluster()
    probed: list[str] = []
    state = _bring_up(fake, probed, gateway_url="http://127.0.0.1:8080")
    assert not fake.called("get", "routes.route.openshift.io"), fake.transcript()
    assert state.gateway_url == "http://127.0.0.1:8080", state
    assert all(url.startswith("http://127.0.0.1:8080/") for url in probed), probed


def test_failed_preflight_deploys_nothing() -> None:
    fake = FakeKubectl().on("get", "crd", json=crds_except("tokenratelimitpolicies.kuadrant.io"))
    fake.rules += _cluster().rules
    with pytest.raises(PreflightError):
        _bring_up(fake)
    assert not fake.called("apply"), fake.transcript()


def test_wrong_identity_namespace_stops_before_touching_the_cluster() -> None:
    expected = e2e_expected()
    swapped = dict(expected.identity_namespaces)
    swapped["free"], swapped["premium"] = swapped["premium"], swapped["free"]
    broken = replace(expected, identity_namespaces=MappingProxyType(swapped))
    fake = FakeKubectl()
    with pytest.raises(TargetUnavailable) as raised:
        _bring_up(fake, expected=broken)
    message = str(raised.value)
    assert "maas-e2e-premium is labelled maas-e2e.opendatahub.io/tier=free" in message, message
    assert fake.calls == [], fake.transcript()


def test_kubectl_failure_outside_the_retries_becomes_one_clear_error() -> None:
    fake = FakeKubectl().fail(
        "get", "crd", stderr="Error from server (Forbidden): cannot list crds"
    )
    fake.rules += _cluster().rules
    with pytest.raises(TargetUnavailable, match=r"talking to the cluster failed: .*Forbidden"):
        _bring_up(fake)


class _Unavailable(FakeGateway):
    def __call__(self, url: str) -> int:
        return 503


def test_gateway_that_never_answers_times_out_naming_the_probe() -> None:
    fake = _cluster()
    plan = BringUp(e2e_manifests(), e2e_expected(), None, False, 120.0)
    gateway = _Unavailable(e2e_expected())
    with pytest.raises(TargetUnavailable) as raised:
        bring_up(kube(fake), plan, RunState(), poller=fake_poller(FakeClock()), probe=gateway)
    message = str(raised.value)
    assert message.startswith("probing the gateway: still waiting"), message
    assert "GET https://maas.apps.example.com/v1/models: answered 503" in message, message


def test_the_data_plane_is_proven_after_the_gateway_probe_and_before_the_leak_proof() -> None:
    probed: list[str] = []
    fake = _cluster()
    _bring_up(fake, probed)
    order = [
        fake.index("get", "routes.route.openshift.io"),
        fake.index("-n", "maas-e2e-free", "--duration=1h"),
        fake.index("get", "pods"),
    ]
    assert order == sorted(order), fake.transcript()
    assert probed[0] == "https://maas.apps.example.com/v1/models", probed


def test_a_data_plane_that_never_enforces_fails_the_bring_up_naming_the_probe() -> None:
    gateway = _Recording([], counting=False)
    with pytest.raises(TargetUnavailable) as raised:
        _bring_up(_cluster(gateway), gateway=gateway, timeout=120.0)
    message = str(raised.value)
    assert message.startswith("probing the data plane: still waiting"), message
    assert "  - the gateway counts the first request (tier free): by 429" in message, message


def test_the_leak_proof_is_kept_in_the_run_state() -> None:
    state = _bring_up(_cluster())
    assert state.leak_proof.startswith(
        "bring-up leak proof (once per run, before the first test): held:"
    ), state.leak_proof


def test_a_leaking_gateway_fails_the_bring_up_naming_the_counts() -> None:
    gateway = _Recording([], leak=True)
    with pytest.raises(TargetUnavailable, match="requests the gateway denied reached the models"):
        _bring_up(_cluster(gateway), gateway=gateway)


def test_unreadable_model_metrics_do_not_fail_the_bring_up() -> None:
    gateway = _Recording([])
    fake = _cluster(gateway)
    fake.rules.insert(0, FakeKubectl().fail("get", "pods", stderr="Forbidden").rules[0])
    state = _bring_up(fake, gateway=gateway)
    assert "not made: could not read pods -n llm" in state.leak_proof, state.leak_proof
    assert state.gateway_url == "https://maas.apps.example.com", state


def test_the_probes_identities_are_left_for_the_teardown() -> None:
    state = _bring_up(_cluster())
    namespaces = {record.namespace for record in state.probe_records()}
    assert namespaces == {"maas-e2e-free"}, state.probe_identities
