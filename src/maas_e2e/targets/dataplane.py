"""Readiness proven by the data plane, not by conditions.

Kuadrant has been seen to report `Enforced=True` on a policy before the gateway enforces it. So
before the first test the cluster target sends what a user would, polled with the bring-up's
deadline until each probe holds, and names every probe that never did:

- `UNAUTHENTICATED`: a request to each model without a token gets Authorino's 401;
- `REACHES_MODEL`: a fresh identity of the probe tier gets a MaaS token from maas-api through
  the gateway (`POST /maas-api/v1/tokens`), and the model answers 200 to it;
- `COUNTED`: the gateway counts that identity's requests against the tier's request limit.
  Where Limitador sends `X-RateLimit-*` headers (`--rate-limit-headers`), of two requests in a
  row the second's `X-RateLimit-Remaining` is one lower; else, where Limitador's `/metrics` tell
  the request limit's `authorized_calls` by their `limit_name` label, they grow with a request;
  else a fresh identity's `limit + 1` requests get 429 exactly after the limit (spending only
  that identity's quota). Unlabelled `authorized_calls` prove nothing: the token limit, in the
  same Limitador namespace, grows them too, so they would pass with request limits unenforced.

Probe identities are ServiceAccounts in the tier's identity namespace, recorded in the run state
for teardown; each is kept until its count is spent or unknown, so a stack that fails for minutes
does not cost a new one per attempt.

Each probe is a function of a `Send` that returns when the probe holds and raises `Miss` with
what it saw when it does not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from maas_e2e.expected import IDENTITY_TIER_LABEL, Expected, Limit, Model
from maas_e2e.targets.accounts import ProbeIdentities
from maas_e2e.targets.base import Identity, TargetUnavailable
from maas_e2e.targets.kube import KubeError
from maas_e2e.targets.metrics import MetricsUnreadable
from maas_e2e.targets.traffic import TRANSPORT_ERRORS, ModelCall, Reply, Send
from maas_e2e.targets.waiting import Pending

UNAUTHENTICATED = "a model request without a token gets 401"
REACHES_MODEL = "a model request with a fresh MaaS token gets 200"
COUNTED = "the gateway counts the first request"
TOKEN_EXPIRATION = "1h"
REMAINING = "x-ratelimit-remaining"
LIMIT = "x-ratelimit-limit"
DENIED_BY_LIMIT = 429
LIMITADOR = "Limitador's metrics"

_HINTS = {
    UNAUTHENTICATED: "Authorino must guard the model's route (the gateway's AuthPolicy); "
    "Enforced=True alone does not prove it",
    REACHES_MODEL: "maas-api must mint tokens through the gateway, the gateway's AuthPolicy must "
    "accept them (audience, tier lookup, RBAC) and the model must serve: see the logs of "
    "maas-api, Authorino and the model",
    COUNTED: "Limitador must count the RateLimitPolicy's requests (Kuadrant may report "
    "Enforced=True before it does): see the logs of Limitador and the wasm-shim of the gateway",
}
_FIRST_INT = re.compile(r"\s*(-?\d+)")


class Miss(Exception):
    """A probe does not hold (yet); the message is what it saw."""


class Spent(Miss):
    """The probe identity's count is spent or unknown (it got a 429, or a request Limitador
    may have counted failed): the next attempt needs a fresh identity."""


@dataclass(frozen=True)
class Subject:
    """Who probes and what: the lowest tier with an identity namespace, a request limit and a
    model it may use (lowest: its limit is the cheapest to exhaust)."""

    tier: str
    model: Model
    limit: Limit


def probe_subject(expected: Expected) -> Subject:
    for tier in expected.tier_names:
        limit = expected.request_limit(tier)
        model = next((m for m in expected.models if tier in m.allowed_tiers), None)
        if tier in expected.identity_namespaces and limit and limit.amount > 0 and model:
            return Subject(tier, model, limit)
    raise TargetUnavailable(
        f"the data-plane probes need a tier with an identity namespace (label "
        f"{IDENTITY_TIER_LABEL}), a request limit and a model it may use; the manifests have none"
    )


def unauthenticated_gets_401(send: Send, call: ModelCall) -> None:
    reply = call(send)
    if reply.status != 401:
        raise Miss(f"POST {call.url} without a token answered {reply.status}, want 401")


def mint_token(send: Send, gateway_url: str, credential: str) -> str:
    """A MaaS token for the holder of `credential`, minted through the gateway."""
    url = f"{gateway_url}/maas-api/v1/tokens"
    reply = send("POST", url, token=credential, json={"expiration": TOKEN_EXPIRATION})
    token = _json_field(reply.body, "token") if reply.status == 201 else None
    if not token:
        raise Miss(f"minting a MaaS token: POST {url} answered {reply.status} {reply.body[:200]!r}")
    return token


def _json_field(body: str, name: str) -> str | None:
    try:
        value = json.loads(body).get(name)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def model_answers_200(send: Send, call: ModelCall) -> Reply:
    reply = call(send)
    if reply.status == DENIED_BY_LIMIT:
        raise Spent(f"POST {call.url} answered 429: this identity's quota is spent")
    if reply.status != 200:
        body = reply.body[:200]
        raise Miss(f"POST {call.url} with a MaaS token answered {reply.status} {body!r}")
    return reply


def usable_headers(reply: Reply, limit: Limit) -> bool:
    """The reply tells the request budget: `X-RateLimit-Remaining` is there and the limit it
    reports (when it reports one) is the tier's request limit, not its token limit."""
    remaining = _first_int(reply.headers.get(REMAINING))
    reported = _first_int(reply.headers.get(LIMIT))
    return remaining is not None and reported in (None, limit.amount)


