"""What the cluster target gives the tests: identities per tier, the issuer's keys, diagnostics."""

from __future__ import annotations

import json
from dataclasses import replace
from types import MappingProxyType

import pytest
from kubefake import FakeKubectl, e2e_expected, e2e_manifests, kube

from maas_e2e.oidc import OidcDiscoveryError
from maas_e2e.targets.base import TargetUnavailable
from maas_e2e.targets.cluster import ClusterTarget
from maas_e2e.targets.shared_run import IdentityRecord

JWKS = {"keys": [{"kty": "RSA", "kid": "k1", "n": "AQAB", "e": "AQAB"}]}


def _target(fake: FakeKubectl, records: list | None = None, expected=None) -> ClusterTarget:
    log = records if records is not None else []
    return ClusterTarget(
        kube=kube(fake),
        gateway_url="https://gw.example.com",
        expected=expected or e2e_expected(),
        manifests=e2e_manifests(),
        run_id="run123",
        kuadrant_namespace="kuadrant-system",
        record_identity=lambda record: log.append((record, len(fake.calls))),
    )


def _identity_cluster() -> FakeKubectl:
    return (
        FakeKubectl()
        .on("create", "-f", "-", stdout="created\n")
        .on("create", "token", stdout="eyJhbGciOiJSUzI1NiJ9.e30.c2ln\n")
    )


@pytest.mark.parametrize(
    ("tier", "namespace"),
    [
        ("free", "maas-e2e-free"),
        ("premium", "maas-e2e-premium"),
        ("enterprise", "maas-e2e-enterprise"),
    ],
)
def test_new_identity_is_a_labelled_service_account_in_the_tiers_namespace(
    tier: str, namespace: str
) -> None:
    fake = _identity_cluster()
    identity = _target(fake).new_identity(tier, "ignored-group", "Test_Rate Limits")
    [create] = fake.called("create", "-f", "-")
    account = json.loads(create.stdin or "{}")
    name = account["metadata"]["name"]
    assert account["kind"] == "ServiceAccount", account
    assert account["metadata"]["namespace"] == namespace, account
    assert account["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "maas-e2e",
        "maas-e2e.opendatahub.io/run": "run123",
    }, account
    assert name.startswith("e2e-test-rate-limits-"), name
    assert identity.username == f"system:serviceaccount:{namespace}:{name}", identity
    assert identity.tier == tier, identity


def test_new_identity_token_is_a_token_request_for_that_account() -> None:
    fake = _identity_cluster()
    identity = _target(fake).new_identity("free", "g", "hint")
    [token] = fake.called("create", "token")
    name = identity.username.rsplit(":", 1)[1]
    assert token.args == ("create", "token", name, "-n", "maas-e2e-free", "--duration=1h"), token
    assert identity.token == "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "the token, without the newline"


def test_new_identity_is_recorded_for_teardown_before_it_is_created() -> None:
    records: list = []
    fake = _identity_cluster()
    identity = _target(fake, records).new_identity("premium", "g", "hint")
    [(record, calls_before)] = records
    assert calls_before == 0, "the record must come before `kubectl create`"
    assert record == IdentityRecord(
        "maas-e2e-premium", identity.username.rsplit(":", 1)[1], "maas-default-gateway-tier-premium"
    ), record


def test_each_new_identity_is_a_new_user() -> None:
    target = _target(_identity_cluster())
    names = {target.new_identity("free", "g", "same-hint").username for _ in range(20)}
    assert len(names) == 20, names


def test_unknown_tier_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="unknown tier 'gold'"):
        _target(FakeKubectl()).new_identity("gold", "g", "hint")


def test_failing_kubectl_names_the_tier_and_namespace() -> None:
    fake = FakeKubectl().fail("create", "-f", "-", stderr='namespaces "maas-e2e-free" not found')
    with pytest.raises(TargetUnavailable, match="cannot make a free identity in maas-e2e-free"):
        _target(fake).new_identity("free", "g", "hint")


