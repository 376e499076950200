"""The gateway refuses what it must, as Authorino answers: 401 with a challenge, or 403."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import httpx
import pytest

from maas_e2e.auth import Bearer
from maas_e2e.checks import assert_authorino_401
from maas_e2e.expected import Expected
from maas_e2e.model import Model
from maas_e2e.users import NewIdentity, TokenFor

pytestmark = [pytest.mark.e2e, pytest.mark.rejections]


def tamper(token: Bearer) -> Bearer:
    """Same header and signature, the payload's `sub` changed: the signature no longer holds."""
    header, payload, signature = token.token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = claims.get("sub", "") + "x"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return Bearer(f"{header}.{forged}.{signature}")


def test_model_request_without_a_token_is_401(model: Model) -> None:
    assert_authorino_401(model.chat(None), "credential not found")


@pytest.mark.parametrize(
    "token",
    ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."],
    ids=["word", "three-dots", "alg-none-jwt"],
)
def test_model_request_with_a_garbage_token_is_401(model: Model, token: str) -> None:
    assert_authorino_401(model.chat(Bearer(token)), "not authenticated")


def test_model_request_with_a_tampered_signature_is_401(
    model: Model, token_for: TokenFor, lowest_tier: str
) -> None:
    assert_authorino_401(model.chat(tamper(token_for(lowest_tier))), "not authenticated")


def test_the_raw_cluster_identity_is_refused_at_the_model(
    model: Model, new_identity: NewIdentity, lowest_tier: str
) -> None:
    """A cluster identity is for maas-api's audience, not the gateway's: wrong audience."""
    assert_authorino_401(model.chat(new_identity(lowest_tier)), "not authenticated")


AtRestrictedModel = Callable[[list[str]], dict[str, httpx.Response]]


@pytest.fixture
def at_restricted_model(restricted_model: Model, token_for: TokenFor) -> AtRestrictedModel:
    """One request to the restricted model per tier, each from a new user of the tier, as
    `{tier: reply}`."""

    def ask(tiers: list[str]) -> dict[str, httpx.Response]:
        return {tier: restricted_model.chat(token_for(tier), max_tokens=1) for tier in tiers}

    return ask


def denied_tiers(expected: Expected, model: Model) -> list[str]:
    """Every tier of the manifests whose RoleBindings do not let it call `model`."""
    return [t for t in expected.tier_names if t not in model.allowed_tiers]


def test_every_tier_rbac_denies_gets_403(
    restricted_model: Model, expected: Expected, at_restricted_model: AtRestrictedModel
) -> None:
    tiers = denied_tiers(expected, restricted_model)
    statuses = {tier: resp.status_code for tier, resp in at_restricted_model(tiers).items()}
    assert statuses == dict.fromkeys(tiers, 403), (
        f"tiers RBAC denies at {restricted_model.name} (allowed: "
        f"{sorted(restricted_model.allowed_tiers)}): expected 403 each, got {statuses}"
    )


def test_an_rbac_403_gives_the_auth_policys_reason(
    restricted_model: Model, expected: Expected, at_restricted_model: AtRestrictedModel
) -> None:
    """X-Ext-Auth-Reason is what the gateway AuthPolicy's `response.unauthorized.message` sets
    or, as in our manifests, Authorino's own reason for a SubjectAccessReview denial."""
    reason = expected.forbidden_reason
    if reason is None:
        pytest.skip(
            "not made: the gateway AuthPolicy computes response.unauthorized.message per request"
        )
    replies = at_restricted_model(denied_tiers(expected, restricted_model))
    got = {t: (r.status_code, r.headers.get("x-ext-auth-reason")) for t, r in replies.items()}
    wrong = {t: (s, said) for t, (s, said) in got.items() if s != 403 or not reason.matches(said)}
    assert not wrong, (
        f"tiers RBAC denies at {restricted_model.name}: expected 403 with X-Ext-Auth-Reason "
        f"{reason}, got (status, reason) {wrong}"
    )


def test_every_tier_rbac_allows_reaches_the_restricted_model(
    restricted_model: Model, expected: Expected, at_restricted_model: AtRestrictedModel
) -> None:
    tiers = [t for t in expected.tier_names if t in restricted_model.allowed_tiers]
    if not tiers:
        pytest.skip(f"not made: the manifests let no tier call {restricted_model.name}")
    statuses = {tier: resp.status_code for tier, resp in at_restricted_model(tiers).items()}
    assert statuses == dict.fromkeys(tiers, 200), (
        f"tiers RBAC allows at {restricted_model.name}: expected 200 each, got {statuses}"
    )


def test_unknown_gateway_path_is_404(http: httpx.Client, gateway_url: str) -> None:
    status = http.get(f"{gateway_url}/no-such-namespace-e2e/x/v1/models").status_code
    assert status == 404, f"unknown path: expected 404, got {status}"