def _first_int(value: str | None) -> int | None:
    match = _FIRST_INT.match(value or "")
    return int(match.group(1)) if match else None


def count_by_headers(send: Send, call: ModelCall) -> None:
    """Two requests in a row: the second's `X-RateLimit-Remaining` is one lower."""
    first = model_answers_200(send, call)
    second = model_answers_200(send, call)
    before = _first_int(first.headers.get(REMAINING))
    after = _first_int(second.headers.get(REMAINING))
    if before is None or after is None or after != before - 1:
        raise Miss(f"X-RateLimit-Remaining went {before} -> {after}, want one lower")


def count_by_metrics(send: Send, call: ModelCall, read: Callable[[], float]) -> None:
    """Limitador's `authorized_calls` of the request limit grow with one admitted request. A
    first read that fails or cannot tell the request limit's calls raises MetricsUnreadable
    (the caller then counts another way)."""
    before = read()
    model_answers_200(send, call)
    try:
        after = read()
    except MetricsUnreadable as exc:
        raise Miss(f"after the request, {exc}") from None
    if after <= before:
        raise Miss(f"Limitador's authorized_calls stayed at {before:g} after an admitted request")


def count_by_exhausting(send: Send, call: ModelCall, limit: Limit) -> None:
    """A fresh identity's `limit` requests get 200 and the next one 429, no sooner, no later.

    Raises Spent when any request got something else than 200 (the identity's count is then
    unknown), and Miss when all got 200 (nothing was counted, so the identity may serve again).
    """
    statuses: list[int] = []
    for _ in range(limit.amount + 1):
        statuses.append(call(send).status)
        if statuses[-1] != 200:
            break
    want = [200] * limit.amount + [DENIED_BY_LIMIT]
    if statuses != want:
        seen = f"{limit} ({call.url}): statuses {_runs(statuses)}, want {_runs(want)}"
        raise Spent(seen) if statuses[-1] != 200 else Miss(seen)


def _runs(statuses: list[int]) -> str:
    """`200x5, 429`: a status sequence short enough to read."""
    runs: list[list[int]] = []
    for status in statuses:
        if runs and runs[-1][0] == status:
            runs[-1][1] += 1
        else:
            runs.append([status, 1])
    return ", ".join(f"{s}x{n}" if n > 1 else str(s) for s, n in runs)


@dataclass
class _Account:
    """A probe identity and its MaaS token, each made once and kept until the account retires
    (so a failing maas-api or model does not cost a new ServiceAccount per attempt)."""

    identity: Identity | None = None
    token: str | None = field(default=None, repr=False)


