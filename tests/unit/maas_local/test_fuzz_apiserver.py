"""Hostile requests at the embedded API server's identity endpoints, the ones MaaS relies on.

TokenRequest answers 201 with a token, or a `Status` with 400 (a body it cannot read), 404 (no
such account) or 422 (an invalid spec); TokenReview answers 201 with its verdict (a token it
refuses is still a 201, `authenticated` unset) or a 400 `Status`; OIDC discovery and the JWKS
answer 200. Anything else is a 404 or 405. Never a 5xx, never a hang.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import fuzz_contract as contract
import httpx
import pytest
from fuzzing import by_endpoint, described, judge, replay, send, send_case
from hypothesis import given
from hypothesis import strategies as st

from maas_fidelity import hostile
from maas_fidelity.hostile import HostileCase
from maas_local.apiserver.app import build_app
from maas_local.config import StackConfig
from maas_local.servers import Component, ServerGroup, bind, serve_in_thread

NAMESPACE = "fuzz-namespace"
ACCOUNT = "fuzz-account"
TOKEN_REQUEST = hostile.TOKEN_REQUEST.format(namespace=NAMESPACE, serviceaccount=ACCOUNT)


@pytest.fixture(scope="module")
def api(stack_config: StackConfig) -> Iterator[httpx.Client]:
    """The identity plane alone, with one ServiceAccount to request tokens for."""
    comp = Component("apiserver", bind(0))
    comp.app = build_app(stack_config, gateway_url="http://gateway.invalid", self_url=comp.url)
    with serve_in_thread(ServerGroup([comp])), httpx.Client(base_url=comp.url) as client:
        client.post("/api/v1/namespaces", json={"metadata": {"name": NAMESPACE}})
        created = client.post(
            f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts", json={"metadata": {"name": ACCOUNT}}
        )
        assert created.status_code == 201, created.text
        yield client


ENDPOINTS = by_endpoint(hostile.identity_cases(NAMESPACE, ACCOUNT))


@pytest.mark.parametrize("cases", [g for _, g in ENDPOINTS], ids=[n for n, _ in ENDPOINTS])
def test_fixed_hostile_cases(api: httpx.Client, cases: list[HostileCase]) -> None:
    def play(case: HostileCase) -> None:
        resp = send_case(api, case, credential=None)
        what = described(case.method, case.path, case.body, case.headers)
        judge(resp, contract.identity(case.method, case.path), what)

    replay(cases, play)


@given(body=hostile.token_request_bodies(), content_type=hostile.content_types())
def test_token_request_answers_any_body_within_the_contract(
    api: httpx.Client, body: bytes, content_type: bytes
) -> None:
    headers = [("content-type", content_type)]
    resp = send(api, "POST", TOKEN_REQUEST, body, headers)
    judge(resp, contract.TOKEN_REQUEST, described("POST", TOKEN_REQUEST, body, headers))


@given(body=hostile.token_review_bodies(), content_type=hostile.content_types())
def test_token_review_answers_any_body_within_the_contract(
    api: httpx.Client, body: bytes, content_type: bytes
) -> None:
    headers = [("content-type", content_type)]
    resp = send(api, "POST", hostile.TOKEN_REVIEW, body, headers)
    judge(resp, contract.TOKEN_REVIEW, described("POST", hostile.TOKEN_REVIEW, body, headers))


@given(
    namespace=hostile.path_segments(),
    account=hostile.path_segments(),
    body=st.sampled_from([b'{"spec":{}}', b"{}", b"[]"]),
)
def test_token_request_for_any_account_path_is_answered(
    api: httpx.Client, namespace: str, account: str, body: bytes
) -> None:
    path = hostile.TOKEN_REQUEST.format(namespace=namespace, serviceaccount=account)
    resp = send(api, "POST", path, body)
    judge(resp, contract.identity("POST", path), described("POST", path, body, ()))


@given(
    method=hostile.methods(),
    path=hostile.paths([hostile.OIDC_DISCOVERY, hostile.JWKS, "/api/v1/namespaces"]),
)
def test_any_other_request_is_routed_or_refused_never_a_server_error(
    api: httpx.Client, method: str, path: str
) -> None:
    resp = send(api, method, path, b"{}")
    what = described(method, path, b"{}", ())
    if contract.identity_endpoint(method, path):
        judge(resp, contract.identity(method, path), what)
    else:  # the embedded API server's other resources: any answer but a server error
        assert resp.status_code < 500, f"{what}: {resp.status_code} {resp.text[:300]}"


def test_a_large_header_block_arriving_in_pieces_is_read_whole(api: httpx.Client) -> None:
    """A 60 KB bearer token (under Envoy's 60 KiB, far under Go's 1 MiB) sent in 1 KB pieces.

    Regression: h11 refused a header block still arriving past 16 KiB, so whether such a
    request got its answer or a 400 (or a reset) depended on how TCP split it.
    """
    head = (
        b"GET /healthz HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n"
        b"Authorization: Bearer " + b"a" * 60_000 + b"\r\n\r\n"
    )
    with socket.create_connection((api.base_url.host, api.base_url.port), timeout=10) as sock:
        for start in range(0, len(head), 1000):
            sock.sendall(head[start : start + 1000])
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    status_line = reply.split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 200 OK", f"expected 200 for /healthz, got {status_line!r}"
