"""The shared refusal checks accept exactly the refusal they name and say what came instead."""

from __future__ import annotations

import re

import httpx
import pytest

from maas_e2e.checks import assert_authorino_401, assert_maas_api_error

SENT = "an expiration of -1h"


def test_maas_api_error_accepts_exactly_its_refusal() -> None:
    resp = httpx.Response(400, json={"error": "expiration must be positive"})
    assert_maas_api_error(resp, 400, "expiration must be positive", SENT)


@pytest.mark.parametrize(
    ("resp", "shown"),
    [
        (httpx.Response(500, json={"error": "bad"}), "got 500 {'error': 'bad'}"),
        (httpx.Response(400, json={"error": "other"}), "got 400 {'error': 'other'}"),
        (
            httpx.Response(400, json={"error": "bad", "code": 7}),
            "got 400 {'error': 'bad', 'code': 7}",
        ),
        (httpx.Response(400, content=b"<html>gateway</html>"), "got 400 '<html>gateway</html>'"),
    ],
    ids=["other-status", "other-words", "extra-field", "not-json"],
)
def test_maas_api_error_refuses_anything_else_and_shows_it(
    resp: httpx.Response, shown: str
) -> None:
    with pytest.raises(AssertionError) as raised:
        assert_maas_api_error(resp, 400, "bad", SENT)
    message = str(raised.value)
    assert message.startswith(f"{SENT}: expected 400 {{'error': 'bad'}}, {shown}"), message


def authorino(status: int = 401, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers)


def test_authorino_401_accepts_a_challenge_with_its_reason() -> None:
    resp = authorino(**{"www-authenticate": 'Bearer realm="x"', "x-ext-auth-reason": "expired"})
    assert_authorino_401(resp, "expired")


@pytest.mark.parametrize(
    ("resp", "reason", "fragment"),
    [
        (authorino(403), None, "expected 401, got 403"),
        (authorino(**{"x-ext-auth-reason": "r"}), None, "expected 'Bearer realm=...', got ''"),
        (authorino(**{"www-authenticate": "Bearer realm=x"}), None, "without X-Ext-Auth-Reason"),
        (
            authorino(**{"www-authenticate": "Bearer realm=x", "x-ext-auth-reason": "r"}),
            "expired",
            "expected 'expired', got 'r'",
        ),
    ],
    ids=["status", "no-challenge", "no-reason", "other-reason"],
)
def test_authorino_401_refuses_anything_else(
    resp: httpx.Response, reason: str | None, fragment: str
) -> None:
    with pytest.raises(AssertionError, match=re.escape(fragment)):
        assert_authorino_401(resp, reason)
