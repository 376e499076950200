"""Readiness proven by the data plane: 401 without a token, 200 with a fresh MaaS token, and the
first counted request counted, polled with a deadline against the fake cluster and gateway."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import httpx
import pytest
from kubefake import (
    LIMITADOR_METRICS,
    FakeGateway,
    FakeKubectl,
    e2e_expected,
    fake_poller,
    identity_rules,
    kube,
    metrics_rules,
)
from tests.unit.fakeclock import FakeClock

from maas_e2e.expected import Limit
from maas_e2e.targets.accounts import ProbeIdentities
from maas_e2e.targets.base import TargetUnavailable
from maas_e2e.targets.dataplane import (
    COUNTED,
    REACHES_MODEL,
    UNAUTHENTICATED,
    DataPlaneWatch,
    Miss,
    Spent,
    count_by_exhausting,
    count_by_headers,
    count_by_metrics,
    mint_token,
    probe_subject,
    usable_headers,
)
from maas_e2e.targets.metrics import MetricsUnreadable, limitador_calls
from maas_e2e.targets.shared_run import RunState
from maas_e2e.targets.traffic import ModelCall, Reply
from maas_e2e.targets.waiting import NotReady

GW = "https://maas.apps.example.com"
MODEL = ModelCall(GW, "/llm/facebook-opt-125m-simulated", "facebook-opt-125m-simulated", "t")
FREE = Limit(5, "2m")


def _watch(
    gateway: FakeGateway, *, limitador: bool = False, fake: FakeKubectl | None = None
) -> tuple[DataPlaneWatch, FakeKubectl, RunState]:
    fake = metrics_rules(identity_rules(fake or FakeKubectl()), gateway, limitador=limitador)
    state = RunState()
    identities = ProbeIdentities(kube(fake), gateway.expected, state)
    read = limitador_calls(kube(fake), "kuadrant-system", "llm")
    return DataPlaneWatch(gateway.send, GW, gateway.expected, identities, read), fake, state


def _poll(watch: DataPlaneWatch, clock: FakeClock, deadline: float = 60) -> None:
    fake_poller(clock).until_ready(watch.pending, deadline=deadline, stage="probing the data plane")


def _replies(*replies: Reply | Exception) -> Callable[..., Reply]:
    """A `send` that answers with these replies in turn."""
    answers: Iterator[Reply | Exception] = iter(replies)

    def send(method: str, url: str, *, token: str | None = None, json: Any = None) -> Reply:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return send


def test_every_probe_holds_on_a_gateway_that_enforces() -> None:
    watch, _fake, _state = _watch(FakeGateway(e2e_expected()))
    assert watch.pending() == [], "every probe should hold on the first attempt"


@pytest.mark.parametrize(
    ("knobs", "never", "seen"),
    [
        ({"authenticate": False}, [UNAUTHENTICATED] * 2, "without a token answered 200, want 401"),
        ({"model_status": 503}, [REACHES_MODEL, COUNTED], "with a MaaS token answered 503"),
        ({"mint_status": 500}, [REACHES_MODEL, COUNTED], "minting a MaaS token: POST"),
        ({"counting": False}, [COUNTED], "statuses 200x6, want 200x5, 429"),
    ],
    ids=["auth-not-enforced", "model-down", "maas-api-cannot-mint", "limitador-not-counting"],
)
def test_a_probe_that_never_holds_is_named_when_the_deadline_passes(
    knobs: dict, never: list[str], seen: str
) -> None:
    watch, _fake, _state = _watch(FakeGateway(e2e_expected(), **knobs))
    with pytest.raises(NotReady) as raised:
        _poll(watch, FakeClock())
    names = [p.what.split(" (tier")[0] for p in raised.value.pending]
    assert names == never, f"expected {never} to be named, got {names}"
    message = str(raised.value)
    assert message.startswith("probing the data plane: still waiting after 60s"), message
    assert seen in message, message


def test_the_deadline_is_honoured_on_the_clock() -> None:
    watch, _fake, _state = _watch(FakeGateway(e2e_expected(), model_status=503))
    clock = FakeClock()
    with pytest.raises(NotReady):
        _poll(watch, clock, deadline=32)
    assert clock.now == 32, f"expected to give up at the deadline (32s), gave up at {clock.now}"
    assert clock.sleeps == [5.0] * 6 + [2.0], (
        f"expected 5s waits cut at the deadline: {clock.sleeps}"
    )


def test_a_probe_that_held_is_not_sent_again() -> None:
    gateway = FakeGateway(e2e_expected(), counting=False)
    watch, _fake, _state = _watch(gateway)
    with pytest.raises(NotReady):
        _poll(watch, FakeClock(), deadline=20)
    anonymous = [s for s in gateway.sent if s[0] == "POST" and not s[2]]
    assert len(anonymous) == 2, f"one request without a token per model, got {anonymous}"


def test_a_late_gateway_passes_once_it_enforces() -> None:
    gateway = FakeGateway(e2e_expected(), authenticate=False)
    watch, _fake, _state = _watch(gateway)
    clock = FakeClock()
    assert watch.pending(), "the first attempt sees a gateway that does not enforce"
    gateway.authenticate = True
    _poll(watch, clock)
    assert clock.sleeps == [], f"the second attempt should pass at once, waited {clock.sleeps}"


def test_the_subject_is_the_lowest_tier_with_a_namespace_a_limit_and_a_model() -> None:
    subject = probe_subject(e2e_expected())
    assert (subject.tier, subject.model.name, subject.limit) == (
        "free",
        "facebook-opt-125m-simulated",
        FREE,
    ), subject


def test_manifests_without_identity_namespaces_cannot_be_probed() -> None:
    expected = replace(e2e_expected(), identity_namespaces=MappingProxyType({}))
    with pytest.raises(TargetUnavailable, match="need a tier with an identity namespace"):
        probe_subject(expected)


def test_probe_identities_are_recorded_before_they_are_made() -> None:
    state = RunState()
    seen: list[int] = []

    def create(stdin: str | None) -> str:
        seen.append(len(state.probe_identities))
        return "created\n"

    fake = identity_rules(FakeKubectl().on("create", "-f", "-", json=create))
    identity = ProbeIdentities(kube(fake), e2e_expected(), state).new("free", "readiness")
    assert seen == [1], "the record must be in the run state before `kubectl create`"
    [record] = state.probe_records()
    assert record.username == identity.username, (record, identity)
    assert record.tier_namespace == "maas-default-gateway-tier-free", record


def test_the_probe_token_is_minted_through_the_gateway_for_the_fresh_identity() -> None:
    gateway = FakeGateway(e2e_expected())
    watch, fake, state = _watch(gateway)
    watch.pending()
    mints = [s for s in gateway.sent if s[1] == "/maas-api/v1/tokens"]
    assert mints, gateway.sent
    assert all(with_token for _m, _p, with_token in mints), mints
    assert {r.namespace for r in state.probe_records()} == {"maas-e2e-free"}, state
    assert len(fake.called("create", "token")) == len(mints), fake.transcript()


def test_a_429_retires_the_probe_identity_for_a_fresh_one() -> None:
    gateway = FakeGateway(e2e_expected())
    watch, _fake, state = _watch(gateway)
    real = gateway.send
    answers = iter([Reply(429)])

    def send(method: str, url: str, **kw: Any) -> Reply:
        if method == "POST" and kw.get("token") and "/chat/" in url:
            reply = next(answers, None)
            if reply is not None:
                return reply
        return real(method, url, **kw)

    watch.send = send
    first = watch.pending()
    assert any("the next attempt uses a fresh identity" in p.state for p in first), first
    assert watch.pending() == [], "the second attempt, with a fresh identity, should pass"
    names = [r.name for r in state.probe_records()]
    assert sum(n.startswith("e2e-readiness-") and "count" not in n for n in names) == 2, names


def test_no_answer_from_the_gateway_is_pending_not_fatal() -> None:
    gateway = FakeGateway(e2e_expected())
    watch, _fake, _state = _watch(gateway)

    def send(method: str, url: str, **kw: Any) -> Reply:
        raise httpx.ConnectError("connection refused")

    watch.send = send
    states = {p.state for p in watch.pending()}
    assert "no answer: connection refused" in states, states


def test_minting_answers_the_token() -> None:
    send = _replies(Reply(201, body='{"token": "maas-token", "expiration": "1h0m0s"}'))
    assert mint_token(send, GW, "id-token") == "maas-token"


@pytest.mark.parametrize(
    "reply",
    [Reply(500, body='{"error":"Failed to generate token"}'), Reply(201, body="not json")],
    ids=["refused", "no-token-in-body"],
)
def test_minting_without_a_token_is_a_miss(reply: Reply) -> None:
    with pytest.raises(Miss, match=f"minting a MaaS token: POST {GW}/maas-api/v1/tokens"):
        mint_token(_replies(reply), GW, "id-token")


# --- counting: the three strategies ---------------------------------------------------------


def _limit_headers(remaining: int, limit: int = 5) -> dict[str, str]:
    return {"x-ratelimit-limit": str(limit), "x-ratelimit-remaining": str(remaining)}


@pytest.mark.parametrize(
    ("headers", "usable"),
    [
        (_limit_headers(4), True),
        ({"x-ratelimit-remaining": "4"}, True),
        ({"x-ratelimit-limit": "5, 5;w=120", "x-ratelimit-remaining": "4"}, True),
        (_limit_headers(96, limit=100), False),
        ({}, False),
    ],
    ids=["request-limit", "remaining-only", "draft-03-policy", "token-limit", "none"],
)
def test_headers_are_used_only_when_they_tell_the_request_budget(
    headers: dict, usable: bool
) -> None:
    assert usable_headers(Reply(200, headers), FREE) is usable, headers


def test_counting_by_headers_holds_when_remaining_falls_by_one() -> None:
    send = _replies(Reply(200, _limit_headers(3)), Reply(200, _limit_headers(2)))
    count_by_headers(send, MODEL)


def test_counting_by_headers_misses_when_remaining_stays() -> None:
    send = _replies(Reply(200, _limit_headers(3)), Reply(200, _limit_headers(3)))
    with pytest.raises(Miss, match="X-RateLimit-Remaining went 3 -> 3, want one lower"):
        count_by_headers(send, MODEL)


def test_counting_by_headers_on_a_spent_identity_asks_for_a_fresh_one() -> None:
    with pytest.raises(Spent):
        count_by_headers(_replies(Reply(429)), MODEL)


def test_counting_by_metrics_holds_when_authorized_calls_grow() -> None:
    reads = iter([7.0, 8.0])
    count_by_metrics(_replies(Reply(200)), MODEL, lambda: next(reads))


def test_counting_by_metrics_misses_when_authorized_calls_stay() -> None:
    reads = iter([7.0, 7.0])
    with pytest.raises(Miss, match="authorized_calls stayed at 7 after an admitted request"):
        count_by_metrics(_replies(Reply(200)), MODEL, lambda: next(reads))


def test_counting_by_metrics_gives_way_when_limitador_cannot_be_read() -> None:
    def unreadable() -> float:
        raise MetricsUnreadable(LIMITADOR_METRICS, "Forbidden")

    with pytest.raises(MetricsUnreadable):
        count_by_metrics(_replies(), MODEL, unreadable)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([200, 200, 429], "statuses 200x2, 429, want 200x5, 429"),
        ([200] * 6, "statuses 200x6, want 200x5, 429"),
        ([200, 503], "statuses 200, 503, want 200x5, 429"),
    ],
    ids=["429-too-soon", "never-429", "model-error"],
)
def test_counting_by_exhausting_misses_unless_429_comes_right_after_the_limit(
    statuses: list[int], expected: str
) -> None:
    with pytest.raises(Miss, match=expected):
        count_by_exhausting(_replies(*(Reply(s) for s in statuses)), MODEL, FREE)


def test_counting_by_exhausting_holds_on_429_right_after_the_limit() -> None:
    count_by_exhausting(_replies(*([Reply(200)] * 5 + [Reply(429)])), MODEL, FREE)


def test_the_watch_counts_by_headers_when_limitador_sends_them() -> None:
    watch, fake, state = _watch(FakeGateway(e2e_expected(), headers=True), limitador=True)
    assert watch.pending() == []
    assert not fake.called("get", "--raw", LIMITADOR_METRICS), fake.transcript()
    assert len(state.probe_identities) == 1, "no identity is spent on exhausting a quota"


ROUTE = "llm/facebook-opt-125m-simulated-kserve-route"
NO_LIMIT_NAME = "authorized_calls has no limit_name label"


def _limitador_page(gateway: FakeGateway, *, labelled: bool, earlier: int | None = 0) -> str:
    """Limitador's `/metrics` as it renders them. The request limit `free` counts `earlier`
    calls (None: it has no series) and what the gateway admitted against it; the token limit
    `free-user-tokens` the check before each request with a MaaS token. Unlabelled, as by
    default, both add up in one series of the route."""
    checks = sum(1 for _m, path, token in gateway.sent if token and path.startswith("/llm/"))
    series = [("free-user-tokens", checks)]
    if earlier is not None:
        series.append(("free", earlier + gateway.authorized_calls))
    lines = ["# HELP authorized_calls Authorized calls", "# TYPE authorized_calls counter"]
    if labelled:
        lines += [
            f'authorized_calls{{limitador_namespace="{ROUTE}",limit_name="{name}"}} {value}'
            for name, value in series
        ]
    else:
        total = sum(value for _name, value in series)
        lines.append(f'authorized_calls{{limitador_namespace="{ROUTE}"}} {total}')
    lines += ["# HELP limitador_up Limitador is running", "# TYPE limitador_up gauge"]
    return "\n".join([*lines, "limitador_up 1", ""])


def _serving(gateway: FakeGateway, **page: Any) -> FakeKubectl:
    """A kubectl whose Limitador `/metrics` is `_limitador_page(gateway, **page)`."""

    def answer(_stdin: str | None) -> str:
        return _limitador_page(gateway, **page)

    return FakeKubectl().on("get", "--raw", LIMITADOR_METRICS, json=answer)


def test_the_watch_counts_by_the_request_limits_labelled_calls_without_headers() -> None:
    gateway = FakeGateway(e2e_expected())
    watch, fake, state = _watch(gateway, fake=_serving(gateway, labelled=True))
    assert watch.pending() == []
    assert len(fake.called("get", "--raw", LIMITADOR_METRICS)) == 2, fake.transcript()
    assert len(state.probe_identities) == 1, "no identity is spent on exhausting a quota"


def test_unlabelled_calls_do_not_prove_counting_so_the_quota_is_spent_instead() -> None:
    """Limitador's default page, from a gateway that enforces: still inconclusive."""
    watch, fake, state = _watch(FakeGateway(e2e_expected()), limitador=True)
    assert watch.pending() == []
    assert len(fake.called("get", "--raw", LIMITADOR_METRICS)) == 1, fake.transcript()
    names = [r.name.rsplit("-", 1)[0] for r in state.probe_records()]
    assert names == ["e2e-readiness", "e2e-readiness-count"], "the quota should be spent"


