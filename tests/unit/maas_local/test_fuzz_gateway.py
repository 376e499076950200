"""Hostile requests at the embedded gateway, in front of the running stack's maas-api and models.

The gateway answers itself only with Authorino's 401 (no credential, or one the API server does
not accept), its 403, Envoy's empty 404 (no route) and 400 (a request it cannot forward), and
Limitador's 429; everything else is the backend's reply, relayed: what maas-api or the model may
answer (test_fuzz_maas_api.py, test_fuzz_simulator.py). Never a 5xx of its own (a backend that is
up is always reached), never a hang. The maas-api and model corpora are replayed through it.

The gateway under test asks a tier lookup stub that answers a tier no limit names, so hostile
bodies reach the model instead of spending a tier's quota (limits are test_gateway.py's job).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import fuzz_contract as contract
import httpx
import pytest
from fuzzing import by_endpoint, described, judge, replay, send, send_case
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from maas_fidelity import hostile
from maas_fidelity.hostile import HostileCase
from maas_local.config import StackConfig
from maas_local.gateway.app import build_app as build_gateway
from maas_local.servers import Component, ServerGroup, bind, serve_in_thread

if TYPE_CHECKING:
    from maas_local.stack import StackUrls

MODEL = "facebook-opt-125m-simulated"
MODEL_PREFIX = f"/llm/{MODEL}"
MAAS_API_PREFIX = "/maas-api"
FREE_GROUP = "tier-free-users"


@dataclass(frozen=True)
class Credentials:
    identity: bytes
    """A cluster user's `Authorization`, for the maas-api route."""
    maas_token: bytes
    """A MaaS token's `Authorization`, for the model routes."""


def _unlimited_tier_lookup() -> Starlette:
    async def answer(_: Request) -> Response:
        return JSONResponse({"tier": "unlisted"})

    return Starlette(routes=[Route("/v1/tiers/lookup", answer, methods=["POST"])])


@pytest.fixture(scope="module")
def gateway(stack: StackUrls, stack_config: StackConfig) -> Iterator[httpx.Client]:
    """A gateway wired to the stack's API server, maas-api and models, without limits."""
    lookup = Component("tier lookup stub", bind(0), _unlimited_tier_lookup())
    component = Component("gateway", bind(0))
    component.app = build_gateway(
        stack_config,
        apiserver_url=stack.apiserver,
        maas_api_url=stack.maas_api,
        tier_lookup_url=f"{lookup.url}/v1/tiers/lookup",
        model_urls=stack.models,
    )
    with (
        serve_in_thread(ServerGroup([lookup, component])),
        httpx.Client(base_url=component.url) as client,
    ):
        yield client


def _cluster_identity(apiserver: str) -> str:
    name = f"fuzz-{uuid.uuid4().hex[:10]}"
    resp = httpx.post(
        f"{apiserver}/local/v1/users/{name}/token", json={"groups": [FREE_GROUP]}, timeout=10
    )
    assert resp.status_code == 201, resp.text
    return f"Bearer {resp.json()['token']}"


@pytest.fixture(scope="module")
def credentials(stack: StackUrls) -> Credentials:
    """Two users: the maas-api corpus revokes its caller's tokens, which must not be the model's."""
    minted = httpx.post(
        f"{stack.maas_api}/v1/tokens",
        headers={"Authorization": _cluster_identity(stack.apiserver)},
        json={"expiration": "1h"},
        timeout=10,
    )
    assert minted.status_code == 201, minted.text
    maas_token = f"Bearer {minted.json()['token']}"
    return Credentials(_cluster_identity(stack.apiserver).encode(), maas_token.encode())


MAAS_API_ENDPOINTS = by_endpoint(hostile.maas_api_cases())
# The gateway forwards a body unread: of the cases that vary one field, replaying those that
# change what comes back (another model's 404, a stream) is enough; the model's own test has all.
RELAYED_FIELDS = {"", "model", "stream", "stream_options", "stream_options.include_usage"}
MODEL_ENDPOINTS = by_endpoint(
    c for c in hostile.simulator_cases(MODEL) if c.field in RELAYED_FIELDS
)


@pytest.mark.parametrize(
    "cases", [g for _, g in MAAS_API_ENDPOINTS], ids=[n for n, _ in MAAS_API_ENDPOINTS]
)
def test_maas_api_cases_through_the_gateway(
    gateway: httpx.Client, credentials: Credentials, cases: list[HostileCase]
) -> None:
    def play(case: HostileCase) -> None:
        resp = send_case(gateway, case, credentials.identity, prefix=MAAS_API_PREFIX)
        if case.credential:
            expected = contract.maas_api(case.method, case.path, credential=True)
        else:
            expected = contract.GATEWAY_UNAUTHENTICATED
        path = MAAS_API_PREFIX + case.path
        judge(resp, expected, described(case.method, path, case.body, case.headers))

    replay(cases, play)


@pytest.mark.parametrize(
    "cases", [g for _, g in MODEL_ENDPOINTS], ids=[n for n, _ in MODEL_ENDPOINTS]
)
def test_model_cases_through_the_gateway(
    gateway: httpx.Client, credentials: Credentials, cases: list[HostileCase]
) -> None:
    def play(case: HostileCase) -> None:
        resp = send_case(gateway, case, credentials.maas_token, prefix=MODEL_PREFIX)
        expected = contract.simulator(case.method, case.path, MODEL)
        path = MODEL_PREFIX + case.path
        judge(resp, expected, described(case.method, path, case.body, case.headers))

    replay(cases, play)


@given(chat=st.booleans(), data=st.data())
def test_model_route_answers_any_body_within_the_contract(
    gateway: httpx.Client, credentials: Credentials, chat: bool, data: st.DataObject
) -> None:
    path = MODEL_PREFIX + (hostile.CHAT if chat else hostile.COMPLETIONS)
    body = data.draw(hostile.completion_bodies(MODEL, chat=chat), label="body")
    headers = [("content-type", b"application/json"), ("authorization", credentials.maas_token)]
    resp = send(gateway, "POST", path, body, headers)
    judge(resp, contract.COMPLETE, described("POST", path, body, headers))


@given(
    prefix=st.sampled_from([MODEL_PREFIX, MAAS_API_PREFIX]),
    authorization=hostile.authorization_values(),
    body=st.binary(max_size=64),
)
def test_any_invalid_credential_is_authorinos_401(
    gateway: httpx.Client, prefix: str, authorization: bytes, body: bytes
) -> None:
    path = prefix + hostile.CHAT
    headers = [("authorization", authorization)]
    resp = send(gateway, "POST", path, body, headers)
    judge(resp, contract.GATEWAY_UNAUTHENTICATED, described("POST", path, body, headers))


@given(
    method=hostile.methods(),
    path=hostile.paths([MODEL_PREFIX, MAAS_API_PREFIX, hostile.MODELS, "/llm"]),
    who=st.sampled_from(["identity", "maas_token", "nobody"]),
    body=st.binary(max_size=64),
)
def test_any_request_is_answered_without_a_server_error(
    gateway: httpx.Client,
    credentials: Credentials,
    method: str,
    path: str,
    who: str,
    body: bytes,
) -> None:
    headers = [] if who == "nobody" else [("authorization", getattr(credentials, who))]
    resp = send(gateway, method, path, body, headers)
    judge(resp, {resp.status_code: contract.gateway_any}, described(method, path, body, headers))
