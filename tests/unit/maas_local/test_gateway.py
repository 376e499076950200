"""The embedded gateway over HTTP: routing, Authorino's replies, tiers, Limitador's counting.

Most tests go through the whole running stack (`stack`). A few need a gateway wired differently
(a counting tier lookup, a model that is down, a slow model): `side` serves such gateways next
to the stack, sharing its API server. Every test that counts against a limit uses fresh users.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

from maas_local.config import StackConfig
from maas_local.gateway.app import build_app as build_gateway
from maas_local.servers import Component, ServerGroup, bind, serve_in_thread, url_of
from maas_local.simulator import SimulatorConfig
from maas_local.simulator import build_app as build_simulator
from maas_local.stack import StackUrls

MODEL = ("llm", "facebook-opt-125m-simulated")
PREMIUM_MODEL = ("llm", "premium-simulated")
FREE = "tier-free-users"
PREMIUM = "tier-premium-users"
REQUEST_ID = "x-e2e-request-id"
# A tier the lookup stub answers with that no limit names: requests through it count nowhere.
UNLIMITED_TIER = "unlisted"


def model_path(model: tuple[str, str], endpoint: str = "/v1/chat/completions") -> str:
    return f"/{model[0]}/{model[1]}{endpoint}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def chat(
    http: httpx.Client,
    base: str,
    token: str,
    model: tuple[str, str] = MODEL,
    prompt: str = "hi",
    **extra: object,
) -> httpx.Response:
    body = {"model": model[1], "messages": [{"role": "user", "content": prompt}], **extra}
    return http.post(base + model_path(model), headers=bearer(token), json=body)


def stream_events(resp: httpx.Response) -> list[str]:
    """The `data:` payloads of an SSE body, in order."""
    return [
        line[len("data:") :].strip() for line in resp.text.splitlines() if line.startswith("data:")
    ]


def streamed_usage(events: list[str]) -> int:
    totals = [
        chunk["usage"]["total_tokens"]
        for chunk in (json.loads(e) for e in events if e != "[DONE]")
        if chunk.get("usage")
    ]
    return totals[-1] if totals else 0


def big_prompt(token_limit: int) -> str:
    """A prompt of about 60% of the token budget: the second answer crosses the limit."""
    return "word " * max(1, token_limit * 6 // 10)


def assert_empty_reply(resp: httpx.Response, status: int) -> None:
    assert resp.status_code == status, f"expected {status}, got {resp.status_code} {resp.text!r}"
    assert resp.content == b"", f"expected an empty body, got {resp.content!r}"


# --- gateways wired differently, next to the stack ------------------------------------------


@dataclass
class Side:
    ok: str
    """Tier lookup answers UNLIMITED_TIER, cached with the stack's ttl; the stack's models."""
    short_ttl: str
    """Tier lookup answers UNLIMITED_TIER, cached for 1 second."""
    failing_lookup: str
    """Tier lookup answers 503 with no JSON."""
    dead_model: str
    """The models' backends are not listening."""
    slow_model: str
    """The chat model echoes with 100 ms between tokens."""
    lookups: Counter[str]
    """Tier lookups served, by the path's key."""


def _lookup_stub(lookups: Counter[str]) -> Starlette:
    async def answer(request: Request) -> Response:
        key = request.path_params["key"]
        lookups[key] += 1
        if key == "fail":
            return PlainTextResponse("unavailable", status_code=503)
        return JSONResponse({"tier": UNLIMITED_TIER})

    return Starlette(routes=[Route("/{key}/v1/tiers/lookup", answer, methods=["POST"])])


