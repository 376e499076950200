"""The seed's manual flow, automated: the order of steps, what is skipped, how failures read."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import Any

import pytest
import yaml
from kubefake import (
    APPS_DOMAIN,
    FakeGateway,
    FakeKubectl,
    crds_except,
    e2e_expected,
    e2e_manifests,
    fake_poller,
    healthy_cluster,
    identity_rules,
    ingress_config,
    jwt_with,
    kube,
    listing,
    live_from_stdin,
    metrics_rules,
    openshift_route,
    ready,
)
from tests.unit.fakeclock import FakeClock

from maas_e2e.targets import ownership
from maas_e2e.targets.base import TargetUnavailable
from maas_e2e.targets.cluster import BringUp, bring_up
from maas_e2e.targets.preflight import PreflightError
from maas_e2e.targets.shared_run import RunState

ROUTE_HOST = f"maas.{APPS_DOMAIN}"
GATEWAY_ROUTE = openshift_route(ROUTE_HOST)
GATEWAY = e2e_manifests().of_kind("Gateway")[0]


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
        .on("get", "serviceaccounts", json=listing([]))
        .on("delete", "serviceaccount", stdout="")
        .on("get", "routes.route.openshift.io", "gateway-route", json=GATEWAY_ROUTE)
        .on("get", "ingresses.config.openshift.io", "cluster", json=ingress_config())
        .on("get", "gateways.gateway.networking.k8s.io", json=ready(GATEWAY))
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
    state = RunState(run_id="run1")
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
    assert state.gateway_url == "https://maas.apps.ci.example.com", state
    assert probed[0] == "https://maas.apps.ci.example.com/v1/models", probed
    assert state.deployed, state


def test_skip_deploy_applies_and_patches_nothing() -> None:
    fake = _cluster()
    fake.on("get", "-f", "-", json=live_from_stdin())
    fake.rules.insert(0, fake.rules.pop())  # the stack is already there and ready
    state = _bring_up(fake, skip_deploy=True)
    assert not fake.called("apply"), fake.transcript()
    assert not fake.called("patch"), fake.transcript()
    assert not state.deployed, "nothing deployed, nothing to tear down"


def test_skip_deploy_makes_only_the_missing_identity_namespaces() -> None:
    def live(stdin: str | None) -> dict:
        # The installed stack is there; the suite's identity namespaces are not.
        return live_from_stdin(lambda d: None if d["kind"] == "Namespace" else ready(d))(stdin)

    fake = _cluster()
    fake.on("get", "-f", "-", json=live)
    fake.rules.insert(0, fake.rules.pop())
    state = _bring_up(fake, skip_deploy=True)
    [apply] = fake.called("apply")
    applied = list(yaml.safe_load_all(apply.stdin))
    assert {(d["kind"], d["metadata"]["name"]) for d in applied} == {
        ("Namespace", f"maas-e2e-{tier}") for tier in ("free", "premium", "enterprise")
    }, "an installed stack is never applied over"
    assert all(d["metadata"]["labels"][ownership.RUN_LABEL] == "run1" for d in applied)
    assert not fake.called("patch"), fake.transcript()
    assert state.deployed, "the namespaces it made are removed at teardown"
    assert state.gateway_url == "https://maas.apps.ci.example.com", state


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
        bring_up(
            kube(fake),
            plan,
            RunState(run_id="run1"),
            poller=fake_poller(FakeClock()),
            probe=gateway,
        )
    message = str(raised.value)
    assert message.startswith("probing the gateway: still waiting"), message
    assert "GET https://maas.apps.ci.example.com/v1/models: answered 503" in message, message


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
    assert probed[0] == "https://maas.apps.ci.example.com/v1/models", probed


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
    assert state.gateway_url == "https://maas.apps.ci.example.com", state


def test_the_probes_identities_are_left_for_the_teardown() -> None:
    state = _bring_up(_cluster())
    namespaces = {record.namespace for record in state.probe_records()}
    assert namespaces == {"maas-e2e-free"}, state.probe_identities


HOSTNAME = f"maas-api.{APPS_DOMAIN}"


def _upstream_gateway(fake: FakeKubectl, route: dict | None = None) -> FakeKubectl:
    """Upstream's Gateway, whose listener answers only `maas-api.${CLUSTER_DOMAIN}`, at an IP;
    the Route `gateway-route` is `route`, or absent."""
    listener = {**GATEWAY["spec"]["listeners"][0], "hostname": HOSTNAME}
    live = ready({**GATEWAY, "spec": {**GATEWAY["spec"], "listeners": [listener]}}, "10.0.0.5")
    first = FakeKubectl().on("get", "gateways.gateway.networking.k8s.io", json=live)
    if route is None:
        missing = (
            'Error from server (NotFound): routes.route.openshift.io "gateway-route" not found'
        )
        first.fail("get", "routes.route.openshift.io", stderr=missing)
    else:
        first.on("get", "routes.route.openshift.io", "gateway-route", json=route)
    fake.rules[:0] = first.rules
    return fake


def test_every_bring_up_request_carries_the_listeners_hostname_as_host() -> None:
    gateway = _Recording([])
    state = _bring_up(_upstream_gateway(_cluster(gateway)), gateway=gateway)
    assert (state.gateway_url, state.gateway_host) == ("http://10.0.0.5", HOSTNAME), state
    assert gateway.hosts, "no request went through the client bring-up pinned the Host on"
    assert set(gateway.hosts) == {HOSTNAME}, gateway.hosts
    assert len(gateway.hosts) == len(gateway.sent), "some request went without the Host"


def test_a_given_gateway_url_still_carries_the_listeners_hostname() -> None:
    """E.g. a `kubectl port-forward` of the gateway's Service: Istio still routes by Host."""
    gateway = _Recording([])
    fake = _upstream_gateway(_cluster(gateway))
    state = _bring_up(fake, gateway=gateway, gateway_url="http://127.0.0.1:8080")
    assert (state.gateway_url, state.gateway_host) == ("http://127.0.0.1:8080", HOSTNAME), state
    assert set(gateway.hosts) == {HOSTNAME}, gateway.hosts
    assert not fake.called("get", "routes.route.openshift.io"), fake.transcript()


def test_the_seeds_route_for_another_cluster_is_not_where_the_probes_go() -> None:
    gateway = _Recording([])
    foreign = openshift_route("maas.apps.other.example.com")
    state = _bring_up(_upstream_gateway(_cluster(gateway), foreign), gateway=gateway)
    assert (state.gateway_url, state.gateway_host) == ("http://10.0.0.5", HOSTNAME), state
    assert gateway.probed[0] == "http://10.0.0.5/v1/models", gateway.probed


def test_without_a_listener_hostname_requests_carry_the_urls_own_host() -> None:
    gateway = _Recording([])
    state = _bring_up(_cluster(gateway), gateway=gateway)
    assert state.gateway_host is None, state
    assert set(gateway.hosts) == {None}, gateway.hosts
