"""Preflight: a few quick questions, and one message naming everything missing and its fix."""

from __future__ import annotations

import pytest
from kubefake import (
    FakeKubectl,
    cond,
    crd,
    crds_except,
    e2e_manifests,
    healthy_cluster,
    kube,
    listing,
)

from maas_e2e.manifests import parse_manifests
from maas_e2e.targets import ownership
from maas_e2e.targets.base import TargetUnavailable
from maas_e2e.targets.policies import GATEWAY_POLICY_RESOURCES
from maas_e2e.targets.preflight import SEED_STEPS, PreflightError, preflight


def test_healthy_cluster_passes_and_reports_kuadrant_namespace() -> None:
    fake = healthy_cluster(FakeKubectl())
    report = preflight(kube(fake), e2e_manifests())
    assert report.kuadrant_namespace == "kuadrant-system", report
    assert report.server_version == "v1.32.4", report


def test_preflight_asks_six_questions_and_changes_nothing() -> None:
    fake = healthy_cluster(FakeKubectl())
    preflight(kube(fake), e2e_manifests())
    verbs = [c.args[0] for c in fake.calls]
    assert verbs == ["get"] * 6, f"expected six reads, got:\n{fake.transcript()}"


def _policy(kind: str, name: str, target: str = "maas-default-gateway", **labels: str) -> dict:
    """A gateway policy as the API server returns it, with the field managers that wrote it."""
    return {
        "apiVersion": "kuadrant.io/v1",
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": "openshift-ingress",
            "labels": labels,
            "managedFields": [{"manager": "odh-model-controller", "operation": "Apply"}],
        },
        "spec": {
            "targetRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": target}
        },
        "status": {"conditions": [cond("Accepted"), cond("Enforced")]},
    }


ODH_AUTHN = _policy("AuthPolicy", "maas-default-gateway-authn")
OURS = _policy("RateLimitPolicy", "gateway-rate-limits", **ownership.labels("run0"))
ELSEWHERE = _policy("AuthPolicy", "other-gateway-auth", target="other-gateway")


def _with_policies(*policies: dict) -> FakeKubectl:
    fake = FakeKubectl().on("get", ",".join(GATEWAY_POLICY_RESOURCES), json=listing(policies))
    return healthy_cluster(fake)


def test_a_policy_someone_else_put_on_the_gateway_stops_a_deploying_run() -> None:
    with pytest.raises(PreflightError) as raised:
        preflight(kube(_with_policies(ODH_AUTHN, OURS, ELSEWHERE)), e2e_manifests())
    message = str(raised.value)
    assert (
        "Gateway openshift-ingress/maas-default-gateway already has policies: AuthPolicy "
        "openshift-ingress/maas-default-gateway-authn (NOT made by maas-e2e, written by "
        "odh-model-controller; Enforced=True)"
    ) in message, message
    assert 'opendatahub.io/managed: "false"' in message, message
    assert "gateway-rate-limits" not in message, "the suite's own policy is no conflict"
    assert "other-gateway-auth" not in message, "a policy on another Gateway is not listed"


def test_a_run_that_tests_a_stack_as_it_is_lists_every_gateway_policy() -> None:
    report = preflight(
        kube(_with_policies(ODH_AUTHN, OURS, ELSEWHERE)), e2e_manifests(), deploying=False
    )
    assert report.gateway_policies == [
        "AuthPolicy openshift-ingress/maas-default-gateway-authn (NOT made by maas-e2e, written "
        "by odh-model-controller; Enforced=True)",
        "RateLimitPolicy openshift-ingress/gateway-rate-limits (made by maas-e2e; Enforced=True)",
    ]


@pytest.mark.parametrize(
    ("crd_name", "kind", "step"),
    [
        ("tokenratelimitpolicies.kuadrant.io", "TokenRateLimitPolicy", "kuadrant"),
        ("authpolicies.kuadrant.io", "AuthPolicy", "kuadrant"),
        ("telemetrypolicies.extensions.kuadrant.io", "TelemetryPolicy", "kuadrant"),
        ("httproutes.gateway.networking.k8s.io", "HTTPRoute", "gateway-api"),
        ("llminferenceservices.serving.kserve.io", "LLMInferenceService", "kserve"),
    ],
)
def test_missing_crd_is_named_with_the_seed_step_that_installs_it(
    crd_name: str, kind: str, step: str
) -> None:
    fake = healthy_cluster(FakeKubectl())
    fake.rules.insert(0, FakeKubectl().on("get", "crd", json=crds_except(crd_name)).rules[0])
    with pytest.raises(PreflightError) as raised:
        preflight(kube(fake), e2e_manifests())
    message = str(raised.value)
    assert f"CRD {crd_name} ({kind}) is not installed" in message, message
    assert SEED_STEPS[step] in message, f"expected the seed step for {step} in:\n{message}"


def test_crd_that_is_not_established_is_reported() -> None:
    fake = FakeKubectl()
    broken = crd("ratelimitpolicies.kuadrant.io", ["v1"], established="False")
    fake.on("get", "crd", json=crds_except(ratelimitpolicies=broken))
    healthy_cluster(fake)
    with pytest.raises(PreflightError) as raised:
        preflight(kube(fake), e2e_manifests())
    assert "ratelimitpolicies.kuadrant.io (RateLimitPolicy) is not established" in str(
        raised.value
    ), raised.value


def test_crd_that_does_not_serve_the_manifests_version_is_reported() -> None:
    fake = FakeKubectl()
    old = crd("authpolicies.kuadrant.io", ["v1beta2"])
    fake.on("get", "crd", json=crds_except(authpolicies=old))
    healthy_cluster(fake)
    with pytest.raises(PreflightError) as raised:
        preflight(kube(fake), e2e_manifests())
    message = str(raised.value)
    assert "does not serve kuadrant.io/v1 (it serves v1beta2)" in message, message