@pytest.fixture(scope="module")
def side(stack: StackUrls, stack_config: StackConfig) -> Iterator[Side]:
    lookups: Counter[str] = Counter()
    stub = Component("tier lookup stub", bind(), _lookup_stub(lookups))
    slow = Component(
        "slow model",
        bind(),
        build_simulator(SimulatorConfig(model=MODEL[1], mode="echo", inter_token_latency_ms=100)),
    )
    closed = bind()
    dead_url = url_of(closed)
    closed.close()

    def gateway(name: str, key: str, models: dict, config: StackConfig = stack_config) -> Component:
        app = build_gateway(
            config,
            apiserver_url=stack.apiserver,
            maas_api_url=stack.maas_api,
            tier_lookup_url=f"{stub.url}/{key}/v1/tiers/lookup",
            model_urls=models,
        )
        return Component(name, bind(), app)

    short_ttl_config = dataclasses.replace(stack_config, tier_cache_ttl_seconds=1)
    gateways = {
        "ok": gateway("ok", "ok", stack.models),
        "short_ttl": gateway("short ttl", "short-ttl", stack.models, short_ttl_config),
        "failing_lookup": gateway("failing lookup", "fail", stack.models),
        "dead_model": gateway("dead model", "dead", dict.fromkeys(stack.models, dead_url)),
        "slow_model": gateway("slow model", "slow", {MODEL: slow.url}),
    }
    group = ServerGroup([stub, slow, *gateways.values()])
    with serve_in_thread(group):
        yield Side(**{name: comp.url for name, comp in gateways.items()}, lookups=lookups)


# --- routing -----------------------------------------------------------------------------------


def test_maas_api_prefix_is_replaced_by_slash(
    stack: StackUrls, http: httpx.Client, user_token: Callable[..., str]
) -> None:
    resp = http.get(f"{stack.gateway}/maas-api/health", headers=bearer(user_token(FREE)))
    assert resp.status_code == 200, f"expected maas-api's /health 200, got {resp.status_code}"
    assert resp.json() == {"status": "healthy"}, f"expected maas-api's body, got {resp.text}"


def test_v1_models_is_forwarded_unchanged(
    stack: StackUrls, http: httpx.Client, user_token: Callable[..., str]
) -> None:
    resp = http.get(f"{stack.gateway}/v1/models", headers=bearer(user_token(FREE)))
    assert resp.status_code == 200, f"expected 200, got {resp.status_code} {resp.text}"
    ids = {m["id"] for m in resp.json()["data"]}
    assert MODEL[1] in ids, f"expected maas-api's model list with {MODEL[1]}, got {ids}"


def test_model_route_strips_namespace_and_name(
    stack: StackUrls, http: httpx.Client, maas_token: Callable[..., str]
) -> None:
    resp = http.get(
        stack.gateway + model_path(MODEL, "/v1/models"), headers=bearer(maas_token(FREE))
    )
    assert resp.status_code == 200, f"expected the simulator's /v1/models, got {resp.status_code}"
    served = [m["id"] for m in resp.json()["data"]]
    assert served == [MODEL[1]], f"expected the simulator's own list [{MODEL[1]}], got {served}"


@pytest.mark.parametrize(
    "path",
    ["/nope", "/", "/maas-apix/health", "/v1/modelsx", "/llm", "/llm/unknown-model/v1/models"],
)
def test_path_outside_every_route_is_empty_404(
    stack: StackUrls, http: httpx.Client, user_token: Callable[..., str], path: str
) -> None:
    resp = http.get(stack.gateway + path, headers=bearer(user_token(FREE)))
    assert_empty_reply(resp, 404)


# --- Authorino: authentication -------------------------------------------------------------------

ROUTES_AND_REALMS = [
    pytest.param(model_path(MODEL), "service-accounts", id="model"),
    pytest.param("/maas-api/v1/tokens", "openshift-identities", id="maas-api"),
]


