"""maas-api: the embedded one against ours on the real kube-apiserver and against upstream's.

Two comparisons share this corpus. `maas-api` plays it through each stack's gateway (the
cluster's maas-api listens on a port only its gateway knows), so the embedded stack and ours on
`maas-local cluster` meet the same gateway code and differ where the API server behind them
does. `maas-api-upstream` plays it directly against the embedded maas-api and the real upstream
binary (started by `upstream.py` on the cluster's kube-apiserver).

Users are made with the same names on both sides: a ServiceAccount of the tier's identity
namespace on the cluster, and on the embedded stack a user of that name with the groups the
API server gives that ServiceAccount, so maas-api names what it makes the same on both sides.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

from maas_fidelity import hostile
from maas_fidelity.corpus import Case, Steps, one
from maas_fidelity.exchange import (
    JSON_TYPE,
    Observation,
    Request,
    json_request,
    raw_request,
    send,
)
from maas_fidelity.hostile import HostileCase
from maas_fidelity.normalise import token_shape

TOKENS, MODELS, TIER_LOOKUP = "/v1/tokens", "/v1/models", "/v1/tiers/lookup"
REVOKED_WITHIN_S = 15.0
"""How long a revoked token may still pass review before it counts as not refused: a real
kube-apiserver caches a token's successful review for 10 s."""
REVIEW_INTERVAL_S = 0.2
_MISSING: Any = object()


@dataclass
class Context:
    """One side: its maas-api (`prefix` is the gateway's path to it, "" when direct), how to
    make a user of a tier, and how its API server reviews a token."""

    client: httpx.Client
    prefix: str
    new_user: Callable[[str, str], str]
    """(tier, name) -> the user's cluster identity token."""
    review: Callable[[str, list[str]], Observation]
    """(token, audiences) -> TokenReview's verdict as an observation."""
    run_id: str
    tier: str
    user: str = ""

    def send(self, request: Request, bearer: str | None = None) -> Observation:
        path = self.prefix + request.path
        routed = Request(request.method, path, request.body, request.headers, request.credential)
        return send(self.client, routed, bearer if bearer is not None else self.user)

    def fresh_user(self, hint: str) -> str:
        return self.new_user(self.tier, f"{self.run_id}-{hint}")

    def prepare(self) -> Context:
        self.user = self.fresh_user("user")
        return self


def user_name(namespace: str, name: str) -> str:
    """The name the API server gives a ServiceAccount's identity."""
    return f"system:serviceaccount:{namespace}:{name}"


def service_account_groups(namespace: str) -> list[str]:
    """The groups the API server gives a ServiceAccount's identity (besides authenticated)."""
    return ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]


def _issue(body: Any = _MISSING, raw: bytes | None = None) -> Callable[[Context], Steps]:
    if raw is not None:
        request = raw_request("POST", TOKENS, raw)
    else:
        request = json_request("POST", TOKENS, {} if body is _MISSING else body)
    return lambda ctx: one(ctx.send(request))


def _expiration(value: Any) -> Case[Context]:
    return Case(
        f"tokens.expiration={json.dumps(value, ensure_ascii=False)}",
        _issue({"expiration": value}),
    )


def _authorization(value: str | None) -> Callable[[Context], Steps]:
    headers = ((("Authorization", value),) if value is not None else ()) + (
        ("Content-Type", JSON_TYPE),
    )
    request = Request("POST", TOKENS, b'{"expiration": "1h"}', headers, credential=False)
    return lambda ctx: one(ctx.send(request))


def _lookup(body: bytes) -> Callable[[Context], Steps]:
    request = raw_request("POST", TIER_LOOKUP, body)
    return lambda ctx: one(ctx.send(request))


def _get(path: str) -> Callable[[Context], Steps]:
    return lambda ctx: one(ctx.send(Request("GET", path)))


def _revocation(ctx: Context) -> Steps:
    """Issue, revoke, and see the API server refuse the old token; revoke again (nothing left
    to revoke), and issue again."""
    user = ctx.fresh_user("revoked")
    steps: dict[str, Observation] = {}
    steps["issue"] = issued = ctx.send(json_request("POST", TOKENS, {"expiration": "1h"}), user)
    token = issued.body.get("token") if isinstance(issued.body, dict) else None
    if issued.status != 201 or not isinstance(token, str):
        return steps
    audiences = token_shape(token)["claims"].get("aud") or []
    steps["review before"] = ctx.review(token, audiences)
    steps["revoke"] = ctx.send(Request("DELETE", TOKENS), user)
    steps["review after"] = _review_until_refused(ctx, token, audiences)
    steps["revoke again"] = ctx.send(Request("DELETE", TOKENS), user)
    steps["issue again"] = ctx.send(json_request("POST", TOKENS, {"expiration": "1h"}), user)
    return steps


