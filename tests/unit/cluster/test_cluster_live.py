"""--maas-skip-deploy: the expectations of an installed MaaS come from its live objects."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from kubefake import FakeKubectl, cond, e2e_manifests, kube, listing

from maas_e2e.expected import Expected
from maas_e2e.manifests import ManifestError, load_manifests
from maas_e2e.targets.live import identity_gaps, live_manifests
from maas_e2e.targets.policies import GATEWAY_POLICY_RESOURCES

MANIFESTS = Path(__file__).resolve().parents[3] / "manifests"


def _installed() -> list[dict[str, Any]]:
    """A MaaS installed the seed's way: the stack and the demo model, with the stack's own tier
    mapping (no group of the suite's), a free limit of 7, odh-model-controller's AuthPolicy
    overridden by the newer gateway policy, and the server's fields on every object."""
    docs = [
        *copy.deepcopy(load_manifests(MANIFESTS / "stack").documents),
        *copy.deepcopy(load_manifests(MANIFESTS / "models" / "simulator").documents),
    ]
    for doc in docs:
        doc["metadata"]["managedFields"] = [{"manager": "kubectl-client-side-apply"}]
        doc["metadata"]["uid"] = "0b6f1c2e-1111-2222-3333-444455556666"
        doc["status"] = {"conditions": [cond("Accepted"), cond("Enforced")]}
        if doc["kind"] == "RateLimitPolicy":
            doc["spec"]["limits"]["free"]["rates"][0]["limit"] = 7
    odh = copy.deepcopy(next(d for d in docs if d["metadata"]["name"] == "gateway-auth-policy"))
    odh["metadata"]["name"] = "maas-default-gateway-authn"
    odh["spec"]["rules"]["authentication"]["service-accounts"]["kubernetesTokenReview"] = {
        "audiences": ["https://kubernetes.default.svc"]
    }
    odh["status"] = {"conditions": [cond("Accepted"), cond("Enforced", "False", "Overridden")]}
    return [*docs, odh]


def _of(docs: list[dict], kind: str, namespace: str | None = None) -> list[dict]:
    return [
        d for d in docs if d["kind"] == kind and namespace in (None, d["metadata"].get("namespace"))
    ]


def _cluster(docs: list[dict]) -> FakeKubectl:
    def one(kind: str) -> Any:
        return lambda call: next(
            d for d in _of(docs, kind) if d["metadata"]["name"] == call.args[2]
        )

    fake = FakeKubectl()
    fake.on_call("get", "gateways.gateway.networking.k8s.io", answer=one("Gateway"))
    fake.on_call("get", "deployments.apps", answer=one("Deployment"))
    fake.on_call("get", "configmaps", answer=one("ConfigMap"))
    fake.on_call("get", "clusterroles.rbac.authorization.k8s.io", answer=one("ClusterRole"))
    policies = [
        d for d in docs if d["kind"] in ("AuthPolicy", "RateLimitPolicy", "TokenRateLimitPolicy")
    ]
    on_gateway = [p for p in policies if p["metadata"]["namespace"] == "openshift-ingress"]
    fake.on("get", ",".join(GATEWAY_POLICY_RESOURCES), json=listing(on_gateway))
    fake.on("get", "httproutes.gateway.networking.k8s.io", json=listing(_of(docs, "HTTPRoute")))
    fake.on(
        "get",
        "authpolicies.kuadrant.io",
        "-n",
        "maas-api",
        json=listing(_of(docs, "AuthPolicy", "maas-api")),
    )
    fake.on(
        "get",
        "llminferenceservices.serving.kserve.io",
        json=listing(_of(docs, "LLMInferenceService")),
    )
    fake.on("get", "roles.rbac.authorization.k8s.io", json=listing(_of(docs, "Role")))
    fake.on("get", "rolebindings.rbac.authorization.k8s.io", json=listing(_of(docs, "RoleBinding")))
    fake.on(
        "get",
        "clusterrolebindings.rbac.authorization.k8s.io",
        json=listing(_of(docs, "ClusterRoleBinding")),
    )
    return fake


def test_figures_come_from_the_live_objects_not_the_overlay() -> None:
    expected = Expected.from_manifests(
        live_manifests(kube(_cluster(_installed())), e2e_manifests())
    )
    assert expected.request_limit("free").amount == 7
    assert [m.name for m in expected.models] == ["facebook-opt-125m-simulated"], (
        "the overlay's premium-only model is not installed there: nothing waits for it"
    )


def test_of_two_gateway_auth_policies_the_enforced_one_gives_the_audience() -> None:
    expected = Expected.from_manifests(
        live_manifests(kube(_cluster(_installed())), e2e_manifests())
    )
    assert expected.audience == "maas-default-gateway-sa"


def test_tiers_without_a_group_for_the_suite_say_what_to_add() -> None:
    expected = Expected.from_manifests(
        live_manifests(kube(_cluster(_installed())), e2e_manifests())
    )
    assert dict(expected.identity_namespaces) == {"free": "maas-e2e-free"}, (
        "free holds system:authenticated, so any new namespace's accounts land there"
    )
    gaps = identity_gaps(expected)
    assert sorted(gaps) == ["enterprise", "premium"]
    assert gaps["premium"] == (
        "tier premium has no group the suite can put an identity in: add group "
        "system:serviceaccounts:maas-e2e-premium to tier premium in ConfigMap tier-to-group-mapping"
    )


def test_a_tier_that_names_an_account_group_gets_that_namespace() -> None:
    docs = _installed()
    cm = _of(docs, "ConfigMap")[0]
    cm["data"]["tiers"] = cm["data"]["tiers"].replace(
        "    - premium-group\n",
        "    - premium-group\n    - system:serviceaccounts:ci-premium\n",
    )
    expected = Expected.from_manifests(live_manifests(kube(_cluster(docs)), e2e_manifests()))
    assert expected.identity_namespaces["premium"] == "ci-premium"


def test_a_cluster_without_the_gateway_fails_in_one_message() -> None:
    fake = FakeKubectl().fail(
        "get", "gateways.gateway.networking.k8s.io",
        stderr='Error from server (NotFound): gateways "maas-default-gateway" not found',
    )  # fmt: skip
    with pytest.raises(
        ManifestError,
        match=r"no gateways\.gateway\.networking\.k8s\.io openshift-ingress/maas-default-gateway",
    ):
        live_manifests(kube(fake), e2e_manifests())


def test_a_maas_api_on_a_floating_image_stops_the_run() -> None:
    docs = _installed()
    container = _of(docs, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]
    container["image"] = "quay.io/opendatahub/maas-api:latest"
    with pytest.raises(ManifestError, match="cannot be verified"):
        live_manifests(kube(_cluster(docs)), e2e_manifests())
