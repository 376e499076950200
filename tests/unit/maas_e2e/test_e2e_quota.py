"""A 429 proves the request limit only inside one window and while the token budget is unspent."""

from __future__ import annotations

import dataclasses
import time

import httpx
import pytest

from maas_e2e.burst import Burst, send_burst
from maas_e2e.expected import Limit
from maas_e2e.quota import Inconclusive, LimitedUser, Quota, tokens_used

LIMIT = Limit(3, "2m")
BUDGET = Limit(100, "1m")


def run(statuses: list[int], tokens: int = 10, *, started_ago: float = 0.0) -> Burst:
    replies = iter(statuses)

    def send() -> httpx.Response:
        status = next(replies)
        body = {"usage": {"total_tokens": tokens}} if status == 200 else {}
        return httpx.Response(status, json=body)

    burst = send_burst(send, len(statuses), stop_at_status=None)
    return dataclasses.replace(burst, started_at=time.monotonic() - started_ago)


def test_a_429_inside_the_window_with_budget_left_is_accepted() -> None:
    quota = Quota("free", LIMIT, BUDGET)
    quota.record(run([200, 200, 200, 429]))
    assert quota.tokens == 30


def test_spend_adds_up_across_bursts_of_one_user() -> None:
    quota = Quota("free", LIMIT, BUDGET)
    quota.record(run([200, 200], tokens=45))
    with pytest.raises(Inconclusive, match="free spent 100 tokens of its budget 100 per 1m"):
        quota.record(run([200, 429], tokens=10))


def test_a_429_after_the_budget_was_spent_proves_nothing() -> None:
    with pytest.raises(Inconclusive, match="could come from the token limit"):
        Quota("free", LIMIT, BUDGET).record(run([200, 200, 200, 429], tokens=40))


def test_a_tier_without_a_budget_only_needs_the_window() -> None:
    Quota("free", LIMIT, None).record(run([200, 200, 200, 429], tokens=10_000))


def test_a_run_longer_than_the_window_is_inconclusive() -> None:
    with pytest.raises(Inconclusive, match=r"not inside one 120s window"):
        Quota("free", LIMIT, BUDGET).record(run([200, 429], started_ago=121))


def test_the_window_counts_from_the_users_first_burst() -> None:
    quota = Quota("free", LIMIT, BUDGET)
    quota.record(run([200], started_ago=120))
    with pytest.raises(Inconclusive):
        quota.record(run([429]))


def test_bursts_without_a_429_are_only_counted() -> None:
    quota = Quota("free", LIMIT, BUDGET)
    quota.record(run([200] * 3, tokens=50, started_ago=500))
    assert quota.tokens == 150


def test_a_200_without_usage_cannot_be_counted() -> None:
    burst = send_burst(lambda: httpx.Response(200, json={"choices": []}), 1)
    with pytest.raises(AssertionError, match=r"#0 got 200 without usage.total_tokens"):
        tokens_used(burst)


def spend(quota: Quota, statuses: list[int], tokens: int = 10) -> Burst:
    """A burst sent for a user with `quota`, as `Model.burst` sends one for a LimitedUser."""
    replies = iter(statuses)
    return send_burst(
        lambda: httpx.Response(next(replies), json={"usage": {"total_tokens": tokens}}),
        len(statuses),
        quota=quota,
    )


def test_a_burst_sent_with_a_quota_records_its_spend() -> None:
    quota = Quota("free", LIMIT, BUDGET)
    spend(quota, [200, 200], tokens=7)
    spend(quota, [200], tokens=7)
    assert quota.tokens == 21


def test_a_burst_whose_429_the_quota_doubts_carries_the_doubt() -> None:
    burst = spend(Quota("free", LIMIT, BUDGET), [200, 200, 429], tokens=60)
    assert burst.doubt is not None, "no doubt recorded"
    with pytest.raises(Inconclusive, match="free spent 120 tokens of its budget 100 per 1m"):
        burst.assert_token_budget_not_the_cause()


def test_a_429_the_quota_accepts_leaves_no_doubt() -> None:
    burst = spend(Quota("free", LIMIT, BUDGET), [200, 200, 200, 429])
    assert burst.doubt is None, burst.doubt
    burst.assert_token_budget_not_the_cause()


def test_a_limited_user_sends_its_token_as_a_bearer() -> None:
    user = LimitedUser(token="maas-token", quota=Quota("free", LIMIT, BUDGET))
    request = next(user.auth_flow(httpx.Request("POST", "http://maas.test/v1/chat/completions")))
    assert request.headers["Authorization"] == "Bearer maas-token"


def test_a_limited_users_limit_is_its_request_limit() -> None:
    assert LimitedUser(token="t", quota=Quota("free", LIMIT, BUDGET)).limit == LIMIT.amount


def test_a_limited_users_repr_hides_its_token() -> None:
    shown = repr(LimitedUser(token="maas-token", quota=Quota("free", LIMIT, BUDGET)))
    assert "maas-token" not in shown, shown
