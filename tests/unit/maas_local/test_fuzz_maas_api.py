"""Hostile requests at the embedded maas-api, called directly as the gateway calls it.

Every reply must be one the contract allows for its endpoint (docs/contract.md, maas-api):
POST /v1/tokens 201, 400, 401, or the documented 500 `Failed to generate token` (a zero or
over-long grant the API server refuses); DELETE /v1/tokens 204 or 401; GET /v1/models (and
e38c15ed's GET /models) 200; POST /v1/tiers/lookup 200, 400 `bad_request` or 404 `not_found`;
anything else gin's 404 (or its trailing-slash redirect). Never another 5xx, never a hang.
"""

from __future__ import annotations

from collections.abc import Iterator

import fuzz_contract as contract
import httpx
import pytest
from fuzzing import by_endpoint, described, judge, replay, send, send_case
from hypothesis import given
from hypothesis import strategies as st

from maas_fidelity import hostile
from maas_fidelity.hostile import HostileCase
from maas_local.apiserver.app import build_app as build_apiserver
from maas_local.config import StackConfig
from maas_local.maas_api.app import build_app as build_maas_api
from maas_local.servers import Component, ServerGroup, bind, serve_in_thread

FREE_GROUP = "tier-free-users"


@pytest.fixture(scope="module")
def served(stack_config: StackConfig) -> Iterator[tuple[str, str]]:
    """maas-api and the identity plane it asks, on loopback: (maas-api URL, API server URL)."""
    apiserver, maas_api = Component("apiserver", bind(0)), Component("maas-api", bind(0))
    apiserver.app = build_apiserver(
        stack_config, gateway_url="http://gateway.invalid", self_url=apiserver.url
    )
    maas_api.app = build_maas_api(stack_config, apiserver_url=apiserver.url)
    with serve_in_thread(ServerGroup([apiserver, maas_api])):
        yield maas_api.url, apiserver.url


@pytest.fixture(scope="module")
def maas_api(served: tuple[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served[0]) as client:
        yield client


@pytest.fixture(scope="module")
def identity(served: tuple[str, str]) -> bytes:
    """The `Authorization` of a free-tier cluster user."""
    resp = httpx.post(
        f"{served[1]}/local/v1/users/fuzzer/token", json={"groups": [FREE_GROUP]}, timeout=10
    )
    assert resp.status_code == 201, resp.text
    return f"Bearer {resp.json()['token']}".encode()


ENDPOINTS = by_endpoint(hostile.maas_api_cases())


@pytest.mark.parametrize("cases", [g for _, g in ENDPOINTS], ids=[n for n, _ in ENDPOINTS])
def test_fixed_hostile_cases(
    maas_api: httpx.Client, identity: bytes, cases: list[HostileCase]
) -> None:
    def play(case: HostileCase) -> None:
        resp = send_case(maas_api, case, identity)
        authorization = dict(case.headers).get("authorization")
        expected = contract.maas_api(case.method, case.path, case.credential, authorization)
        judge(resp, expected, described(case.method, case.path, case.body, case.headers))

    replay(cases, play)


@given(body=hostile.token_bodies(), content_type=hostile.content_types())
def test_issue_answers_any_body_within_the_contract(
    maas_api: httpx.Client, identity: bytes, body: bytes, content_type: bytes
) -> None:
    headers = [("content-type", content_type), ("authorization", identity)]
    resp = send(maas_api, "POST", hostile.TOKENS, body, headers)
    judge(resp, contract.ISSUE, described("POST", hostile.TOKENS, body, headers))


@given(
    method=st.sampled_from(["POST", "DELETE"]),
    authorization=hostile.authorization_values(),
    body=hostile.token_bodies(),
)
def test_tokens_refuse_any_invalid_credential(
    maas_api: httpx.Client, method: str, authorization: bytes, body: bytes
) -> None:
    headers = [("authorization", authorization)]
    resp = send(maas_api, method, hostile.TOKENS, body, headers)
    expected = contract.maas_api(method, hostile.TOKENS, False, authorization)
    judge(resp, expected, described(method, hostile.TOKENS, body, headers))


@given(body=hostile.tier_lookup_bodies(), content_type=hostile.content_types())
def test_tier_lookup_answers_any_body_within_the_contract(
    maas_api: httpx.Client, body: bytes, content_type: bytes
) -> None:
    headers = [("content-type", content_type)]
    resp = send(maas_api, "POST", hostile.TIER_LOOKUP, body, headers)
    judge(resp, contract.LOOKUP, described("POST", hostile.TIER_LOOKUP, body, headers))


@given(
    query=st.one_of(st.just(""), hostile.paths().map(lambda p: "?" + p.lstrip("/"))),
    body=st.binary(max_size=64),
    accept=hostile.header_values(),
)
def test_model_list_ignores_query_body_and_headers(
    maas_api: httpx.Client, query: str, body: bytes, accept: bytes
) -> None:
    path = hostile.MODELS + query
    headers = [("accept", accept)]
    resp = send(maas_api, "GET", path, body, headers)
    judge(resp, contract.MAAS_API_LIST, described("GET", path, body, headers))


@given(
    method=hostile.methods(),
    path=hostile.paths(["/v1", hostile.TOKENS, "/v1/tiers", hostile.INFERENCE_SERVICES]),
)
def test_any_other_request_is_routed_or_refused_never_a_server_error(
    maas_api: httpx.Client, identity: bytes, method: str, path: str
) -> None:
    headers = [("authorization", identity)]
    resp = send(maas_api, method, path, b"{}", headers)
    expected = contract.maas_api(method, path, credential=True)
    judge(resp, expected, described(method, path, b"{}", headers))
