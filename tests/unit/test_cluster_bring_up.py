"""The seed's manual flow, automated: the order of steps, what is skipped, how failures read."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import pytest
from kubefake import (
    FakeClock,
    FakeKubectl,
    crds_except,
    e2e_expected,
    e2e_manifests,
    fake_poller,
    healthy_cluster,
    jwt_with,
    kube,
    listing,
    live_from_stdin,
)

from maas_e2e.targets.base import TargetUnavailable
from maas_e2e.targets.cluster import BringUp, bring_up
from maas_e2e.targets.preflight import PreflightError
from maas_e2e.targets.shared_run import RunState

GATEWAY_ROUTE = {"spec": {"host": "maas.apps.example.com", "tls": {"termination": "edge"}}}


def _cluster() -> FakeKubectl:
    """A healthy cluster on which the deploy succeeds and everything becomes ready."""
    applied = {"done": False}

    def live(stdin: str | None) -> dict:
        # Before the apply nothing exists; afterwards everything is ready.
        return live_from_stdin()(stdin) if applied["done"] else listing([])

    def apply(_stdin: str | None) -> dict:
        applied["done"] = True
        return {}

    fake = healthy_cluster(FakeKubectl())
    return (
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


def _bring_up(fake: FakeKubectl, probed: list | None = None, **plan: object) -> RunState:
    probed = probed if probed is not None else []
    options = {
        "manifests": e2e_manifests(),
        "expected": e2e_expected(),
        "gateway_url": None,
        "skip_deploy": False,
        "timeout": 600.0,
    }
    options.update(plan)
    state = RunState()

    def probe(url: str) -> int:
        probed.append(url)
        return 401

    bring_up(kube(fake), BringUp(**options), state, poller=fake_poller(FakeClock()), probe=probe)
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


def test_gateway_that_never_answers_times_out_naming_the_probe() -> None:
    fake = _cluster()
    plan = BringUp(e2e_manifests(), e2e_expected(), None, False, 120.0)
    with pytest.raises(TargetUnavailable) as raised:
        bring_up(
            kube(fake), plan, RunState(), poller=fake_poller(FakeClock()), probe=lambda url: 503
        )
    message = str(raised.value)
    assert message.startswith("probing the gateway: still waiting"), message
    assert "GET https://maas.apps.example.com/v1/models: answered 503" in message, message
