"""Assertions on how the gateway and maas-api refuse, shared by every test that expects one."""

from __future__ import annotations

import httpx


def assert_authorino_401(resp: httpx.Response, reason: str | None = None) -> None:
    """Authorino's authentication failure: 401, a `Bearer realm=` challenge, a reason header."""
    assert resp.status_code == 401, f"expected 401, got {resp.status_code}: {resp.text[:200]}"
    challenge = resp.headers.get("www-authenticate", "")
    assert challenge.startswith("Bearer realm="), (
        f"WWW-Authenticate: expected 'Bearer realm=...', got {challenge!r}"
    )
    actual = resp.headers.get("x-ext-auth-reason")
    if reason is None:
        assert actual, "401 without X-Ext-Auth-Reason"
    else:
        assert actual == reason, f"X-Ext-Auth-Reason: expected {reason!r}, got {actual!r}"


def assert_maas_api_error(resp: httpx.Response, status: int, error: str, sent: str) -> None:
    """maas-api's refusal: `status` with exactly `{"error": <its words>}` (Go's err.Error() for
    a bad request); `sent` names what was sent, for the message."""
    try:
        body: object = resp.json()
    except ValueError:
        body = resp.text[:300]
    expected = {"error": error}
    assert (resp.status_code, body) == (status, expected), (
        f"{sent}: expected {status} {expected!r}, got {resp.status_code} {body!r}"
    )