def test_missing_gateway_class_is_reported() -> None:
    fake = FakeKubectl().fail(
        "get",
        "gatewayclasses.gateway.networking.k8s.io",
        stderr='gatewayclasses "openshift-default" not found',
    )
    healthy_cluster(fake)
    with pytest.raises(PreflightError) as raised:
        preflight(kube(fake), e2e_manifests())
    message = str(raised.value)
    assert "GatewayClass openshift-default does not exist" in message, message
    assert SEED_STEPS["gateway-api"] in message, message


def test_gateway_class_not_accepted_names_its_controller() -> None:
    refused = {
        "kind": "GatewayClass",
        "metadata": {"name": "openshift-default"},
        "spec": {"controllerName": "openshift.io/gateway-controller/v1"},
        "status": {
            "conditions": [cond("Accepted", "Unknown", "Pending", "Waiting for controller")]
        },
    }
    fake = FakeKubectl().on("get", "gatewayclasses.gateway.networking.k8s.io", json=refused)
    healthy_cluster(fake)
    with pytest.raises(PreflightError) as raised:
        preflight(kube(fake), e2e_manifests())
    message = str(raised.value)
    expected = (
        "GatewayClass openshift-default is not accepted by its controller "
        "openshift.io/gateway-controller/v1: Unknown (Pending: Waiting for controller)"
    )
    assert expected in message, message


def test_gateway_class_shipped_with_the_overlay_need_not_exist_yet() -> None:
    component = (
        "---\napiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\n"
        "metadata:\n  name: openshift-default\n"
        "spec:\n  controllerName: openshift.io/gateway-controller/v1\n"
    )
    manifests = parse_manifests(e2e_manifests().text + component)
    fake = healthy_cluster(FakeKubectl())
    preflight(kube(fake), manifests)
    assert not fake.called("get", "gatewayclasses.gateway.networking.k8s.io"), fake.transcript()


def test_missing_kuadrant_is_reported() -> None:
    fake = FakeKubectl().on("get", "kuadrants.kuadrant.io", json=listing([]))
    healthy_cluster(fake)
    with pytest.raises(PreflightError) as raised:
        preflight(kube(fake), e2e_manifests())
    message = str(raised.value)
    assert "no Kuadrant object exists" in message, message
    assert SEED_STEPS["kuadrant"] in message, message


def test_kuadrant_that_is_not_ready_is_reported_with_its_reason() -> None:
    sick = {
        "kind": "Kuadrant",
        "metadata": {"name": "kuadrant", "namespace": "kuadrant-system"},
        "status": {"conditions": [cond("Ready", "False", "MissingDependency", "Limitador")]},
    }
    fake = FakeKubectl().on("get", "kuadrants.kuadrant.io", json=listing([sick]))
    healthy_cluster(fake)
    with pytest.raises(PreflightError) as raised:
        preflight(kube(fake), e2e_manifests())
    expected = (
        "Kuadrant kuadrant-system/kuadrant is not ready: False (MissingDependency: Limitador)"
    )
    assert expected in str(raised.value), raised.value


@pytest.mark.parametrize(
    ("deployments", "expected"),
    [
        ([], "no KServe controller Deployment"),
        (
            [
                {
                    "kind": "Deployment",
                    "metadata": {"name": "kserve-controller-manager", "namespace": "kserve"},
                    "status": {"conditions": [cond("Available", "False")]},
                }
            ],
            "the KServe controller (kserve/kserve-controller-manager) is not Available",
        ),
    ],
    ids=["absent", "unavailable"],
)
def test_kserve_controller_must_be_running(deployments: list, expected: str) -> None:
    fake = FakeKubectl().on("get", "deployments", json=listing(deployments))
    healthy_cluster(fake)
    with pytest.raises(PreflightError) as raised:
        preflight(kube(fake), e2e_manifests())
    message = str(raised.value)
    assert expected in message, message
    assert SEED_STEPS["kserve"] in message, message


def test_every_problem_is_in_one_message() -> None:
    missing = ("tokenratelimitpolicies.kuadrant.io", "llminferenceservices.serving.kserve.io")
    fake = FakeKubectl().on("get", "crd", json=crds_except(*missing))
    fake.on("get", "kuadrants.kuadrant.io", json=listing([]))
    healthy_cluster(fake)
    with pytest.raises(PreflightError) as raised:
        preflight(kube(fake), e2e_manifests())
    problems = [p.what for p in raised.value.problems]
    assert len(problems) == 3, problems
    assert not fake.called("get", "deployments"), "no controller check without its CRD"


def test_unreachable_api_server_says_how_to_point_at_the_cluster() -> None:
    fake = FakeKubectl().fail(
        "get", "--raw", "/version", stderr="Unable to connect to the server: dial tcp: i/o timeout"
    )
    with pytest.raises(TargetUnavailable) as raised:
        preflight(kube(fake), e2e_manifests())
    message = str(raised.value)
    assert "cannot reach the cluster's API server" in message, message
    assert "Unable to connect to the server" in message, message
    assert "--k8s-kubeconfig-override" in message, message
    assert len(fake.calls) == 1, fake.transcript()


def test_the_gateway_step_renders_the_listener_hostname_with_envsubst() -> None:
    """Upstream's Gateway listener is `hostname: maas-api.${CLUSTER_DOMAIN}`: without envsubst
    the literal `${CLUSTER_DOMAIN}` reaches the API server."""
    step = SEED_STEPS["gateway-api"]
    assert "export CLUSTER_DOMAIN=$(kubectl get ingresses.config.openshift.io cluster" in step
    assert "kustomize build deployment/base/networking | envsubst | kubectl apply" in step