@pytest.mark.parametrize(("path", "realm"), ROUTES_AND_REALMS)
@pytest.mark.parametrize(
    "authorization", [None, "Basic dXNlcjpwYXNz", "Bearer", "bearer abc", "Token abc", "abc"]
)
def test_missing_or_malformed_credential_is_401_credential_not_found(
    stack: StackUrls, http: httpx.Client, path: str, realm: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    resp = http.post(stack.gateway + path, headers=headers, json={})
    assert_empty_reply(resp, 401)
    assert resp.headers.get("www-authenticate") == f'Bearer realm="{realm}"', resp.headers
    assert resp.headers.get("x-ext-auth-reason") == "credential not found", resp.headers


@pytest.mark.parametrize(("path", "realm"), ROUTES_AND_REALMS)
@pytest.mark.parametrize(
    "token",
    ["garbage", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "sha256~unknown", "a" * 20000, "a b,c"],
    ids=["garbage", "forged-jwt", "unknown-opaque", "huge", "spaces"],
)
def test_invalid_token_is_401_not_authenticated(
    stack: StackUrls, http: httpx.Client, path: str, realm: str, token: str
) -> None:
    resp = http.post(stack.gateway + path, headers=bearer(token), json={})
    assert_empty_reply(resp, 401)
    assert resp.headers.get("www-authenticate") == f'Bearer realm="{realm}"', resp.headers
    assert resp.headers.get("x-ext-auth-reason") == "not authenticated", resp.headers


def test_non_ascii_credential_is_401_not_authenticated(
    stack: StackUrls, http: httpx.Client
) -> None:
    resp = http.post(
        stack.gateway + model_path(MODEL), headers=[(b"Authorization", b"Bearer \xe9\xff")]
    )
    assert_empty_reply(resp, 401)
    assert resp.headers.get("x-ext-auth-reason") == "not authenticated", resp.headers


def test_identity_token_at_model_is_401_wrong_audience(
    stack: StackUrls, http: httpx.Client, user_token: Callable[..., str]
) -> None:
    resp = chat(http, stack.gateway, user_token(FREE))
    assert_empty_reply(resp, 401)
    assert resp.headers.get("www-authenticate") == 'Bearer realm="service-accounts"', resp.headers
    assert resp.headers.get("x-ext-auth-reason") == "not authenticated", resp.headers


def test_maas_token_is_accepted_on_maas_api_route(
    stack: StackUrls, http: httpx.Client, maas_token: Callable[..., str]
) -> None:
    resp = http.get(f"{stack.gateway}/v1/models", headers=bearer(maas_token(FREE)))
    assert resp.status_code == 200, f"expected 200 for a MaaS token, got {resp.status_code}"


def test_revoked_maas_token_is_401_at_model(
    stack: StackUrls, http: httpx.Client, user_token: Callable[..., str]
) -> None:
    identity = bearer(user_token(FREE))
    minted = http.post(f"{stack.gateway}/maas-api/v1/tokens", headers=identity, json={})
    assert minted.status_code == 201, f"expected 201 minting, got {minted.status_code}"
    revoked = http.delete(f"{stack.gateway}/maas-api/v1/tokens", headers=identity)
    assert revoked.status_code == 204, f"expected 204 revoking, got {revoked.status_code}"
    resp = chat(http, stack.gateway, minted.json()["token"])
    assert_empty_reply(resp, 401)
    assert resp.headers.get("x-ext-auth-reason") == "not authenticated", resp.headers


# --- Authorino: authorization ------------------------------------------------------------------


def test_free_tier_is_403_at_premium_model(
    stack: StackUrls, http: httpx.Client, maas_token: Callable[..., str]
) -> None:
    resp = chat(http, stack.gateway, maas_token(FREE), model=PREMIUM_MODEL)
    assert_empty_reply(resp, 403)
    # Authorino's reason for a SubjectAccessReview denial; plain RBAC gives the review no reason.
    reason = resp.headers.get("x-ext-auth-reason")
    assert reason == "not authorized: unknown reason", resp.headers


def test_premium_tier_reaches_premium_model(
    stack: StackUrls, http: httpx.Client, maas_token: Callable[..., str]
) -> None:
    resp = chat(http, stack.gateway, maas_token(PREMIUM), model=PREMIUM_MODEL)
    assert resp.status_code == 200, f"expected 200, got {resp.status_code} {resp.text}"


# --- Limitador: requests -----------------------------------------------------------------------


def test_free_tier_request_limit_is_reached_exactly_at_limit(
    stack: StackUrls,
    http: httpx.Client,
    maas_token: Callable[..., str],
    stack_config: StackConfig,
) -> None:
    limit = stack_config.request_limits["free"].limit
    token = maas_token(FREE)
    statuses = [chat(http, stack.gateway, token, max_tokens=1).status_code for _ in range(limit)]
    assert statuses == [200] * limit, f"expected {limit} admitted requests, got {statuses}"
    denied = chat(http, stack.gateway, token, max_tokens=1)
    assert denied.status_code == 429, (
        f"expected 429 at request {limit + 1}, got {denied.status_code}"
    )
    assert denied.text == "Too Many Requests\n", f"expected Limitador's body, got {denied.text!r}"
    assert denied.headers.get("content-type") == "text/plain", denied.headers
    assert not any(h.startswith("x-ratelimit") for h in denied.headers), denied.headers


def test_request_limit_is_counted_per_user(
    stack: StackUrls,
    http: httpx.Client,
    maas_token: Callable[..., str],
    stack_config: StackConfig,
) -> None:
    limit = stack_config.request_limits["free"].limit
    first = maas_token(FREE)
    statuses = [
        chat(http, stack.gateway, first, max_tokens=1).status_code for _ in range(limit + 1)
    ]
    assert statuses[-1] == 429, f"expected the first user limited, got {statuses}"
    other = chat(http, stack.gateway, maas_token(FREE), max_tokens=1)
    assert other.status_code == 200, f"expected a second user unaffected, got {other.status_code}"


def test_premium_tier_is_not_limited_at_16_requests(
    stack: StackUrls, http: httpx.Client, maas_token: Callable[..., str]
) -> None:
    token = maas_token(PREMIUM)
    statuses = [chat(http, stack.gateway, token, max_tokens=1).status_code for _ in range(16)]
    assert statuses == [200] * 16, f"expected 16 admitted premium requests, got {statuses}"


def test_requests_denied_by_rbac_do_not_count(
    stack: StackUrls,
    http: httpx.Client,
    maas_token: Callable[..., str],
    stack_config: StackConfig,
) -> None:
    limit = stack_config.request_limits["free"].limit
    token = maas_token(FREE)
    denied = [
        chat(http, stack.gateway, token, model=PREMIUM_MODEL).status_code for _ in range(limit + 2)
    ]
    assert denied == [403] * (limit + 2), f"expected RBAC denials, got {denied}"
    statuses = [chat(http, stack.gateway, token, max_tokens=1).status_code for _ in range(limit)]
    assert statuses == [200] * limit, f"expected the whole quota left after 403s, got {statuses}"


# --- Limitador: tokens -------------------------------------------------------------------------


def test_token_limit_admits_until_budget_used_then_429(
    stack: StackUrls,
    http: httpx.Client,
    maas_token: Callable[..., str],
    stack_config: StackConfig,
) -> None:
    budget = stack_config.token_limits["free"].limit
    max_requests = stack_config.request_limits["free"].limit
    token, used, crossed = maas_token(FREE), 0, False
    while used < budget:
        assert max_requests > 0, f"the request limit ran out before {budget} tokens were used"
        resp = chat(http, stack.gateway, token, prompt=big_prompt(budget), max_tokens=1)
        assert resp.status_code == 200, (
            f"expected admission at {used}/{budget} tokens, got {resp.status_code}"
        )
        crossed = crossed or used + resp.json()["usage"]["total_tokens"] > budget
        used += resp.json()["usage"]["total_tokens"]
        max_requests -= 1
    assert crossed, f"expected the last admitted request to overshoot {budget}, used {used}"
    denied = chat(http, stack.gateway, token, max_tokens=1)
    assert denied.status_code == 429, (
        f"expected 429 after {used}/{budget} tokens, got {denied.status_code}"
    )
    assert denied.text == "Too Many Requests\n", f"expected Limitador's body, got {denied.text!r}"


def test_streamed_usage_counts_against_token_limit(
    stack: StackUrls,
    http: httpx.Client,
    maas_token: Callable[..., str],
    stack_config: StackConfig,
) -> None:
    budget = stack_config.token_limits["free"].limit
    token, used = maas_token(FREE), 0
    options = {"stream": True, "stream_options": {"include_usage": True}, "max_tokens": 1}
    for _ in range(stack_config.request_limits["free"].limit - 1):
        if used >= budget:
            break
        resp = chat(http, stack.gateway, token, prompt=big_prompt(budget), **options)
        assert resp.status_code == 200, (
            f"expected admission at {used}/{budget}, got {resp.status_code}"
        )
        used += streamed_usage(stream_events(resp))
    assert used >= budget, f"expected streams to use the budget {budget}, used {used}"
    denied = chat(http, stack.gateway, token, max_tokens=1)
    assert denied.status_code == 429, (
        f"expected 429 after {used} streamed tokens, got {denied.status_code}"
    )


def test_stream_without_include_usage_is_not_counted(
    stack: StackUrls,
    http: httpx.Client,
    maas_token: Callable[..., str],
    stack_config: StackConfig,
) -> None:
    budget = stack_config.token_limits["free"].limit
    token = maas_token(FREE)
    statuses = [
        chat(
            http, stack.gateway, token, prompt=big_prompt(budget), stream=True, max_tokens=1
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [200] * 3, f"expected streams without usage to count nothing, got {statuses}"


# --- forwarding ----------------------------------------------------------------------------------


def test_stream_passes_through_to_done(
    stack: StackUrls, http: httpx.Client, maas_token: Callable[..., str]
) -> None:
    resp = chat(http, stack.gateway, maas_token(FREE), stream=True, max_tokens=3)
    assert resp.status_code == 200, f"expected 200, got {resp.status_code} {resp.text}"
    assert resp.headers["content-type"].startswith("text/event-stream"), resp.headers
    events = stream_events(resp)
    assert events, "expected SSE events"
    assert events[-1] == "[DONE]", f"expected the stream to end with [DONE], got {events[-3:]}"


def test_stream_events_arrive_before_the_answer_ends(
    side: Side, http: httpx.Client, maas_token: Callable[..., str]
) -> None:
    words = "one two three four five six"  # echoed: 6 tokens, 100 ms apart
    body = {"model": MODEL[1], "messages": [{"role": "user", "content": words}], "stream": True}
    start = time.monotonic()
    first = None
    with http.stream(
        "POST", side.slow_model + model_path(MODEL), headers=bearer(maas_token(FREE)), json=body
    ) as resp:
        assert resp.status_code == 200, f"expected 200, got {resp.status_code}"
        for chunk in resp.iter_raw():
            if chunk and first is None:
                first = time.monotonic() - start
    total = time.monotonic() - start
    assert first is not None, "expected a streamed body"
    assert first < total - 0.3, (
        f"expected the first event well before the end: {first:.2f}s of {total:.2f}s"
    )


def test_request_id_header_reaches_the_model(
    stack: StackUrls, http: httpx.Client, maas_token: Callable[..., str]
) -> None:
    request_id = uuid.uuid4().hex
    body = {"model": MODEL[1], "messages": [{"role": "user", "content": "hi"}]}
    headers = {**bearer(maas_token(FREE)), REQUEST_ID: request_id}
    resp = http.post(stack.gateway + model_path(MODEL), headers=headers, json=body)
    assert resp.status_code == 200, f"expected 200, got {resp.status_code}"
    served = http.get(f"{stack.models[MODEL]}/_local/served").json()["ids"]
    assert request_id in served, f"expected {request_id} among the ids the model served"


@pytest.mark.parametrize("denial", ["401", "403"])
def test_denied_request_never_reaches_the_model(
    stack: StackUrls,
    http: httpx.Client,
    maas_token: Callable[..., str],
    user_token: Callable[..., str],
    denial: str,
) -> None:
    token = user_token(FREE) if denial == "401" else maas_token(FREE)
    request_id = uuid.uuid4().hex
    body = {"model": PREMIUM_MODEL[1], "messages": [{"role": "user", "content": "hi"}]}
    headers = {**bearer(token), REQUEST_ID: request_id}
    resp = http.post(stack.gateway + model_path(PREMIUM_MODEL), headers=headers, json=body)
    assert resp.status_code == int(denial), f"expected {denial}, got {resp.status_code}"
    served = http.get(f"{stack.models[PREMIUM_MODEL]}/_local/served").json()["ids"]
    assert request_id not in served, f"expected the denied request {request_id} not served"


def test_non_json_body_gets_the_models_own_answer(
    stack: StackUrls, http: httpx.Client, maas_token: Callable[..., str]
) -> None:
    direct = http.post(f"{stack.models[MODEL]}/v1/chat/completions", content=b"not json{")
    resp = http.post(
        stack.gateway + model_path(MODEL), headers=bearer(maas_token(FREE)), content=b"not json{"
    )
    # The model's refusal of an undecodable body is plain text (fasthttp's ctx.Error in v0.5.1).
    relayed = (resp.status_code, resp.headers.get("content-type"), resp.text)
    assert relayed == (direct.status_code, direct.headers.get("content-type"), direct.text), (
        f"expected the model's {direct.status_code} {direct.text}, "
        f"got {resp.status_code} {resp.text}"
    )


def test_unreachable_model_is_503_no_healthy_upstream(
    side: Side, http: httpx.Client, maas_token: Callable[..., str]
) -> None:
    resp = chat(http, side.dead_model, maas_token(FREE))
    assert resp.status_code == 503, f"expected 503, got {resp.status_code} {resp.text}"
    assert resp.text == "no healthy upstream", f"expected Envoy's body, got {resp.text!r}"


# --- tier metadata ---------------------------------------------------------------------------


def test_tier_lookup_is_cached_per_user(
    side: Side, http: httpx.Client, maas_token: Callable[..., str]
) -> None:
    first, second = maas_token(FREE), maas_token(FREE)
    before = side.lookups["ok"]
    for _ in range(3):
        assert chat(http, side.ok, first, max_tokens=1).status_code == 200
    after_first = side.lookups["ok"]
    assert chat(http, side.ok, second, max_tokens=1).status_code == 200
    looked_up = (after_first - before, side.lookups["ok"] - after_first)
    assert looked_up == (1, 1), f"expected one lookup per user within the ttl, got {looked_up}"


def test_tier_lookup_repeats_after_ttl(
    side: Side, http: httpx.Client, maas_token: Callable[..., str]
) -> None:
    token = maas_token(FREE)
    before = side.lookups["short-ttl"]

    def lookups_after_request() -> int:
        assert chat(http, side.short_ttl, token, max_tokens=1).status_code == 200
        return side.lookups["short-ttl"] - before

    polling = Retrying(
        stop=stop_after_delay(5),
        wait=wait_fixed(0.25),
        retry=retry_if_result(lambda n: n < 2),
        retry_error_callback=lambda state: state.outcome.result(),
    )
    looked_up = polling(lookups_after_request)
    assert looked_up == 2, f"expected a second lookup once the 1 s ttl expired, got {looked_up}"


def test_failed_tier_lookup_applies_no_limit(
    side: Side,
    http: httpx.Client,
    maas_token: Callable[..., str],
    stack_config: StackConfig,
) -> None:
    token = maas_token(FREE)
    count = stack_config.request_limits["free"].limit + 1
    statuses = [
        chat(http, side.failing_lookup, token, max_tokens=1).status_code for _ in range(count)
    ]
    assert statuses == [200] * count, f"expected no limit without a tier, got {statuses}"