@pytest.mark.parametrize(
    ("page", "why"),
    [
        ({"labelled": False}, NO_LIMIT_NAME),
        ({"labelled": True, "earlier": None}, 'no authorized_calls with limit_name="free" yet'),
    ],
    ids=["unlabelled", "no-request-limit-series"],
)
def test_calls_growing_with_the_token_limit_alone_fall_back_to_spending_the_quota(
    page: dict, why: str
) -> None:
    """Request limits not enforced: only the token limit's checks grow `authorized_calls`."""
    gateway = FakeGateway(e2e_expected(), counting=False)
    watch, _fake, state = _watch(gateway, fake=_serving(gateway, **page))
    [pending] = watch.pending()
    assert pending.what.startswith(COUNTED), pending
    assert pending.state.startswith(
        f"by 429 after the limit (no X-RateLimit-* headers; could not read {LIMITADOR_METRICS}: "
        + why
    ), pending.state
    assert "statuses 200x6, want 200x5, 429" in pending.state, pending.state
    assert any(r.name.startswith("e2e-readiness-count-") for r in state.probe_records())


def test_growth_of_the_token_limits_labelled_calls_alone_does_not_prove_counting() -> None:
    gateway = FakeGateway(e2e_expected(), counting=False)
    watch, _fake, state = _watch(gateway, fake=_serving(gateway, labelled=True, earlier=3))
    [pending] = watch.pending()
    assert pending.state == (
        "by Limitador's metrics: Limitador's authorized_calls stayed at 3 after an admitted request"
    ), pending.state
    assert len(state.probe_identities) == 1, "a labelled page is conclusive: no quota spent"


