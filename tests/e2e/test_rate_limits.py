"""Request rate limits per tier (RateLimitPolicy, counted by Limitador per user).

Each test uses fresh users, sends requests one at a time, never retries one, and stops right
after the first 429 (plus the few extra the promise needs): it spends only the quota it checks.
Requests ask for one completion token so the token budget cannot be what says 429.
"""

from __future__ import annotations

import pytest
from tests.fixtures.identities import TokenFor
from tests.fixtures.models import ModelRef

from maas_e2e.api import MaasApi
from maas_e2e.burst import Burst, send_burst
from maas_e2e.expected import Expected, Limit
from maas_e2e.reporting.attach import attach_burst

pytestmark = [pytest.mark.e2e, pytest.mark.rate_limits]

SEED_BURST = 16
"""The seed's manual check: 16 requests, expecting 429s when the tier's limit is below that."""
AFTER_LIMIT = 2
"""Requests sent after the first 429 to show the window stays closed."""
MESSAGES = [{"role": "user", "content": "hi"}]


def burst(api: MaasApi, model: ModelRef, token: str, count: int, stop: bool = True) -> Burst:
    def send():
        return api.chat(model.url, token, model=model.name, messages=MESSAGES, max_tokens=1)

    return send_burst(send, count, stop_at_status=429 if stop else None)


@pytest.fixture
def lowest_limit(expected: Expected, lowest_tier: str) -> Limit:
    """The request limit of the lowest tier, the one the seed's manual check exercises."""
    limit = expected.request_limit(lowest_tier)
    if limit is None:
        pytest.skip(f"the {lowest_tier} tier has no request limit in the manifests")
    return limit


def exhaust(api: MaasApi, model: ModelRef, token: str, limit: Limit, title: str) -> Burst:
    """Spend a user's whole limit and see the first 429 (limit + 1 requests, no more)."""
    run = burst(api, model, token, limit.amount + 1)
    attach_burst(run, limit, title=title)
    assert run.first_index_of(429) == limit.amount, f"no 429 right after {limit}:\n{run.timeline()}"
    return run


def rate_limited_tier_where(expected: Expected, model: ModelRef, *, allowed: bool) -> str:
    """The first tier with a request limit that RBAC lets (or does not let) call `model`."""
    for tier in expected.tier_names:
        if (tier in model.allowed_tiers) == allowed and expected.request_limit(tier):
            return tier
    pytest.skip(f"no rate-limited tier is {'allowed' if allowed else 'denied'} {model.name}")


def assert_token_budget_not_the_cause(burst_: Burst, expected: Expected, tier: str) -> None:
    """A 429 proves the request limit only while the same user's token budget is not spent."""
    budget = expected.token_limit(tier)
    used = sum(r.json()["usage"]["total_tokens"] for r in burst_.responses if r.status_code == 200)
    if budget is not None:
        assert used < budget.amount, (
            f"the burst used {used} tokens of the {tier} budget {budget}: a 429 could come "
            "from the token limit, so this run cannot prove the request limit"
        )


def test_each_tier_gets_429_exactly_after_its_limit(
    api: MaasApi, model: ModelRef, token_for: TokenFor, expected: Expected, rate_limited_tier: str
) -> None:
    limit = expected.request_limit(rate_limited_tier)
    run = burst(api, model, token_for(rate_limited_tier), limit.amount + 1)
    attach_burst(run, limit, title=f"{rate_limited_tier} burst")
    assert_token_budget_not_the_cause(run, expected, rate_limited_tier)
    run.assert_all(status=200, upto=limit.amount)
    run.assert_first_at(limit.amount, status=429)


def test_the_429_says_too_many_requests(
    api: MaasApi, model: ModelRef, token_for: TokenFor, lowest_limit: Limit, lowest_tier: str
) -> None:
    run = exhaust(api, model, token_for(lowest_tier), lowest_limit, f"{lowest_tier} burst")
    denied = run.responses[-1]
    assert denied.text == "Too Many Requests\n", f"429 body: {denied.text!r}"


