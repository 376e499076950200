"""The gateway refuses what it must, as Authorino answers: 401 with a challenge, or 403."""

from __future__ import annotations

import base64
import json

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


def test_a_tier_rbac_does_not_allow_gets_403(
    api: MaasApi,
    restricted_model: ModelRef,
    expected: Expected,
    new_identity: NewIdentity,
    issue_token: IssueToken,
) -> None:
    denied_tier = next(t for t in expected.tier_names if t not in restricted_model.allowed_tiers)
    token = issue_token(new_identity(denied_tier))
    resp = api.chat(restricted_model.url, token, model=restricted_model.name, messages=MESSAGES)
    assert resp.status_code == 403, (
        f"{denied_tier} tier at {restricted_model.name} (allowed: "
        f"{sorted(restricted_model.allowed_tiers)}): expected 403, got {resp.status_code}"
    )
    assert resp.headers.get("x-ext-auth-reason"), f"403 without X-Ext-Auth-Reason: {resp.headers}"


def test_a_tier_rbac_allows_reaches_the_restricted_model(
    api: MaasApi,
    restricted_model: ModelRef,
    expected: Expected,
    new_identity: NewIdentity,
    issue_token: IssueToken,
) -> None:
    allowed = next(t for t in expected.tier_names if t in restricted_model.allowed_tiers)
    token = issue_token(new_identity(allowed))
    resp = api.chat(
        restricted_model.url, token, model=restricted_model.name, messages=MESSAGES, max_tokens=1
    )
    assert resp.status_code == 200, f"{allowed} tier: expected 200, got {resp.status_code}"


def test_unknown_gateway_path_is_404(api: MaasApi, gateway_url: str) -> None:
    status = api.client.get(f"{gateway_url}/no-such-namespace-e2e/x/v1/models").status_code
    assert status == 404, f"unknown path: expected 404, got {status}"
