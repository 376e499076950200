"""What each endpoint may answer, per docs/contract.md and the upstream code it cites, as the fuzz
tests judge replies: every status allowed, with a check of its body. Anything else (a 5xx above
all, but the documented 500) fails.
"""

from __future__ import annotations

import json
from urllib.parse import unquote

import httpx
from fuzzing import (
    Check,
    Expected,
    any_body,
    empty,
    json_error,
    json_exactly,
    json_keys,
    json_object,
    text,
)

from maas_fidelity import hostile

# --------------------------------------------------------------------------- maas-api


def _model_list(response: httpx.Response) -> None:
    body = json_object(response)
    assert body.get("object") == "list", f"expected object 'list', got {body!r:.300}"
    assert isinstance(body.get("data"), list), f"expected a data list, got {body!r:.300}"


MAAS_API_UNAUTHENTICATED: Expected = {401: json_error()}
FAILED_TO_GENERATE = {"error": "Failed to generate token"}
"""The one documented 500: a zero grant, or one over 2^32 s, that the API server refuses."""

_failed_to_generate = json_exactly(FAILED_TO_GENERATE)


ISSUE: Expected = {
    201: json_keys({"token", "expiration", "expiresAt"}),
    400: json_keys({"error"}, {"expiration"}),
    500: _failed_to_generate,
}
REVOKE: Expected = {204: empty}
MAAS_API_LIST: Expected = {200: _model_list}
LOOKUP: Expected = {
    200: json_keys({"tier"}),
    400: json_error("message", error="bad_request"),
    404: json_error("message", error="not_found"),
}
GIN_ROUTER: Expected = {404: text("404 page not found"), 307: any_body}
"""gin off its routes: 404 for an unknown path or method, a redirect for a trailing slash."""

_MAAS_API: dict[tuple[str, str], Expected] = {
    ("POST", hostile.TOKENS): ISSUE,
    ("DELETE", hostile.TOKENS): REVOKE,
    ("GET", hostile.MODELS): MAAS_API_LIST,
    ("GET", hostile.INFERENCE_SERVICES): MAAS_API_LIST,
    ("POST", hostile.TIER_LOOKUP): LOOKUP,
}
_AUTHENTICATED = {("POST", hostile.TOKENS), ("DELETE", hostile.TOKENS)}


FAILED_TO_REVOKE = {"error": "Failed to revoke tokens"}

_failed_to_revoke = json_exactly(FAILED_TO_REVOKE)


MAAS_API_ANONYMOUS: dict[str, Expected] = {
    "POST": {400: ISSUE[400], 500: _failed_to_generate},  # the body is read once authenticated
    "DELETE": {500: _failed_to_revoke},
}
"""maas-api passes what follows `Bearer ` to a TokenReview, and kube-apiserver reviews it as the
header `Bearer <token>` would be read: a token that begins with a space is no token there, the
request is the anonymous user's, whom no tier holds, and maas-api fails with its 500 (measured
on kube-apiserver v1.32.13 with the upstream maas-api e38c15ed build)."""


def read_as_anonymous(authorization: bytes) -> bool:
    """Whether a `Bearer ` credential reaches the TokenReview as a token kube-apiserver reads as
    none (it begins with a space)."""
    token = authorization.removeprefix(b"Bearer ")
    return authorization.startswith(b"Bearer ") and token[:1] == b" " and bool(token.strip())


def maas_api(
    method: str, path: str, credential: bool, authorization: bytes | None = None
) -> Expected:
    """maas-api's replies by route; `credential`: the request carries a valid identity, else
    `authorization` is the invalid one it carries."""
    route = (method, _route(path))
    endpoint = _MAAS_API.get(route, GIN_ROUTER)
    if route in _AUTHENTICATED and not credential:
        anonymous = authorization is not None and read_as_anonymous(authorization)
        endpoint = MAAS_API_ANONYMOUS[method] if anonymous else MAAS_API_UNAUTHENTICATED
    if method == "HEAD":
        return _head(_MAAS_API.get(("GET", route[1]), {}), GIN_ROUTER)
    return endpoint


# --------------------------------------------------------------------------- simulator


def _completion(response: httpx.Response) -> None:
    """A JSON completion, or an SSE stream of `data:` events ending with `data: [DONE]`."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        events = [e for e in response.text.split("\n\n") if e]
        assert events, "expected SSE events, got an empty stream"
        assert all(e.startswith("data: ") for e in events), f"expected data: events: {events[:3]}"
        assert events[-1] == "data: [DONE]", f"expected the stream to end with [DONE]: {events[-1]}"
        for event in events[:-1]:
            json.loads(event.removeprefix("data: "))
        return
    body = json_object(response)
    assert body.get("object") in ("chat.completion", "text_completion"), f"got {body!r:.300}"
    assert isinstance(body.get("usage"), dict), f"expected usage, got {body!r:.300}"


def _openai_error(response: httpx.Response) -> None:
    error = json_object(response).get("error")
    assert isinstance(error, dict), f"expected an error object, got {response.text[:300]}"
    assert isinstance(error.get("message"), str), f"expected a message, got {error!r:.300}"
    assert error.get("code") == response.status_code, f"expected code {response.status_code}"


def simulator_list(model: str) -> Check:
    def check(response: httpx.Response) -> None:
        body = json_object(response)
        ids = [m.get("id") for m in body.get("data", [])]
        assert (body.get("object"), ids) == ("list", [model]), f"got {body!r:.300}"

    return check


UNREADABLE = "Failed to read and parse request body, "
"""The simulator's plain-text 400 for a body Go cannot decode into the request struct."""