def _review_until_refused(ctx: Context, token: str, audiences: list[str]) -> Observation:
    """The review that refused the revoked token, with when: at the first review after the
    revocation, later (within REVOKED_WITHIN_S), or not at all."""
    reviews: list[Observation] = []

    def review() -> Observation:
        reviews.append(ctx.review(token, audiences))
        return reviews[-1]

    last = Retrying(
        stop=stop_after_delay(REVOKED_WITHIN_S),
        wait=wait_fixed(REVIEW_INTERVAL_S),
        retry=retry_if_result(_authenticated),
        retry_error_callback=lambda state: state.outcome.result(),
    )(review)
    if _authenticated(last):
        when = f"not within {REVOKED_WITHIN_S:.0f} s"
    else:
        when = "at once" if len(reviews) == 1 else f"later, within {REVOKED_WITHIN_S:.0f} s"
    return Observation(last.status, last.content_type, {**last.body, "refused": when})


def _authenticated(obs: Observation) -> bool:
    return isinstance(obs.body, dict) and bool(obs.body.get("authenticated"))


def review_verdict(response: httpx.Response) -> Observation:
    """A TokenReview reply reduced to its verdict: the wording of a refusal is the identity
    comparison's business, and here it races (a real API server may still miss the account
    maas-api re-created, "not found", or already see it, "UID does not match")."""
    try:
        status = response.json().get("status") or {}
    except ValueError:
        status = {}
    verdict = {"authenticated": bool(status.get("authenticated"))}
    return Observation(response.status_code, response.headers.get("content-type", ""), verdict)


EXPIRATIONS: tuple[Any, ...] = (
    None,
    "4h",
    "1h30m",
    "1.5h",
    "10m",
    "1h30m45s",
    3600,
    5400.5,
    "1193046h28m16s",
    "1193046h28m17s",
    "",
    "0",
    0,
    "1d",
    "4hours",
    "-1h",
    "30",
    "1 h",
    "1ms",
    "1h\n",
    "1h\ufeff",
    "2562047h47m16.854775808s",
    "9m",
    "9m59s",
    "5m",
    "0s",
    599,
    -3600,
    True,
    [],
    {"h": 1},
)
"""Every expiration of the contract's e2e tests (tests/e2e/test_token_issuance.py)."""

MALFORMED: tuple[tuple[str, bytes], ...] = (
    ("empty", b""),
    ("brace", b"{"),
    ("cut", b'{"expiration": "4h"'),
    ("text", b"not json"),
    ("bare-key", b"{x"),
    ("array", b"[]"),
    ("no-comma", b'{"expiration": ["4h" true]}'),
    ("bad-escape", b'{"expiration": "\\q"}'),
    ("exponent", b'{"expiration": 36e2}'),
)

LOOKUPS: tuple[tuple[str, bytes], ...] = (
    ("free", b'{"groups": ["system:authenticated"]}'),
    ("premium", b'{"groups": ["tier-premium-users"]}'),
    ("highest-wins", b'{"groups": ["tier-free-users", "tier-enterprise-users"]}'),
    ("unknown", b'{"groups": ["fidelity-nobody"]}'),
    ("empty-list", b'{"groups": []}'),
    ("no-groups", b"{}"),
    ("groups-string", b'{"groups": "tier-free-users"}'),
    ("not-json", b"not json"),
)


def _hostile(case: HostileCase) -> Case[Context]:
    request = Request(case.method, case.path, case.body, case.headers, case.credential)
    return Case(f"hostile.{case.name}", lambda ctx: one(ctx.send(request)))


def cases() -> list[Case[Context]]:
    own: list[Case[Context]] = [
        Case("tokens.default", _issue()),
        *(_expiration(value) for value in EXPIRATIONS),
        *(Case(f"tokens.malformed.{name}", _issue(raw=raw)) for name, raw in MALFORMED),
        Case("tokens.auth.none", _authorization(None)),
        Case("tokens.auth.basic", _authorization("Basic dXNlcjpwYXNz")),
        Case("tokens.auth.garbage", _authorization("Bearer not-a-token")),
        Case("tokens.auth.empty-bearer", _authorization("Bearer ")),
        Case(
            "tokens.auth.unknown-opaque",
            _authorization("Bearer sha256~unknownopaquetokenvalue0000000000000000"),
        ),
        Case("tokens.revocation", _revocation),
        *(Case(f"tiers.lookup.{name}", _lookup(body)) for name, body in LOOKUPS),
        Case("models.v1", _get(MODELS)),
        Case("models.legacy", _get("/models")),
        Case("health", _get("/health")),
        Case("route.unknown", _get("/v1/fidelity-nothing")),
    ]
    return own + [_hostile(case) for case in hostile.maas_api_cases()]


def new_run_id() -> str:
    return f"fidelity-{uuid.uuid4().hex[:6]}"
