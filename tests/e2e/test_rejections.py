"""The gateway refuses what it must, as Authorino answers: 401 with a challenge, or 403."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import httpx
import pytest
from tests.fixtures.identities import IssueToken, NewIdentity, TokenFor
from tests.fixtures.models import ModelRef

from maas_e2e.api import MaasApi
from maas_e2e.checks import assert_authorino_401
from maas_e2e.expected import Expected

pytestmark = [pytest.mark.e2e, pytest.mark.rejections]

MESSAGES = [{"role": "user", "content": "hello"}]


def tamper(token: str) -> str:
    """Same header and signature, the payload's `sub` changed: the signature no longer holds."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = claims.get("sub", "") + "x"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_model_request_without_a_token_is_401(api: MaasApi, model: ModelRef) -> None:
    resp = api.chat(model.url, None, model=model.name, messages=MESSAGES)
    assert_authorino_401(resp, "credential not found")


@pytest.mark.parametrize(
    "token",
    ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."],
    ids=["word", "three-dots", "alg-none-jwt"],
)
def test_model_request_with_a_garbage_token_is_401(
    api: MaasApi, model: ModelRef, token: str
) -> None:
    assert_authorino_401(
        api.chat(model.url, token, model=model.name, messages=MESSAGES), "not authenticated"
    )


def test_model_request_with_a_tampered_signature_is_401(
    api: MaasApi, model: ModelRef, token_for: TokenFor, lowest_tier: str
) -> None:
    forged = tamper(token_for(lowest_tier))
    assert_authorino_401(
        api.chat(model.url, forged, model=model.name, messages=MESSAGES), "not authenticated"
    )


def test_the_raw_cluster_identity_is_refused_at_the_model(
    api: MaasApi, model: ModelRef, new_identity: NewIdentity, lowest_tier: str
) -> None:
    """A cluster identity is for maas-api's audience, not the gateway's: wrong audience."""
    identity = new_identity(lowest_tier)
    resp = api.chat(model.url, identity.token, model=model.name, messages=MESSAGES)
    assert_authorino_401(resp, "not authenticated")


AtRestrictedModel = Callable[[list[str]], dict[str, httpx.Response]]


@pytest.fixture
def at_restricted_model(
    api: MaasApi, restricted_model: ModelRef, new_identity: NewIdentity, issue_token: IssueToken
) -> AtRestrictedModel:
    """One request to the restricted model per tier, each from a new user of the tier, as
    `{tier: reply}`."""

    def ask(tiers: list[str]) -> dict[str, httpx.Response]:
        replies = {}
        for tier in tiers:
            token = issue_token(new_identity(tier))
            replies[tier] = api.chat(
                restricted_model.url,
                token,
                model=restricted_model.name,
                messages=MESSAGES,
                max_tokens=1,
            )
        return replies

    return ask


def denied_tiers(expected: Expected, model: ModelRef) -> list[str]:
    """Every tier of the manifests whose RoleBindings do not let it call `model`."""
    return [t for t in expected.tier_names if t not in model.allowed_tiers]


def test_every_tier_rbac_denies_gets_403(
    restricted_model: ModelRef, expected: Expected, at_restricted_model: AtRestrictedModel
) -> None:
    tiers = denied_tiers(expected, restricted_model)
    replies = at_restricted_model(tiers)
    statuses = {tier: resp.status_code for tier, resp in replies.items()}
    assert statuses == dict.fromkeys(tiers, 403), (
        f"tiers RBAC denies at {restricted_model.name} (allowed: "
        f"{sorted(restricted_model.allowed_tiers)}): expected 403 each, got {statuses}"
    )


def test_an_rbac_403_gives_the_auth_policys_reason(
    restricted_model: ModelRef, expected: Expected, at_restricted_model: AtRestrictedModel
) -> None:
    """X-Ext-Auth-Reason is what the gateway AuthPolicy's `response.unauthorized.message` sets
    or, as in our manifests, Authorino's own reason for a SubjectAccessReview denial."""
    reason = expected.forbidden_reason
    if reason is None:
        pytest.skip(
            "not made: the gateway AuthPolicy computes response.unauthorized.message per request"
        )
    tiers = denied_tiers(expected, restricted_model)
    replies = at_restricted_model(tiers)
    got = {t: (r.status_code, r.headers.get("x-ext-auth-reason")) for t, r in replies.items()}
    wrong = {t: (s, said) for t, (s, said) in got.items() if s != 403 or not reason.matches(said)}
    assert not wrong, (
        f"tiers RBAC denies at {restricted_model.name}: expected 403 with X-Ext-Auth-Reason "
        f"{reason}, got (status, reason) {wrong}"
    )


def test_every_tier_rbac_allows_reaches_the_restricted_model(
    restricted_model: ModelRef, expected: Expected, at_restricted_model: AtRestrictedModel
) -> None:
    tiers = [t for t in expected.tier_names if t in restricted_model.allowed_tiers]
    if not tiers:
        pytest.skip(f"not made: the manifests let no tier call {restricted_model.name}")
    replies = at_restricted_model(tiers)
    statuses = {tier: resp.status_code for tier, resp in replies.items()}
    assert statuses == dict.fromkeys(tiers, 200), (
        f"tiers RBAC allows at {restricted_model.name}: expected 200 each, got {statuses}"
    )


def test_unknown_gateway_path_is_404(api: MaasApi, gateway_url: str) -> None:
    status = api.client.get(f"{gateway_url}/no-such-namespace-e2e/x/v1/models").status_code
    assert status == 404, f"unknown path: expected 404, got {status}"