def test_a_request_limit_named_like_a_token_limit_is_not_counted_by_metrics() -> None:
    """Kuadrant names both after their `spec.limits` keys: `limit_name` cannot tell them apart."""
    clash = MappingProxyType({"free": Limit(100, "1m", name="free")})  # the request limit's name
    gateway = FakeGateway(replace(e2e_expected(), token_limits=clash), counting=False)
    watch, fake, _state = _watch(gateway, fake=_serving(gateway, labelled=True))
    [pending] = watch.pending()
    assert pending.state.startswith(
        "by 429 after the limit (no X-RateLimit-* headers; could not read Limitador's metrics: "
        "request limit 'free' is named like a token limit"
    ), pending.state
    assert not fake.called("get", "--raw", LIMITADOR_METRICS), fake.transcript()


def test_the_watch_counts_by_exhausting_a_fresh_identity_without_headers_or_metrics() -> None:
    gateway = FakeGateway(e2e_expected())
    watch, _fake, state = _watch(gateway)
    assert watch.pending() == []
    names = [r.name for r in state.probe_records()]
    assert [n.rsplit("-", 1)[0] for n in names] == ["e2e-readiness", "e2e-readiness-count"], names
    spent = [t for t, used in gateway.used.items() if used == FREE.amount]
    assert len(spent) == 1, f"one token's quota spent exactly: {gateway.used}"