class DataPlaneWatch:
    """The three probes, polled until each holds; a probe that held is not sent again."""

    def __init__(
        self,
        send: Send,
        gateway_url: str,
        expected: Expected,
        identities: ProbeIdentities,
        limitador: Callable[[str], float],
    ) -> None:
        self.send = send
        self.gateway_url = gateway_url
        self.subject = probe_subject(expected)
        self.identities = identities
        self.limitador = limitador
        self.token_limit_names = {limit.name for limit in expected.token_limits.values()}
        self.open = [ModelCall(gateway_url, m.path, m.name) for m in expected.models]
        self.account = _Account()  # reaches the model, counts by headers or metrics
        self.spender = _Account()  # counts by spending its quota
        self.last: Reply | None = None  # the account's last 200: what its headers say
        self.reached = False
        self.counted = False

    def pending(self) -> list[Pending]:
        found = [p for call in list(self.open) if (p := self._unauthenticated(call))]
        for name, probe in ((REACHES_MODEL, self._reach), (COUNTED, self._count)):
            miss = self._attempt(probe)
            if miss is not None:
                found.append(Pending(f"{name} (tier {self.subject.tier})", miss, _HINTS[name]))
        return found

    def _unauthenticated(self, call: ModelCall) -> Pending | None:
        miss = self._attempt(lambda: unauthenticated_gets_401(self.send, call))
        if miss is None:
            self.open.remove(call)
            return None
        return Pending(UNAUTHENTICATED, miss, _HINTS[UNAUTHENTICATED])

    def _attempt(self, probe: Callable[[], None]) -> str | None:
        """None when the probe holds, else what it saw; a 429 retires the probe account."""
        try:
            probe()
        except Spent as miss:
            self.account, self.last = _Account(), None
            return f"{miss}; the next attempt uses a fresh identity"
        except Miss as miss:
            return str(miss)
        except KubeError as exc:
            return f"cannot make a fresh identity: {exc}"
        except TRANSPORT_ERRORS as exc:
            return f"no answer: {exc}"
        return None

    def _reach(self) -> None:
        if not self.reached:
            self.last = model_answers_200(self.send, self._call(self.account, "readiness"))
            self.reached = True

    def _count(self) -> None:
        if self.counted:
            return
        if not self.reached:
            raise Miss(f"not tried before {REACHES_MODEL!r} holds")
        call = self._call(self.account, "readiness")
        if self.last is None:
            self.last = model_answers_200(self.send, call)
        if usable_headers(self.last, self.subject.limit):
            with _strategy("X-RateLimit-Remaining"):
                count_by_headers(self.send, call)
        else:
            try:
                with _strategy(LIMITADOR):
                    count_by_metrics(self.send, call, self._request_limit_calls)
            except MetricsUnreadable as unreadable:
                with _strategy(f"429 after the limit (no X-RateLimit-* headers; {unreadable})"):
                    self._spend()
        self.counted = True

    def _request_limit_calls(self) -> float:
        """Limitador's `authorized_calls` of the probe tier's request limit, by its name; a name
        a token limit shares (Kuadrant names both after their `spec.limits` keys) tells nothing."""
        name = self.subject.limit.name
        if name in self.token_limit_names or not name:
            why = f"request limit {name!r} is named like a token limit (or not at all)"
            raise MetricsUnreadable(LIMITADOR, f"{why}: limit_name cannot tell their calls apart")
        return self.limitador(name)

    def _spend(self) -> None:
        call = self._call(self.spender, "readiness-count")
        try:
            count_by_exhausting(self.send, call, self.subject.limit)
        except Spent as miss:
            self.spender = _Account()
            raise Miss(f"{miss}; the next attempt uses a fresh identity") from None

    def _call(self, account: _Account, hint: str) -> ModelCall:
        """A model call with the account's MaaS token, making what it still lacks."""
        if account.identity is None:
            account.identity = self.identities.new(self.subject.tier, hint)
        if account.token is None:
            account.token = mint_token(self.send, self.gateway_url, account.identity.token)
        model = self.subject.model
        return ModelCall(self.gateway_url, model.path, model.name, account.token)


@contextmanager
def _strategy(name: str) -> Iterator[None]:
    """Prefix a counting probe's miss with the strategy that saw it."""
    try:
        yield
    except Spent as miss:
        raise Spent(f"by {name}: {miss}") from None
    except Miss as miss:
        raise Miss(f"by {name}: {miss}") from None
