"""maas-api issues MaaS tokens to cluster identities: POST /maas-api/v1/tokens."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from maas_e2e.api import MaasApi
from maas_e2e.auth import Bearer
from maas_e2e.checks import assert_authorino_401, assert_maas_api_error
from maas_e2e.durations import (
    DEFAULT_GRANT_SECONDS,
    EXPIRATION_TOO_SHORT,
    MISSING,
    asks_for_a_zero_second_token,
    expected_grant_seconds,
    go_duration_string,
    not_a_duration_error,
    wrong_type_error,
)
from maas_e2e.targets.base import Identity
from maas_e2e.users import NewIdentity

pytestmark = [pytest.mark.e2e, pytest.mark.tokens]

CLOCK_SKEW_S = 30
FAILED_TO_GENERATE = "Failed to generate token"
"""maas-api's words when the API server refuses the TokenRequest it makes."""


def granted(resp: httpx.Response) -> dict[str, Any]:
    """The body of a 201: the token was issued."""
    assert resp.status_code == 201, f"expected 201, got {resp.status_code}: {resp.text[:300]}"
    return resp.json()


@pytest.fixture
def free_identity(new_identity: NewIdentity, lowest_tier: str) -> Identity:
    """A user of the lowest tier: every authenticated user may mint tokens."""
    return new_identity(lowest_tier)


def test_token_is_issued_with_201_and_its_fields(api: MaasApi, free_identity: Identity) -> None:
    body = granted(api.issue_token(free_identity, {"expiration": "4h"}))
    assert set(body) == {"token", "expiration", "expiresAt"}, f"body fields: {sorted(body)}"
    assert body["token"].count(".") == 2, "token is not a JWT (header.payload.signature)"
    assert isinstance(body["expiresAt"], int), f"expiresAt is {type(body['expiresAt']).__name__}"


@pytest.mark.parametrize("body", [{}, {"expiration": None}], ids=["no-field", "null"])
def test_default_expiration_is_4h(
    api: MaasApi, free_identity: Identity, body: dict[str, Any]
) -> None:
    value = body.get("expiration", MISSING)
    assert expected_grant_seconds(value) == DEFAULT_GRANT_SECONDS
    expected = go_duration_string(DEFAULT_GRANT_SECONDS)
    actual = granted(api.issue_token(free_identity, body))["expiration"]
    assert actual == expected, f"default grant: expected {expected}, got {actual}"


@pytest.mark.parametrize("expiration", ["", "0", 0], ids=["empty-string", "zero-string", "zero"])
def test_a_zero_expiration_fails_to_generate_a_token(
    api: MaasApi, free_identity: Identity, expiration: object
) -> None:
    """maas-api's Duration is set but zero for "", "0" and 0, so its 4h default never applies:
    it asks the API server for a zero-second token, which TokenRequest's 10-minute minimum
    refuses (e38c15ed; its own unit test used a fake API server that accepts it)."""
    assert asks_for_a_zero_second_token(expiration)
    resp = api.issue_token(free_identity, {"expiration": expiration})
    assert_maas_api_error(resp, 500, FAILED_TO_GENERATE, f"expiration {expiration!r}")


def test_an_expiration_above_the_api_servers_maximum_fails_to_generate_a_token(
    api: MaasApi, free_identity: Identity
) -> None:
    """maas-api has no maximum of its own; TokenRequest refuses more than 2^32 seconds."""
    resp = api.issue_token(free_identity, {"expiration": "1193046h28m17s"})
    assert_maas_api_error(resp, 500, FAILED_TO_GENERATE, "2^32 s + 1")


@pytest.mark.parametrize(
    "expiration",
    ["4h", "1h30m", "1.5h", "10m", "1h30m45s", 3600, 5400.5, "1193046h28m16s"],  # 2^32 s: the most
)
def test_requested_expiration_is_granted(
    api: MaasApi, free_identity: Identity, expiration: str | float
) -> None:
    grant = expected_grant_seconds(expiration)
    assert grant is not None
    before = time.time()
    body = granted(api.issue_token(free_identity, {"expiration": expiration}))
    assert body["expiration"] == go_duration_string(grant), (
        f"expiration {expiration!r}: expected {go_duration_string(grant)}, got {body['expiration']}"
    )
    earliest, latest = before + grant - CLOCK_SKEW_S, time.time() + grant + CLOCK_SKEW_S
    assert earliest <= body["expiresAt"] <= latest, (
        f"expiresAt {body['expiresAt']} not within [{earliest:.0f}, {latest:.0f}] "
        f"for a grant of {grant}s"
    )