def _without_identity_namespaces():
    return replace(e2e_expected(), identity_namespaces=MappingProxyType({}))


def _kubeconfig_user(fake: FakeKubectl, groups: list[str], token: str | None) -> FakeKubectl:
    review = {"status": {"userInfo": {"username": "alice", "groups": groups}}}
    user = {"token": token} if token else {"client-certificate-data": "x"}
    config = {"users": [{"name": "alice", "user": user}]}
    return fake.on("auth", "whoami", json=review).on("config", "view", "--raw", json=config)


def test_without_identity_namespace_the_kubeconfig_user_serves_its_own_tier() -> None:
    fake = _kubeconfig_user(FakeKubectl(), ["premium-group", "system:authenticated"], "sha256~abc")
    identity = _target(fake, expected=_without_identity_namespaces()).new_identity(
        "premium", "g", "h"
    )
    assert (identity.username, identity.tier, identity.token) == ("alice", "premium", "sha256~abc")


def test_without_identity_namespace_another_tier_cannot_be_served() -> None:
    fake = _kubeconfig_user(FakeKubectl(), ["system:authenticated"], "sha256~abc")
    target = _target(fake, expected=_without_identity_namespaces())
    with pytest.raises(TargetUnavailable) as raised:
        target.new_identity("enterprise", "g", "h")
    message = str(raised.value)
    assert "no identity namespace" in message, message
    assert "alice is in tier 'free'" in message, message


def test_kubeconfig_user_without_a_bearer_token_is_refused_with_advice() -> None:
    fake = _kubeconfig_user(FakeKubectl(), ["system:authenticated"], None)
    with pytest.raises(TargetUnavailable, match="oc login"):
        _target(fake, expected=_without_identity_namespaces()).new_identity("free", "g", "h")


def test_issuer_keys_come_from_the_api_servers_discovery_through_kubectl() -> None:
    discovery = {
        "issuer": "https://kubernetes.default.svc",
        "jwks_uri": "https://api:6443/openid/v1/jwks",
    }
    fake = FakeKubectl().on("get", "--raw", "/.well-known/openid-configuration", json=discovery)
    fake.on("get", "--raw", "/openid/v1/jwks", json=JWKS)
    assert _target(fake).fetch_issuer_keys() == ("https://kubernetes.default.svc", JWKS)


@pytest.mark.parametrize(
    ("discovery", "jwks", "expected"),
    [({}, JWKS, "`issuer` is missing"), ({"issuer": "https://x"}, {"keys": []}, "no `keys`")],
)
def test_malformed_issuer_discovery_is_an_oidc_error(
    discovery: dict, jwks: dict, expected: str
) -> None:
    fake = FakeKubectl().on("get", "--raw", "/.well-known/openid-configuration", json=discovery)
    fake.on("get", "--raw", "/openid/v1/jwks", json=jwks)
    with pytest.raises(OidcDiscoveryError, match=expected):
        _target(fake).fetch_issuer_keys()


def test_unreadable_issuer_discovery_is_an_oidc_error() -> None:
    fake = FakeKubectl().fail("get", "--raw", stderr="Forbidden")
    with pytest.raises(OidcDiscoveryError, match="Forbidden"):
        _target(fake).fetch_issuer_keys()


def test_cluster_cannot_tell_which_requests_models_served() -> None:
    assert _target(FakeKubectl()).served_request_ids() is None


def test_cluster_leak_check_note_is_what_the_bring_up_proof_found() -> None:
    target = _target(FakeKubectl())
    target.leak_proof = "bring-up leak proof (once per run, before the first test): held: 12"
    assert target.leak_check_note() == target.leak_proof


def test_cluster_leak_check_note_says_when_no_proof_is_known() -> None:
    note = _target(FakeKubectl()).leak_check_note()
    assert note == "no bring-up leak proof is known to this target", note
