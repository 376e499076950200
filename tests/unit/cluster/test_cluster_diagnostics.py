"""What a failing test on a cluster carries: policy and model status, events, component logs."""

from __future__ import annotations

import pytest
from kubefake import (
    FakeKubectl,
    cond,
    e2e_manifests,
    kube,
    listing,
    live_from_stdin,
    ready,
    with_status,
)

from maas_e2e.targets.diagnostics import collect
from maas_e2e.targets.policies import GATEWAY_POLICY_RESOURCES

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl"


def _sick(doc: dict) -> dict:
    if doc["kind"] == "RateLimitPolicy":
        return with_status(
            doc,
            conditions=[cond("Accepted"), cond("Enforced", "False", "Unknown", "limitador down")],
        )
    return ready(doc)


def _cluster() -> FakeKubectl:
    event = {
        "type": "Warning",
        "reason": "BackOff",
        "message": "Back-off pulling image",
        "lastTimestamp": "2025-10-01T10:00:00Z",
        "involvedObject": {"kind": "Pod", "name": "maas-api-123"},
    }
    odh_authn = {
        "apiVersion": "kuadrant.io/v1",
        "kind": "AuthPolicy",
        "metadata": {
            "name": "maas-default-gateway-authn",
            "namespace": "openshift-ingress",
            "managedFields": [{"manager": "odh-model-controller", "operation": "Apply"}],
        },
        "spec": {"targetRef": {"kind": "Gateway", "name": "maas-default-gateway"}},
        "status": {"conditions": [cond("Enforced")]},
    }
    return (
        FakeKubectl()
        .on("get", "-f", "-", json=live_from_stdin(_sick))
        .on("get", ",".join(GATEWAY_POLICY_RESOURCES), json=listing([odh_authn]))
        .on("get", "events", "-n", "maas-api", json=listing([event]))
        .on("get", "events", json=listing([]))
        .on("logs", "deployment/maas-api", stdout=f"[pod/maas-api] token={TOKEN} issued\n")
        .on("logs", "deployment/authorino", stdout="[pod/authorino] authorized\n")
        .on("logs", "deployment/limitador-limitador", stdout="[pod/limitador] counter hit\n")
        .on("logs", "-l", stdout="[pod/model] POST /v1/chat/completions\n")
    )


def test_diagnostics_show_policy_conditions_that_are_not_true() -> None:
    report = collect(kube(_cluster()), e2e_manifests(), "kuadrant-system")
    expected = (
        "RateLimitPolicy openshift-ingress/gateway-rate-limits: Accepted=True, "
        "Enforced=False (Unknown: limitador down)"
    )
    assert expected in report, report


def test_diagnostics_name_gateway_policies_the_suite_did_not_create() -> None:
    report = collect(kube(_cluster()), e2e_manifests(), "kuadrant-system")
    expected = (
        "=== every policy on the Gateway ===\nAuthPolicy openshift-ingress/"
        "maas-default-gateway-authn (NOT made by maas-e2e, written by odh-model-controller; "
        "Enforced=True)"
    )
    assert expected in report, report


def test_diagnostics_show_model_readiness_and_url() -> None:
    report = collect(kube(_cluster()), e2e_manifests(), "kuadrant-system")
    expected = (
        "LLMInferenceService llm/premium-simulated: Ready=True; "
        "url=http://10.0.0.1/llm/premium-simulated"
    )
    assert expected in report, report


def test_diagnostics_show_recent_events() -> None:
    report = collect(kube(_cluster()), e2e_manifests(), "kuadrant-system")
    expected = (
        "2025-10-01T10:00:00Z maas-api Warning BackOff Pod/maas-api-123: Back-off pulling image"
    )
    assert expected in report, report


@pytest.mark.parametrize(
    ("title", "line"),
    [
        ("=== logs of maas-api (maas-api) ===", "[pod/maas-api]"),
        ("=== logs of authorino (kuadrant-system) ===", "[pod/authorino] authorized"),
        ("=== logs of limitador-limitador (kuadrant-system) ===", "[pod/limitador] counter hit"),
        ("=== logs of model premium-simulated (llm) ===", "[pod/model] POST"),
    ],
)
def test_diagnostics_include_component_logs(title: str, line: str) -> None:
    report = collect(kube(_cluster()), e2e_manifests(), "kuadrant-system")
    section = report.split(title, 1)[-1].split("===", 1)[0]
    assert title in report, report
    assert line in section, section


def test_model_logs_are_read_from_the_workload_pods_main_container() -> None:
    fake = _cluster()
    collect(kube(fake), e2e_manifests(), "kuadrant-system")
    selector = "app.kubernetes.io/name=premium-simulated,kserve.io/component=workload"
    [call] = fake.called("logs", "-l", selector)
    assert call.has("-c", "main"), call
    assert call.has("-n", "llm"), call


def test_diagnostics_mask_tokens_in_logs() -> None:
    report = collect(kube(_cluster()), e2e_manifests(), "kuadrant-system")
    assert TOKEN not in report, "a bearer token leaked into the report"


def test_a_source_that_cannot_be_read_says_why_and_the_rest_still_shows() -> None:
    fake = FakeKubectl().fail(
        "logs", "deployment/authorino", stderr='deployments "authorino" not found'
    )
    fake.rules += _cluster().rules
    report = collect(kube(fake), e2e_manifests(), "kuadrant-system")
    assert "could not collect: `kubectl logs deployment/authorino" in report, report
    assert "[pod/limitador] counter hit" in report, report
