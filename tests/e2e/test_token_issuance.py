"""maas-api issues MaaS tokens to cluster identities: POST /maas-api/v1/tokens."""

from __future__ import annotations

import time
from typing import Any

import pytest
from tests.fixtures.identities import NewIdentity

from maas_e2e.api import MaasApi
from maas_e2e.checks import assert_authorino_401
from maas_e2e.durations import (
    DEFAULT_GRANT_SECONDS,
    MISSING,
    expected_grant_seconds,
    go_duration_string,
)
from maas_e2e.targets.base import Identity

pytestmark = [pytest.mark.e2e, pytest.mark.tokens]

CLOCK_SKEW_S = 30


@pytest.fixture
def free_identity(new_identity: NewIdentity, lowest_tier: str) -> Identity:
    """A user of the lowest tier: every authenticated user may mint tokens."""
    return new_identity(lowest_tier)


def test_token_is_issued_with_201_and_its_fields(api: MaasApi, free_identity: Identity) -> None:
    resp = api.issue_token(free_identity.token, {"expiration": "4h"})
    assert resp.status_code == 201, f"expected 201, got {resp.status_code}: {resp.text[:300]}"
    body = resp.json()
    assert set(body) == {"token", "expiration", "expiresAt"}, f"body fields: {sorted(body)}"
    assert body["token"].count(".") == 2, "token is not a JWT (header.payload.signature)"
    assert isinstance(body["expiresAt"], int), f"expiresAt is {type(body['expiresAt']).__name__}"


@pytest.mark.parametrize(
    "body",
    [{}, {"expiration": ""}, {"expiration": "0"}, {"expiration": 0}],
    ids=["no-field", "empty-string", "zero-string", "zero-number"],
)
def test_default_expiration_is_4h(api: MaasApi, free_identity, body: dict[str, Any]) -> None:
    value = body.get("expiration", MISSING)
    assert expected_grant_seconds(value) == DEFAULT_GRANT_SECONDS
    resp = api.issue_token(free_identity.token, body)
    assert resp.status_code == 201, f"expected 201, got {resp.status_code}: {resp.text[:300]}"
    expected = go_duration_string(DEFAULT_GRANT_SECONDS)
    actual = resp.json()["expiration"]
    assert actual == expected, f"default grant: expected {expected}, got {actual}"


@pytest.mark.parametrize("expiration", ["4h", "1h30m", "1.5h", "10m", "1h30m45s", 3600, 5400.5])
def test_requested_expiration_is_granted(
    api: MaasApi, free_identity, expiration: str | float
) -> None:
    grant = expected_grant_seconds(expiration)
    assert grant is not None
    before = time.time()
    resp = api.issue_token(free_identity.token, {"expiration": expiration})
    assert resp.status_code == 201, f"expected 201, got {resp.status_code}: {resp.text[:300]}"
    body = resp.json()
    assert body["expiration"] == go_duration_string(grant), (
        f"expiration {expiration!r}: expected {go_duration_string(grant)}, got {body['expiration']}"
    )
    earliest, latest = before + grant - CLOCK_SKEW_S, time.time() + grant + CLOCK_SKEW_S
    assert earliest <= body["expiresAt"] <= latest, (
        f"expiresAt {body['expiresAt']} not within [{earliest:.0f}, {latest:.0f}] "
        f"for a grant of {grant}s"
    )


@pytest.mark.parametrize(
    "expiration",
    ["1d", "4hours", "-1h", "30", "1 h", "1ms", "9m59s", "5m", 599, -3600, True, [], {"h": 1}],
    ids=repr,
)
def test_invalid_expiration_is_400_with_a_message(
    api: MaasApi, free_identity, expiration: object
) -> None:
    assert expected_grant_seconds(expiration) is None
    resp = api.issue_token(free_identity.token, {"expiration": expiration})
    assert resp.status_code == 400, (
        f"expiration {expiration!r}: expected 400, got {resp.status_code}: {resp.text[:300]}"
    )
    error = resp.json().get("error")
    assert isinstance(error, str), f"400 body without an error message: {resp.text}"
    assert error, f"400 body with an empty error message: {resp.text}"


def test_expiration_below_10_minutes_names_the_minimum(
    api: MaasApi, free_identity: Identity
) -> None:
    resp = api.issue_token(free_identity.token, {"expiration": "9m"})
    assert resp.status_code == 400
    assert resp.json() == {"error": "token expiration must be at least 10 minutes"}


@pytest.mark.parametrize(
    "raw", [b"", b"{", b"not json", b'{"expiration": "4h"'], ids=["empty", "brace", "text", "cut"]
)
def test_malformed_body_is_400(api: MaasApi, free_identity, raw: bytes) -> None:
    resp = api.issue_token(free_identity.token, raw=raw)
    assert resp.status_code == 400, f"body {raw!r}: expected 400, got {resp.status_code}"
    assert isinstance(resp.json().get("error"), str), f"400 body: {resp.text}"


@pytest.mark.parametrize(
    ("credential", "reason"),
    [
        (None, "credential not found"),
        ("not-a-token", "not authenticated"),
        ("sha256~unknownopaquetokenvalue0000000000000000", "not authenticated"),
    ],
    ids=["no-header", "garbage", "unknown-opaque"],
)
def test_request_without_a_valid_identity_is_401(
    api: MaasApi, credential: str | None, reason: str
) -> None:
    assert_authorino_401(api.issue_token(credential, {"expiration": "1h"}), reason)


def test_malformed_authorization_header_is_401(api: MaasApi, gateway_url: str) -> None:
    resp = api.client.post(
        f"{gateway_url}/maas-api/v1/tokens",
        headers={"Authorization": "Basic dXNlcjpwYXNz"},
        json={"expiration": "1h"},
    )
    assert_authorino_401(resp, "credential not found")


def test_each_issued_token_is_distinct(api: MaasApi, free_identity: Identity) -> None:
    replies = [api.issue_token(free_identity.token) for _ in range(3)]
    statuses = [r.status_code for r in replies]
    assert statuses == [201, 201, 201], f"expected three 201s, got {statuses}"
    tokens = {r.json()["token"] for r in replies}
    assert len(tokens) == 3, "three requests gave fewer than three distinct tokens"
