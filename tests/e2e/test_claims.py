"""MaaS tokens are the contract's service-account JWTs: verified, never decoded blind."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from maas_e2e.api import MaasApi
from maas_e2e.auth import Bearer
from maas_e2e.claims import ClaimsChecker, ClaimsMismatch, Mismatch
from maas_e2e.durations import MISSING, expected_grant_seconds, go_duration_string
from maas_e2e.targets.base import Identity
from maas_e2e.users import IssueToken, NewIdentity

pytestmark = [pytest.mark.e2e, pytest.mark.claims]


Minted = Callable[..., tuple[Identity, Bearer, float]]


@pytest.fixture
def minted(new_identity: NewIdentity, issue_token: IssueToken) -> Minted:
    """Mint for a fresh user of `tier`: the identity, its token and the grant it asked for."""

    def mint(tier: str, expiration: object = "1h") -> tuple[Identity, Bearer, float]:
        identity = new_identity(tier)
        grant = expected_grant_seconds(expiration)
        assert grant is not None
        return identity, issue_token(identity, expiration), grant

    return mint


def granted(api: MaasApi, identity: Identity, body: dict) -> dict:
    """The 201 reply to `body`."""
    resp = api.issue_token(identity, body)
    assert resp.status_code == 201, f"expected 201, got {resp.status_code}: {resp.text[:300]}"
    return resp.json()


def mismatches(
    checker: ClaimsChecker, token: Bearer, identity: Identity, grant: float, *fields: str
) -> list[Mismatch]:
    """The mismatches of the named claims; a bad signature fails every claims test first."""
    checker.verify_signature(token)
    try:
        checker.check(token, username=identity.username, tier=identity.tier, grant_seconds=grant)
    except ClaimsMismatch as exc:
        return [m for m in exc.mismatches if m.field.startswith(fields)]
    return []


def test_token_signature_verifies_against_the_issuer_jwks(
    checker: ClaimsChecker, minted: Minted, lowest_tier: str
) -> None:
    _, token, _ = minted(lowest_tier)
    claims = checker.verify_signature(token)
    assert claims.get("sub"), f"verified claims have no sub: {claims}"


def test_aud_is_the_gateway_audience(
    checker: ClaimsChecker, minted: Minted, lowest_tier: str
) -> None:
    identity, token, grant = minted(lowest_tier)
    assert not mismatches(checker, token, identity, grant, "aud")


def test_iss_is_the_discovered_issuer(
    checker: ClaimsChecker, minted: Minted, lowest_tier: str
) -> None:
    identity, token, grant = minted(lowest_tier)
    assert not mismatches(checker, token, identity, grant, "iss")


def test_sub_is_the_tier_namespace_and_the_sa_name_rule(
    checker: ClaimsChecker, minted: Minted, tier: str
) -> None:
    identity, token, grant = minted(tier)
    assert not mismatches(checker, token, identity, grant, "sub")


def test_kubernetes_io_agrees_with_sub(checker: ClaimsChecker, minted: Minted, tier: str) -> None:
    identity, token, grant = minted(tier)
    assert not mismatches(checker, token, identity, grant, "kubernetes.io")


@pytest.mark.parametrize(
    "expiration",
    [MISSING, "10m", "1h", "4h", "1h30m45s", 5400],
    ids=["default", "10m", "1h", "4h", "1h30m45s", "5400"],
)
def test_exp_minus_iat_is_the_granted_expiration(
    checker: ClaimsChecker, minted: Minted, expiration: object, lowest_tier: str
) -> None:
    identity, token, grant = minted(lowest_tier, expiration)
    assert not mismatches(checker, token, identity, grant, "exp - iat", "exp")


@pytest.mark.parametrize("body", [{}, {"expiration": "2h"}], ids=["default", "2h"])
def test_expires_at_is_the_tokens_exp(
    api: MaasApi, checker: ClaimsChecker, new_identity: NewIdentity, lowest_tier: str, body: dict
) -> None:
    reply = granted(api, new_identity(lowest_tier), body)
    exp = checker.verify_signature(reply["token"]).get("exp")
    assert reply["expiresAt"] == exp, f"expiresAt {reply['expiresAt']}, the token's exp {exp}"


@pytest.mark.parametrize("body", [{}, {"expiration": "2h"}], ids=["default", "2h"])
def test_expiration_is_the_tokens_lifetime(
    api: MaasApi, checker: ClaimsChecker, new_identity: NewIdentity, lowest_tier: str, body: dict
) -> None:
    reply = granted(api, new_identity(lowest_tier), body)
    claims = checker.verify_signature(reply["token"])
    lifetime = go_duration_string(claims["exp"] - claims["iat"])
    assert reply["expiration"] == lifetime, (
        f"the reply says expiration {reply['expiration']}, the token lives {lifetime} (exp - iat)"
    )


def test_iat_and_nbf_are_not_in_the_future(
    checker: ClaimsChecker, minted: Minted, lowest_tier: str
) -> None:
    identity, token, grant = minted(lowest_tier)
    assert not mismatches(checker, token, identity, grant, "iat", "nbf")


def test_jti_is_unique_across_tokens(
    checker: ClaimsChecker, new_identity: NewIdentity, issue_token: IssueToken, lowest_tier: str
) -> None:
    identity = new_identity(lowest_tier)
    jtis = [checker.verify_signature(issue_token(identity)).get("jti") for _ in range(3)]
    assert all(jtis), f"a token without jti: {jtis}"
    assert len(set(jtis)) == len(jtis), f"jti repeated across tokens: {jtis}"
