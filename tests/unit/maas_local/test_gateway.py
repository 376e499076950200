"""The embedded gateway over HTTP: routing, Authorino's replies, tiers, Limitador's counting.

Most tests go through the whole running stack (`stack`). A few need a gateway wired differently
(a counting tier lookup, a model that is down, a slow model): `side` serves such gateways next
to the stack, sharing its API server. Every test that counts against a limit uses fresh users.

What each tier may call and how much is the e2e suite's to prove against this stack
(tests/e2e/test_rejections.py, test_rate_limits.py, test_token_limits.py); these tests check how
the gateway applies what it is told, with the tier, model and figures taken from the
configuration rather than written out.
"""

from __future__ import annotations

import dataclasses
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
from maas_local.maas_api.naming import tier_group
from maas_local.servers import Component, ServerGroup, bind, serve_in_thread, url_of
from maas_local.simulator import SimulatorConfig
from maas_local.simulator import build_app as build_simulator
from maas_local.stack import StackUrls

MODEL = ("llm", "facebook-opt-125m-simulated")
FREE = "tier-free-users"
"""A group of the manifests' tiers, for the tests that only need some user the stack serves."""
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


def big_prompt(token_limit: int) -> str:
    """A prompt of about 60% of the token budget: the second answer crosses the limit."""
    return "word " * max(1, token_limit * 6 // 10)


def assert_empty_reply(resp: httpx.Response, status: int) -> None:
    assert resp.status_code == status, f"expected {status}, got {resp.status_code} {resp.text!r}"
    assert resp.content == b"", f"expected an empty body, got {resp.content!r}"


# --- what the configuration says --------------------------------------------------------------


@dataclass(frozen=True)
class Limited:
    """The lowest tier of the configuration with both limits, as the limit tests use it."""

    name: str
    group: str
    """A group of the tier: a fresh user holding it gets MaaS tokens of this tier."""
    requests: int
    """Requests per window."""
    tokens: int
    """Tokens per window."""


@pytest.fixture(scope="module")
def limited(stack_config: StackConfig) -> Limited:
    """The lowest level has the smallest limits, the cheapest to reach; it is also the tier a
    user's `system:authenticated` group maps to in the manifests, so it is the user's tier."""
    tiers = sorted(
        (
            t
            for t in stack_config.tiers
            if t.name in stack_config.request_limits and t.name in stack_config.token_limits
        ),
        key=lambda t: t.level,
    )
    assert tiers, "the configuration gives no tier both a request and a token limit"
    tier = tiers[0]
    return Limited(
        tier.name,
        tier.groups[0],
        stack_config.request_limits[tier.name].limit,
        stack_config.token_limits[tier.name].limit,
    )


@pytest.fixture(scope="module")
def denied_model(stack_config: StackConfig, limited: Limited) -> tuple[str, str]:
    """A model no RoleBinding of the configuration lets `limited`'s tokens call.

    A binding counts as granting if it names the tier's group and any rule of it could cover the
    model: so the model picked is one the API server's SubjectAccessReview surely denies."""
    group = tier_group(stack_config.instance, limited.name)
    for model in stack_config.models:
        granted = any(
            group in binding.groups
            and binding.namespace in (None, model.namespace)
            and any(not rule.resource_names or model.name in rule.resource_names
                    for rule in binding.rules)
            for binding in stack_config.bindings
        )  # fmt: skip
        if not granted:
            return model.namespace, model.name
    pytest.fail(f"the configuration lets tier {limited.name} call every model: nothing to deny")


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


def test_rbac_denial_is_empty_403_with_authorinos_reason_for_a_review_without_one(
    stack: StackUrls,
    http: httpx.Client,
    maas_token: Callable[..., str],
    limited: Limited,
    denied_model: tuple[str, str],
) -> None:
    resp = chat(http, stack.gateway, maas_token(limited.group), model=denied_model)
    assert_empty_reply(resp, 403)
    # Authorino's reason for a SubjectAccessReview denial; plain RBAC gives the review no reason.
    reason = resp.headers.get("x-ext-auth-reason")
    assert reason == "not authorized: unknown reason", resp.headers


# --- Limitador: requests -----------------------------------------------------------------------


def test_limitadors_429_is_plain_text_without_rate_limit_headers(
    stack: StackUrls, http: httpx.Client, maas_token: Callable[..., str], limited: Limited
) -> None:
    """Only the status and body are e2e promises; the rest of the reply is Limitador's own."""
    token = maas_token(limited.group)
    statuses = [
        chat(http, stack.gateway, token, max_tokens=1).status_code for _ in range(limited.requests)
    ]
    assert statuses == [200] * limited.requests, (
        f"expected {limited.requests} admitted requests, got {statuses}"
    )
    denied = chat(http, stack.gateway, token, max_tokens=1)
    assert denied.status_code == 429, (
        f"expected 429 at request {limited.requests + 1}, got {denied.status_code}"
    )
    assert denied.text == "Too Many Requests\n", f"expected Limitador's body, got {denied.text!r}"
    assert denied.headers.get("content-type") == "text/plain", denied.headers
    assert not any(h.startswith("x-ratelimit") for h in denied.headers), denied.headers


# --- Limitador: tokens -------------------------------------------------------------------------

STREAMS_WITHOUT_USAGE = 3
"""Streams of a prompt worth 60% of the budget each: counted, the third would be refused."""


def test_stream_without_include_usage_is_not_counted(
    stack: StackUrls, http: httpx.Client, maas_token: Callable[..., str], limited: Limited
) -> None:
    assert limited.requests > STREAMS_WITHOUT_USAGE, (
        f"tier {limited.name}'s request limit {limited.requests} would refuse the streams first"
    )
    token = maas_token(limited.group)
    prompt = big_prompt(limited.tokens)
    statuses = [
        chat(http, stack.gateway, token, prompt=prompt, stream=True, max_tokens=1).status_code
        for _ in range(STREAMS_WITHOUT_USAGE)
    ]
    assert statuses == [200] * STREAMS_WITHOUT_USAGE, (
        f"expected streams without usage to count nothing, got {statuses}"
    )


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
    limited: Limited,
    denied_model: tuple[str, str],
    denial: str,
) -> None:
    token = user_token(limited.group) if denial == "401" else maas_token(limited.group)
    request_id = uuid.uuid4().hex
    body = {"model": denied_model[1], "messages": [{"role": "user", "content": "hi"}]}
    headers = {**bearer(token), REQUEST_ID: request_id}
    resp = http.post(stack.gateway + model_path(denied_model), headers=headers, json=body)
    assert resp.status_code == int(denial), f"expected {denial}, got {resp.status_code}"
    served = http.get(f"{stack.models[denied_model]}/_local/served").json()["ids"]
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
    side: Side, http: httpx.Client, maas_token: Callable[..., str], limited: Limited
) -> None:
    token = maas_token(limited.group)
    count = limited.requests + 1
    statuses = [
        chat(http, side.failing_lookup, token, max_tokens=1).status_code for _ in range(count)
    ]
    assert statuses == [200] * count, f"expected no limit without a tier, got {statuses}"
