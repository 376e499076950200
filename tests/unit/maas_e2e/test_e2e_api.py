"""maas-api as the tests speak it: each call reaches its path with the caller's credential, and a
token maas-api mints is attached to the report decoded."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest

from maas_e2e.api import MaasApi, rebase
from maas_e2e.auth import Bearer
from maas_e2e.targets.base import Identity

GATEWAY = "http://gw.test"
ALICE = Identity(token="cluster-token", username="alice", tier="free")


class Gateway:
    """Answers every request with `reply` and keeps what it was sent."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.reply = httpx.Response(200, json={})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.reply


@pytest.fixture
def gateway() -> Gateway:
    return Gateway()


@pytest.fixture
def api(gateway: Gateway) -> Iterator[MaasApi]:
    with httpx.Client(transport=httpx.MockTransport(gateway)) as client:
        yield MaasApi(client, GATEWAY)


@pytest.fixture
def attached(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(token, name) of each token `MaasApi` attaches to the report."""
    tokens: list[tuple[str, str]] = []
    monkeypatch.setattr("maas_e2e.api.attach_jwt", lambda token, name: tokens.append((token, name)))
    return tokens


def sent(gateway: Gateway) -> list[tuple[str, str, str | None]]:
    """Method, URL and Authorization header of each request the gateway got."""
    return [(r.method, str(r.url), r.headers.get("Authorization")) for r in gateway.requests]


def test_issue_token_asks_for_one_hour_by_default(api: MaasApi, gateway: Gateway) -> None:
    api.issue_token(ALICE)
    request = gateway.requests[0]
    assert sent(gateway) == [("POST", f"{GATEWAY}/maas-api/v1/tokens", "Bearer cluster-token")]
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {"expiration": "1h"}


@pytest.mark.parametrize("body", [{"expiration": "10m"}, {}, None], ids=["body", "empty", "null"])
def test_issue_token_sends_the_given_body_as_json(
    api: MaasApi, gateway: Gateway, body: object
) -> None:
    api.issue_token(ALICE, body)
    assert json.loads(gateway.requests[0].content) == body


@pytest.mark.parametrize("raw", [b'{"expiration": ', b""], ids=["cut", "empty"])
def test_issue_token_sends_raw_bytes_as_they_are(
    api: MaasApi, gateway: Gateway, raw: bytes
) -> None:
    api.issue_token(ALICE, raw=raw)
    assert gateway.requests[0].content == raw


@pytest.mark.parametrize(
    ("credential", "whose"),
    [(ALICE, "alice"), (Bearer("t"), "the caller")],
    ids=["identity", "bearer"],
)
def test_a_minted_token_is_attached_for_whom_it_was_minted(
    api: MaasApi,
    gateway: Gateway,
    attached: list[tuple[str, str]],
    credential: httpx.Auth,
    whose: str,
) -> None:
    gateway.reply = httpx.Response(201, json={"token": "minted.jwt.value", "expiration": "1h"})
    api.issue_token(credential)
    name = f"MaaS token minted for {whose}: decoded header and claims"
    assert attached == [("minted.jwt.value", name)], attached


@pytest.mark.parametrize("status", [200, 400])
def test_a_reply_other_than_201_attaches_no_token(
    api: MaasApi, gateway: Gateway, attached: list[tuple[str, str]], status: int
) -> None:
    gateway.reply = httpx.Response(status, json={"token": "minted.jwt.value"})
    api.issue_token(ALICE)
    assert attached == [], attached


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(201, content=b"<html>created</html>"),
        httpx.Response(201, json={"expiration": "1h"}),
        httpx.Response(201, json=["minted.jwt.value"]),
    ],
    ids=["not-json", "without-token", "not-an-object"],
)
def test_a_201_without_a_token_is_returned_for_the_test_to_judge(
    api: MaasApi, gateway: Gateway, attached: list[tuple[str, str]], reply: httpx.Response
) -> None:
    gateway.reply = reply
    assert api.issue_token(ALICE) is reply
    assert attached == [], attached


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda api: api.revoke_tokens(ALICE), ("DELETE", f"{GATEWAY}/maas-api/v1/tokens")),
        (lambda api: api.list_models(ALICE), ("GET", f"{GATEWAY}/v1/models")),
        (
            lambda api: api.list_models(ALICE, via="/maas-api/v1/models"),
            ("GET", f"{GATEWAY}/maas-api/v1/models"),
        ),
        (
            lambda api: api.tier_lookup(ALICE, ["g"]),
            ("POST", f"{GATEWAY}/maas-api/v1/tiers/lookup"),
        ),
    ],
    ids=["revoke", "list", "list-via", "tier-lookup"],
)
def test_each_call_reaches_its_path_with_the_credential(
    api: MaasApi,
    gateway: Gateway,
    call: Callable[[MaasApi], httpx.Response],
    expected: tuple[str, str],
) -> None:
    call(api)
    assert sent(gateway) == [(*expected, "Bearer cluster-token")]


def test_tier_lookup_sends_the_groups(api: MaasApi, gateway: Gateway) -> None:
    api.tier_lookup(ALICE, ["system:authenticated", "premium-users"])
    assert json.loads(gateway.requests[0].content) == {
        "groups": ["system:authenticated", "premium-users"]
    }


@pytest.mark.parametrize(
    "call",
    [
        lambda api: api.issue_token(None),
        lambda api: api.revoke_tokens(None),
        lambda api: api.list_models(None),
        lambda api: api.tier_lookup(None, []),
    ],
    ids=["issue", "revoke", "list", "tier-lookup"],
)
def test_a_call_without_a_credential_sends_no_authorization(
    api: MaasApi, gateway: Gateway, call: Callable[[MaasApi], httpx.Response]
) -> None:
    call(api)
    assert "Authorization" not in gateway.requests[0].headers


def test_rebase_sends_a_discovered_url_through_the_gateway() -> None:
    rebased = rebase("https://maas.apps.example/llm/opt?x=1", "http://127.0.0.1:8000/prefix/")
    assert rebased == "http://127.0.0.1:8000/prefix/llm/opt?x=1"