def test_a_number_in_exponent_form_is_seconds(api: MaasApi, free_identity: Identity) -> None:
    """JSON writes 3600 as `36e2` too (json.dumps never does, so the body goes raw): Go
    decodes it as seconds like any other number."""
    body = granted(api.issue_token(free_identity, raw=b'{"expiration": 36e2}'))
    expected = go_duration_string(expected_grant_seconds(3600.0))
    assert body["expiration"] == expected, f"expected {expected}: {body}"


def _refused(expiration: object, error: str) -> Any:
    """An expiration maas-api refuses and its exact words, named after the value as sent."""
    return pytest.param(expiration, error, id=repr(expiration))


@pytest.mark.parametrize(
    ("expiration", "error"),
    [
        _refused("1d", not_a_duration_error('"1d"')),
        _refused("4hours", not_a_duration_error('"4hours"')),
        _refused("-1h", not_a_duration_error('"-1h"')),
        _refused("30", not_a_duration_error('"30"')),
        _refused("1 h", not_a_duration_error('"1 h"')),
        _refused("1ms", not_a_duration_error('"1ms"')),
        _refused("1h\n", not_a_duration_error('"1h\\n"')),
        _refused("1h\ufeff", not_a_duration_error('"1h\\ufeff"')),  # Go spells it out
        # 2^63 ns: the format is right, time.ParseDuration overflows int64
        _refused("2562047h47m16.854775808s", 'time: invalid duration "2562047h47m16.854775808s"'),
        _refused("9m59s", EXPIRATION_TOO_SHORT),
        _refused("5m", EXPIRATION_TOO_SHORT),
        _refused("0s", EXPIRATION_TOO_SHORT),
        _refused(599, EXPIRATION_TOO_SHORT),
        _refused(-3600, EXPIRATION_TOO_SHORT),
        _refused(True, wrong_type_error("bool")),
        _refused([], wrong_type_error("[]interface {}")),
        _refused({"h": 1}, wrong_type_error("map[string]interface {}")),
    ],
)
def test_invalid_expiration_is_400_with_a_message(
    api: MaasApi, free_identity: Identity, expiration: object, error: str
) -> None:
    assert expected_grant_seconds(expiration) is None
    resp = api.issue_token(free_identity, {"expiration": expiration})
    assert_maas_api_error(resp, 400, error, f"expiration {expiration!r}")


def test_expiration_below_10_minutes_names_the_minimum(
    api: MaasApi, free_identity: Identity
) -> None:
    resp = api.issue_token(free_identity, {"expiration": "9m"})
    assert_maas_api_error(resp, 400, EXPIRATION_TOO_SHORT, "expiration '9m'")


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"", "EOF"),
        (b"{", "unexpected EOF"),
        (b'{"expiration": "4h"', "unexpected EOF"),
        (b"not json", "invalid character 'o' in literal null (expecting 'u')"),
        (b"{x", "invalid character 'x' looking for beginning of object key string"),
        (b"[]", "json: cannot unmarshal array into Go value of type token.Request"),
        (b'{"expiration": ["4h" true]}', "invalid character 't' after array element"),
        (b'{"expiration": "\\q"}', "invalid character 'q' in string escape code"),
    ],
    ids=["empty", "brace", "cut", "text", "bare-key", "array", "no-comma", "bad-escape"],
)
def test_malformed_body_is_400(
    api: MaasApi, free_identity: Identity, raw: bytes, error: str
) -> None:
    resp = api.issue_token(free_identity, raw=raw)
    assert_maas_api_error(resp, 400, error, f"body {raw!r}")


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
    sent = None if credential is None else Bearer(credential)
    assert_authorino_401(api.issue_token(sent, {"expiration": "1h"}), reason)


def test_malformed_authorization_header_is_401(api: MaasApi) -> None:
    assert_authorino_401(api.issue_token(httpx.BasicAuth("user", "pass")), "credential not found")


def test_each_issued_token_is_distinct(api: MaasApi, free_identity: Identity) -> None:
    replies = [api.issue_token(free_identity) for _ in range(3)]
    statuses = [r.status_code for r in replies]
    assert statuses == [201, 201, 201], f"expected three 201s, got {statuses}"
    tokens = {r.json()["token"] for r in replies}
    assert len(tokens) == 3, "three requests gave fewer than three distinct tokens"