def test_a_miss_of_the_fallback_says_why_headers_and_metrics_were_not_used() -> None:
    watch, _fake, _state = _watch(FakeGateway(e2e_expected(), counting=False))
    [pending] = watch.pending()
    assert pending.state.startswith(
        "by 429 after the limit (no X-RateLimit-* headers; could not read "
        f"{LIMITADOR_METRICS}: Error from server (NotFound)"
    ), pending.state


@pytest.mark.parametrize(
    ("statuses", "error"),
    [([200, 200, 429], Spent), ([200, 503], Spent), ([200] * 6, Miss)],
    ids=["429-too-soon", "model-error", "never-429"],
)
def test_exhausting_retires_the_identity_only_once_something_may_have_been_counted(
    statuses: list[int], error: type[Miss]
) -> None:
    with pytest.raises(Miss) as raised:
        count_by_exhausting(_replies(*(Reply(s) for s in statuses)), MODEL, FREE)
    assert type(raised.value) is error, f"expected {error.__name__}, got {raised.value!r}"


@pytest.mark.parametrize(
    "knobs",
    [{"mint_status": 500}, {"counting": False}],
    ids=["maas-api-cannot-mint", "limitador-not-counting"],
)
def test_a_failing_stack_does_not_cost_a_new_identity_per_attempt(knobs: dict) -> None:
    watch, _fake, state = _watch(FakeGateway(e2e_expected(), **knobs))
    with pytest.raises(NotReady):
        _poll(watch, FakeClock(), deadline=60)
    names = sorted(r.name.rsplit("-", 1)[0] for r in state.probe_records())
    assert len(names) == len(set(names)), f"one identity per purpose, got {names}"


