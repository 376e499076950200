"""A credential travels as `Authorization: Bearer <token>` and never shows in a report."""

from __future__ import annotations

import httpx
import pytest

from maas_e2e.auth import Bearer
from maas_e2e.targets.base import Identity

TOKEN = "sha256~not-to-be-shown-anywhere"


def _sent_authorization(auth: httpx.Auth | None) -> str | None:
    """The Authorization header a request made with `auth` carried."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        client.get("http://maas.test/", auth=auth)
    return seen[0].headers.get("Authorization")


@pytest.mark.parametrize(
    "credential",
    [Bearer(TOKEN), Identity(token=TOKEN, username="alice", tier="free")],
    ids=["bearer", "identity"],
)
def test_a_credential_is_sent_as_a_bearer_token(credential: httpx.Auth) -> None:
    sent = _sent_authorization(credential)
    assert sent == f"Bearer {TOKEN}", f"Authorization: {sent!r}"


def test_a_bearers_repr_hides_its_token() -> None:
    shown = [repr(Bearer(TOKEN)), str(Bearer(TOKEN)), f"{Bearer(TOKEN)}"]
    assert not [s for s in shown if TOKEN in s], f"the token shows in: {shown}"


def test_an_identitys_repr_says_who_without_the_token() -> None:
    shown = repr(Identity(token=TOKEN, username="alice", tier="premium"))
    assert TOKEN not in shown, shown
    assert "username='alice'" in shown, shown
    assert "tier='premium'" in shown, shown


def test_two_bearers_are_equal_only_when_they_are_one() -> None:
    """No comparison reads a token, so no assertion diff can print one."""
    same = Bearer("secret")
    assert same == same
    assert Bearer("secret") != Bearer("secret")
    assert Bearer("a") != Bearer("b")