def _refused(response: httpx.Response) -> None:
    """A body the decoder refuses (plain text), or a request validation refuses (OpenAI JSON)."""
    if not response.text.startswith(UNREADABLE):
        _openai_error(response)


COMPLETE: Expected = {200: _completion, 400: _refused, 404: _openai_error}
SIMULATOR_ROUTER: Expected = {404: any_body, 405: any_body, 307: any_body}
"""The simulator's router off its routes (fasthttprouter: 404, 405, trailing-slash redirect)."""


def simulator(method: str, path: str, model: str) -> Expected:
    endpoints = {
        ("POST", hostile.CHAT): COMPLETE,
        ("POST", hostile.COMPLETIONS): COMPLETE,
        ("GET", hostile.MODELS): {200: simulator_list(model)},
    }
    if method == "HEAD":
        return _head(endpoints.get(("GET", _route(path)), {}), SIMULATOR_ROUTER)
    return endpoints.get((method, _route(path)), SIMULATOR_ROUTER)


# --------------------------------------------------------------------------- identity plane


def _status(response: httpx.Response) -> None:
    """kube-apiserver's `Status` object for a refusal, its code the reply's."""
    body = json_object(response)
    assert body.get("kind") == "Status", f"expected a Status, got {body!r:.300}"
    assert body.get("code") == response.status_code, f"expected code {response.status_code}"


def _holding(path: str, kind: type) -> Check:
    """A JSON object whose dotted `path` holds a `kind`."""

    def check(response: httpx.Response) -> None:
        value: object = json_object(response)
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        assert isinstance(value, kind), f"expected {path} to be a {kind.__name__}: {response.text}"

    return check


TOKEN_REQUEST: Expected = {
    201: _holding("status.token", str),
    400: _status,
    404: _status,
    422: _status,
}
TOKEN_REVIEW: Expected = {201: _holding("status", dict), 400: _status}
APISERVER_ROUTER: Expected = {404: any_body, 405: any_body, 307: any_body}
_IDENTITY: dict[tuple[str, str], Expected] = {
    ("POST", hostile.TOKEN_REVIEW): TOKEN_REVIEW,
    ("GET", hostile.OIDC_DISCOVERY): {200: _holding("jwks_uri", str)},
    ("GET", hostile.JWKS): {200: _holding("keys", list)},
}


def is_token_request(path: str) -> bool:
    """`/api/v1/namespaces/<ns>/serviceaccounts/<sa>/token` once decoded, both names non-empty
    (an encoded slash or an empty name makes another path, which no route serves)."""
    parts = _route(path).split("/")
    shape = ["", "api", "v1", "namespaces", "*", "serviceaccounts", "*", "token"]
    return len(parts) == len(shape) and all(
        p != "" if s == "*" else p == s for p, s in zip(parts, shape, strict=True)
    )


def identity_endpoint(method: str, path: str) -> bool:
    """Whether the request is for one of the identity endpoints MaaS relies on."""
    return (method, _route(path)) in _IDENTITY or is_token_request(path)


def identity(method: str, path: str) -> Expected:
    if is_token_request(path):
        expected = TOKEN_REQUEST if method == "POST" else APISERVER_ROUTER
    else:
        expected = _IDENTITY.get((method, _route(path)), APISERVER_ROUTER)
    if method == "HEAD":
        return _head(_IDENTITY.get(("GET", _route(path)), {}), APISERVER_ROUTER)
    return expected


# --------------------------------------------------------------------------- gateway


def gateway_unauthenticated(response: httpx.Response) -> None:
    """Authorino's 401: no body, a `Bearer` challenge and a reason."""
    empty(response)
    assert response.headers.get("www-authenticate", "").startswith("Bearer realm="), (
        f"expected a Bearer challenge, got {dict(response.headers)}"
    )
    assert response.headers.get("x-ext-auth-reason") in (
        "credential not found",
        "not authenticated",
    ), f"expected Authorino's reason, got {dict(response.headers)}"


GATEWAY_UNAUTHENTICATED: Expected = {401: gateway_unauthenticated}
NO_ROUTE: Expected = {404: empty}
"""Envoy when no HTTPRoute matches."""


def gateway_any(response: httpx.Response) -> None:
    """Whatever the route: no 5xx but maas-api's documented 500, relayed."""
    if response.status_code >= 500:
        _failed_to_generate(response)


# --------------------------------------------------------------------------- helpers


def _route(path: str) -> str:
    """The path routers match: without the query, percent-decoded (gin, fasthttp and Go's
    net/http route on the decoded path)."""
    return unquote(path.split("?", 1)[0])


def _head(get: Expected, router: Expected) -> Expected:
    """HEAD: the GET route's statuses (Starlette serves HEAD wherever GET is; gin answers 404,
    fasthttprouter 405) or the router's, without a body to judge."""
    return dict.fromkeys([*get, *router], any_body)