def test_a_model_that_fails_costs_a_fresh_identity_only_once_the_quota_is_spent() -> None:
    watch, _fake, state = _watch(FakeGateway(e2e_expected(), model_status=503))
    with pytest.raises(NotReady):
        _poll(watch, FakeClock(), deadline=60)  # 13 attempts, each counted by Limitador
    names = [r.name for r in state.probe_records()]
    assert len(names) == 3, f"5 attempts per identity of the free tier, got {names}"


def test_an_identity_counted_part_way_is_replaced_by_a_fresh_one() -> None:
    gateway = FakeGateway(e2e_expected(), counting=False)
    watch, _fake, state = _watch(gateway)
    assert watch.pending(), "Limitador does not count yet"
    spender = list(gateway.tokens)[1]  # minted after the probe account's
    gateway.counting = True
    gateway.used[spender] = 3  # enforcement began during the last burst
    [pending] = watch.pending()
    assert "statuses 200x2, 429" in pending.state, pending.state
    assert "the next attempt uses a fresh identity" in pending.state, pending.state
    assert watch.pending() == [], "a fresh identity should count right"
    spenders = [r for r in state.probe_records() if r.name.startswith("e2e-readiness-count-")]
    assert len(spenders) == 2, spenders


LIMITADOR_PAGE = """# HELP authorized_calls Authorized calls
# TYPE authorized_calls counter
authorized_calls{limitador_namespace="llm/facebook-opt-125m-simulated-kserve-route",limit_name="free"} 4
authorized_calls{limitador_namespace="llm/facebook-opt-125m-simulated-kserve-route",limit_name="free-user-tokens"} 9
authorized_calls{limitador_namespace="llm/premium-simulated-kserve-route",limit_name="free"} 3
authorized_calls{limitador_namespace="other/route",limit_name="free"} 100
# HELP limitador_up Limitador is running
# TYPE limitador_up gauge
limitador_up 1
"""  # noqa: E501 (Limitador's lines)