def test_every_request_after_the_limit_in_the_window_is_429(
    api: MaasApi, model: ModelRef, token_for: TokenFor, lowest_limit: Limit, lowest_tier: str
) -> None:
    token = token_for(lowest_tier)
    exhaust(api, model, token, lowest_limit, f"{lowest_tier} burst")
    later = burst(api, model, token, AFTER_LIMIT, stop=False)
    attach_burst(later, lowest_limit, admitted=0, title=f"{lowest_tier} later in the same window")
    later.assert_all(status=429)


def test_16_requests_see_429_only_below_a_limit_of_16(
    api: MaasApi, model: ModelRef, token_for: TokenFor, expected: Expected, rate_limited_tier: str
) -> None:
    limit = expected.request_limit(rate_limited_tier)
    run = burst(api, model, token_for(rate_limited_tier), SEED_BURST)
    attach_burst(run, limit, title=f"{rate_limited_tier}: the seed's {SEED_BURST} requests")
    if limit.amount < SEED_BURST:
        assert run.first_index_of(429) is not None, (
            f"{rate_limited_tier} ({limit}): no 429 within {SEED_BURST} requests\n{run.timeline()}"
        )
    else:
        run.assert_all(status=200)


def test_a_second_user_of_the_tier_is_unaffected(
    api: MaasApi, model: ModelRef, token_for: TokenFor, lowest_limit: Limit, lowest_tier: str
) -> None:
    exhaust(api, model, token_for(lowest_tier), lowest_limit, f"first {lowest_tier} user")
    other = burst(api, model, token_for(lowest_tier), 1)
    attach_burst(other, lowest_limit, title=f"second {lowest_tier} user")
    other.assert_all(status=200)


def test_requests_denied_by_rbac_do_not_use_the_quota(
    api: MaasApi,
    model: ModelRef,
    restricted_model: ModelRef,
    token_for: TokenFor,
    expected: Expected,
) -> None:
    tier = rate_limited_tier_where(expected, restricted_model, allowed=False)
    limit = expected.request_limit(tier)
    token = token_for(tier)
    denied = burst(api, restricted_model, token, limit.amount, stop=False)
    denied.assert_all(status=403)
    run = burst(api, model, token, limit.amount + 1)
    attach_burst(run, limit, title=f"{tier} after {limit.amount} RBAC-denied requests")
    run.assert_all(status=200, upto=limit.amount)
    assert run.first_index_of(429) == limit.amount, (
        f"after {limit.amount} RBAC-denied requests, {tier} ({limit}) should still get "
        f"{limit.amount} 200s, then 429\n{run.timeline()}"
    )


def test_one_limit_counts_a_users_requests_to_every_model(
    api: MaasApi,
    model: ModelRef,
    restricted_model: ModelRef,
    token_for: TokenFor,
    expected: Expected,
) -> None:
    """The counter is the user (auth.identity.userid), not the user and the model."""
    tier = rate_limited_tier_where(expected, restricted_model, allowed=True)
    limit = expected.request_limit(tier)
    if limit.amount < 2:
        pytest.skip(f"{tier} ({limit}) cannot be split across two models")
    token = token_for(tier)
    half = limit.amount // 2
    first = burst(api, model, token, half, stop=False)
    first.assert_all(status=200)
    rest = burst(api, restricted_model, token, limit.amount - half + 1)
    attach_burst(rest, limit, title=f"{tier}: the rest of the limit at a second model")
    rest.assert_all(status=200, upto=limit.amount - half)
    assert rest.first_index_of(429) == limit.amount - half, (
        f"{tier} ({limit}): after {half} requests to {model.name}, {restricted_model.name} "
        f"should admit {limit.amount - half} more, then 429\n{rest.timeline()}"
    )
