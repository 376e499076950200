"""Waiting for the stack: what counts as ready, what a timeout says, how the gateway is probed.

How the gateway is found: test_cluster_gateway_discovery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from kubefake import (
    ISTIO_CONTROLLER,
    KUADRANT_CONTROLLER,
    FakeKubectl,
    cond,
    e2e_expected,
    e2e_manifests,
    fake_poller,
    kube,
    live_from_stdin,
    ready,
    route_parents,
    with_status,
)
from tests.unit.fakeclock import FakeClock

from maas_e2e.targets.status import StackWatch
from maas_e2e.targets.traffic import GatewayProbe
from maas_e2e.targets.waiting import NotReady, Pending


def test_poller_returns_once_nothing_is_pending() -> None:
    clock = FakeClock()
    answers = iter([[Pending("a", "not yet")], [Pending("a", "still not")], []])
    fake_poller(clock).until_ready(lambda: next(answers), deadline=60, stage="stage")
    assert clock.sleeps == [5.0, 5.0], f"expected two 5s waits, got {clock.sleeps}"


def test_poller_timeout_lists_everything_still_pending_with_state_and_hint() -> None:
    clock = FakeClock()
    pending = [Pending("Gateway a/b", "Programmed=False", "hint one"), Pending("X y", "nope")]
    with pytest.raises(NotReady) as raised:
        fake_poller(clock).until_ready(lambda: pending, deadline=30, stage="waiting for the stack")
    message = str(raised.value)
    assert message.startswith("waiting for the stack: still waiting after 30s for:"), message
    assert "  - Gateway a/b: Programmed=False\n    -> hint one" in message, message
    assert "  - X y: nope" in message, message


def test_poller_never_waits_past_its_deadline() -> None:
    clock = FakeClock()
    with pytest.raises(NotReady):
        fake_poller(clock, interval=7).until_ready(
            lambda: [Pending("a", "b")], deadline=30, stage="s"
        )
    assert clock.now == 30, f"expected to stop at the deadline (30), stopped at {clock.now}"


def test_poller_logs_only_when_what_is_pending_changes(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    gateway = Pending("Gateway a/b", "Programmed=False")
    model = Pending("LLMInferenceService c/d", "Ready=False")
    answers = iter([[gateway, model], [gateway, model], [gateway], [gateway], []])
    with caplog.at_level(logging.INFO, "maas_e2e.cluster"):
        fake_poller(clock).until_ready(lambda: next(answers), deadline=60, stage="stage")
    assert caplog.messages == [
        "stage: waiting for Gateway a/b (Programmed=False); LLMInferenceService c/d (Ready=False)",
        "stage: waiting for Gateway a/b (Programmed=False)",
        "stage: done",
    ], caplog.messages


def test_poller_checks_once_when_a_shared_deadline_is_already_spent() -> None:
    clock = FakeClock()
    clock.now = 100.0
    checks: list[float] = []

    def check() -> list[Pending]:
        checks.append(clock.now)
        return [] if len(checks) > 1 else [Pending("a", "b")]

    with pytest.raises(NotReady, match="s: still waiting after 0s for:\n  - a: b"):
        fake_poller(clock).until_ready(check, deadline=90, stage="s")
    assert checks == [100.0], "one look, no wait, past the deadline"


def _watch(transform: Callable[[dict[str, Any]], dict[str, Any] | None], **kw: bool) -> list:
    fake = FakeKubectl().on("get", "-f", "-", "--ignore-not-found", json=live_from_stdin(transform))
    need_address = kw.get("need_address", True)
    return StackWatch(kube(fake), e2e_manifests(), need_address=need_address).pending()


def _except(kind: str, name: str, live: dict[str, Any]) -> Callable[[dict], dict | None]:
    def transform(doc: dict[str, Any]) -> dict[str, Any] | None:
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return live
        return ready(doc)

    return transform


def _doc(kind: str, name: str) -> dict[str, Any]:
    found = [d for d in e2e_manifests().of_kind(kind) if d["metadata"]["name"] == name]
    return found[0]


def test_a_ready_stack_has_nothing_pending() -> None:
    assert _watch(ready) == []


@pytest.mark.parametrize(
    ("kind", "name", "status", "expected_state"),
    [
        (
            "Deployment",
            "maas-api",
            {"conditions": [cond("Available", "False", "MinimumReplicasUnavailable", "0/1")]},
            "Available=False (MinimumReplicasUnavailable: 0/1)",
        ),
        (
            "Gateway",
            "maas-default-gateway",
            {"conditions": [cond("Programmed", "False", "Pending")]},
            "Programmed=False (Pending)",
        ),
        (
            "Gateway",
            "maas-default-gateway",
            {"conditions": [cond("Programmed")]},
            "Programmed but status.addresses is empty",
        ),
        (
            "HTTPRoute",
            "maas-api-route",
            {},
            "not attached to Gateway openshift-ingress/maas-default-gateway yet",
        ),
        (
            "AuthPolicy",
            "gateway-auth-policy",
            {"conditions": [cond("Accepted")]},
            "Enforced=not reported yet",
        ),
        (
            "RateLimitPolicy",
            "gateway-rate-limits",
            {"conditions": [cond("Accepted", "False", "TargetNotFound")]},
            "Accepted=False (TargetNotFound)",
        ),
        (
            "TokenRateLimitPolicy",
            "gateway-token-rate-limits",
            {"conditions": [cond("Accepted"), cond("Enforced", "False", "Unknown")]},
            "Enforced=False (Unknown)",
        ),
        ("TelemetryPolicy", "user-group", {}, "Accepted=not reported yet"),
        (
            "LLMInferenceService",
            "premium-simulated",
            {"conditions": [cond("Ready", "False", "MinimumReplicasUnavailable")]},
            "Ready=False (MinimumReplicasUnavailable)",
        ),
        (
            "LLMInferenceService",
            "premium-simulated",
            {"conditions": [cond("Ready")]},
            "Ready but has no status.url yet",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and " " not in v else None,
)
def test_unready_object_is_pending_with_its_condition(
    kind: str, name: str, status: dict, expected_state: str
) -> None:
    pending = _watch(_except(kind, name, with_status(_doc(kind, name), **status)))
    assert [(p.what.split(" ")[0], p.state) for p in pending] == [(kind, expected_state)], pending


def test_route_refused_by_its_gateway_is_pending() -> None:
    doc = _doc("HTTPRoute", "maas-api-route")
    refused = cond("Accepted", "False", "NotAllowedByListeners")
    parents = route_parents(doc["spec"]["parentRefs"][0], accepted=refused)
    pending = _watch(_except("HTTPRoute", "maas-api-route", with_status(doc, parents=parents)))
    assert [p.state for p in pending] == [
        "Accepted=False (NotAllowedByListeners) by openshift-ingress/maas-default-gateway "
        f"({ISTIO_CONTROLLER})"
    ], pending


def test_route_accepted_by_the_gateway_controller_behind_kuadrants_entry_is_ready() -> None:
    """Kuadrant's entry comes first and carries no `Accepted`; the gateway's entry decides."""
    doc = _doc("HTTPRoute", "maas-api-route")
    parents = route_parents(doc["spec"]["parentRefs"][0])
    assert parents[0]["controllerName"] == KUADRANT_CONTROLLER
    assert _watch(_except("HTTPRoute", "maas-api-route", with_status(doc, parents=parents))) == []


def test_route_with_only_kuadrants_entry_is_not_attached_yet() -> None:
    doc = _doc("HTTPRoute", "maas-api-route")
    kuadrant_only = route_parents(doc["spec"]["parentRefs"][0])[:1]
    live = with_status(doc, parents=kuadrant_only)
    pending = _watch(_except("HTTPRoute", "maas-api-route", live))
    assert [p.state for p in pending] == [
        "not attached to Gateway openshift-ingress/maas-default-gateway yet "
        f"(only {KUADRANT_CONTROLLER} reported)"
    ], pending


def test_route_entries_for_another_gateway_do_not_count() -> None:
    doc = _doc("HTTPRoute", "maas-api-route")
    other = {"name": "other-gateway", "namespace": "openshift-ingress"}
    live = with_status(doc, parents=route_parents(other))
    pending = _watch(_except("HTTPRoute", "maas-api-route", live))
    assert [p.state for p in pending] == [
        "not attached to Gateway openshift-ingress/maas-default-gateway yet"
    ], pending


def test_gateway_without_address_is_fine_when_the_url_is_given() -> None:
    doc = _doc("Gateway", "maas-default-gateway")
    programmed = with_status(doc, conditions=[cond("Programmed")])
    assert _watch(_except("Gateway", "maas-default-gateway", programmed), need_address=False) == []


def test_object_not_found_is_pending() -> None:
    pending = _watch(lambda d: None if d["kind"] == "Deployment" else ready(d))
    assert [(p.what, p.state) for p in pending] == [("Deployment maas-api/maas-api", "not found")]


def test_unreadable_status_is_pending_not_fatal() -> None:
    fake = FakeKubectl().fail("get", "-f", "-", stderr="etcdserver: request timed out")
    pending = StackWatch(kube(fake), e2e_manifests(), need_address=True).pending()
    assert len(pending) == 1, pending
    assert "etcdserver: request timed out" in pending[0].state, pending


def test_status_is_read_in_one_call_for_all_objects() -> None:
    fake = FakeKubectl().on("get", "-f", "-", json=live_from_stdin())
    StackWatch(kube(fake), e2e_manifests(), need_address=True).pending()
    assert len(fake.calls) == 1, fake.transcript()
    stdin = fake.calls[0].stdin or ""
    for kind in ("Deployment", "Gateway", "HTTPRoute", "AuthPolicy", "LLMInferenceService"):
        assert f"kind: {kind}" in stdin, f"{kind} missing from the status query:\n{stdin}"


def _probe(answers: dict[str, int | Exception]) -> Callable[[str], int]:
    def probe(url: str) -> int:
        answer = answers.get(url, 401)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return probe


def test_gateway_probe_passes_when_authorino_answers_every_route() -> None:
    probe = GatewayProbe(_probe({}), "http://gw", e2e_expected().models)
    assert probe.pending() == []
    assert probe.urls == [
        "http://gw/v1/models",
        "http://gw/llm/facebook-opt-125m-simulated/v1/models",
        "http://gw/llm/premium-simulated/v1/models",
    ], probe.urls


@pytest.mark.parametrize(
    ("answer", "state"),
    [
        (404, "answered 404, want 401 from Authorino (no credentials)"),
        (httpx.ConnectError("refused"), "no answer: refused"),
    ],
    ids=["route-missing", "unreachable"],
)
def test_gateway_probe_reports_routes_that_do_not_answer_401(answer: object, state: str) -> None:
    url = "http://gw/llm/premium-simulated/v1/models"
    pending = GatewayProbe(_probe({url: answer}), "http://gw", e2e_expected().models).pending()
    assert [(p.what, p.state) for p in pending] == [(f"GET {url}", state)], pending