def _read_limitador(page: str, limit_name: str = "free") -> float:
    fake = FakeKubectl().on("get", "--raw", LIMITADOR_METRICS, stdout=page)
    return limitador_calls(kube(fake), "kuadrant-system", "llm")(limit_name)


def test_limitador_calls_of_a_limit_are_summed_over_the_routes_of_the_model_namespace() -> None:
    assert _read_limitador(LIMITADOR_PAGE) == 7
    assert _read_limitador(LIMITADOR_PAGE, "free-user-tokens") == 9


@pytest.mark.parametrize(
    ("page", "why"),
    [
        (
            'limitador_up 1\nauthorized_calls{limitador_namespace="llm/opt-kserve-route"} 13\n',
            NO_LIMIT_NAME,
        ),
        (
            'limitador_up 1\nauthorized_calls{limitador_namespace="other/route"} 13\n',
            "namespace llm",
        ),
        ("limitador_up 1\n", "no authorized_calls of the routes in namespace llm yet"),
        (
            LIMITADOR_PAGE.replace('"free"', '"premium"'),
            'no authorized_calls with limit_name="free"',
        ),
        ("<html>login</html>", "the page is not Limitador's metrics"),
    ],
    ids=["no-limit-name", "other-namespace", "no-calls", "other-limits", "not-limitador"],
)
def test_a_page_that_cannot_tell_the_limits_calls_is_unreadable(page: str, why: str) -> None:
    with pytest.raises(MetricsUnreadable, match=re.escape(why)):
        _read_limitador(page)
