"""Request rate limits per tier (RateLimitPolicy, counted by Limitador per user).

Each test uses fresh users, sends requests one at a time, never retries one, and stops right
after the first 429 (plus the few extra the promise needs): it spends only the quota it checks.
Requests ask for one completion token, and every burst that meets a 429 shows that the user's
token budget was not spent and that the run fit in one window (`maas_e2e.quota`): otherwise
the 429 proves nothing about the request limit, and the test says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from tests.fixtures.identities import TokenFor
from tests.fixtures.models import ModelRef

from maas_e2e.api import MaasApi
from maas_e2e.burst import Burst, send_burst
from maas_e2e.expected import Expected
from maas_e2e.quota import Inconclusive, Quota
from maas_e2e.reporting.attach import attach_burst

pytestmark = [pytest.mark.e2e, pytest.mark.rate_limits]

SEED_BURST = 16
"""The seed's manual check: 16 requests, expecting 429s when the tier's limit is below that."""
AFTER_LIMIT = 2
"""Requests sent after the first 429 to show the window stays closed."""
MESSAGES = [{"role": "user", "content": "hi"}]


@dataclass(frozen=True)
class User:
    """A fresh user of a rate-limited tier: its MaaS token and its quota."""

    token: str
    quota: Quota

    @property
    def limit(self) -> int:
        return self.quota.limit.amount


UserOf = Callable[[str], User]


@pytest.fixture
def user_of(token_for: TokenFor, expected: Expected) -> UserOf:
    def make(tier: str) -> User:
        limit = expected.request_limit(tier)
        if limit is None:
            pytest.skip(f"not made: the {tier} tier has no request limit in the manifests")
        return User(token_for(tier), Quota(tier, limit, expected.token_limit(tier)))

    return make


def burst(
    api: MaasApi,
    model: ModelRef,
    user: User,
    count: int,
    *,
    stop: bool = True,
    admitted: int | None = None,
    title: str,
) -> Burst:
    """`count` one-token chats at `model`, stopping at the first 429 unless `stop` is False."""

    def send():
        return api.chat(model.url, user.token, model=model.name, messages=MESSAGES, max_tokens=1)

    run = send_burst(send, count, stop_at_status=429 if stop else None)
    attach_burst(run, user.quota.limit, admitted=admitted, title=title)
    try:
        user.quota.record(run)
    except Inconclusive as exc:
        pytest.skip(f"not made: {exc}")
    return run


def exhaust(api: MaasApi, model: ModelRef, user: User, title: str) -> Burst:
    """Spend a user's whole limit and see the first 429 (limit + 1 requests, no more)."""
    run = burst(api, model, user, user.limit + 1, title=title)
    run.assert_all(status=200, upto=user.limit)
    run.assert_first_at(user.limit, status=429)
    return run


def rate_limited_tier_where(expected: Expected, model: ModelRef, *, allowed: bool) -> str:
    """The first tier with a request limit that RBAC lets (or does not let) call `model`."""
    for tier in expected.tier_names:
        if (tier in model.allowed_tiers) == allowed and expected.request_limit(tier):
            return tier
    pytest.skip(f"not made: no rate-limited tier is {'allowed' if allowed else 'denied'} "
                f"{model.name} in the manifests")  # fmt: skip


def test_each_tier_gets_429_exactly_after_its_limit(
    api: MaasApi, model: ModelRef, user_of: UserOf, rate_limited_tier: str
) -> None:
    exhaust(api, model, user_of(rate_limited_tier), f"{rate_limited_tier} burst")


def test_the_429_says_too_many_requests(
    api: MaasApi, model: ModelRef, user_of: UserOf, lowest_tier: str
) -> None:
    run = exhaust(api, model, user_of(lowest_tier), f"{lowest_tier} burst")
    denied = run.responses[-1]
    assert denied.text == "Too Many Requests\n", f"429 body: {denied.text!r}"


def test_every_request_after_the_limit_in_the_window_is_429(
    api: MaasApi, model: ModelRef, user_of: UserOf, lowest_tier: str
) -> None:
    user = user_of(lowest_tier)
    exhaust(api, model, user, f"{lowest_tier} burst")
    title = f"{lowest_tier} later in the same window"
    later = burst(api, model, user, AFTER_LIMIT, stop=False, admitted=0, title=title)
    later.assert_all(status=429)


def test_16_requests_see_429_only_below_a_limit_of_16(
    api: MaasApi, model: ModelRef, user_of: UserOf, rate_limited_tier: str
) -> None:
    user = user_of(rate_limited_tier)
    title = f"{rate_limited_tier}: the seed's {SEED_BURST} requests"
    run = burst(api, model, user, SEED_BURST, title=title)
    if user.limit < SEED_BURST:
        run.assert_first_at(user.limit, status=429)
    else:
        run.assert_all(status=200)


def test_a_second_user_of_the_tier_is_unaffected(
    api: MaasApi, model: ModelRef, user_of: UserOf, lowest_tier: str
) -> None:
    exhaust(api, model, user_of(lowest_tier), f"first {lowest_tier} user")
    other = burst(api, model, user_of(lowest_tier), 1, title=f"second {lowest_tier} user")
    other.assert_all(status=200)


def test_requests_denied_by_rbac_do_not_use_the_quota(
    api: MaasApi, model: ModelRef, restricted_model: ModelRef, user_of: UserOf, expected: Expected
) -> None:
    tier = rate_limited_tier_where(expected, restricted_model, allowed=False)
    user = user_of(tier)
    title = f"{tier} at {restricted_model.name}, which RBAC denies"
    denied = burst(api, restricted_model, user, user.limit, stop=False, admitted=0, title=title)
    denied.assert_all(status=403)
    exhaust(api, model, user, f"{tier} after {user.limit} RBAC-denied requests")


def test_one_limit_counts_a_users_requests_to_every_model(
    api: MaasApi, model: ModelRef, restricted_model: ModelRef, user_of: UserOf, expected: Expected
) -> None:
    """The counter is the user (auth.identity.userid), not the user and the model."""
    tier = rate_limited_tier_where(expected, restricted_model, allowed=True)
    user = user_of(tier)
    if user.limit < 2:
        pytest.skip(f"not made: {tier} ({user.quota.limit}) cannot be split across two models")
    half = user.limit // 2
    first = burst(api, model, user, half, stop=False, title=f"{tier}: half the limit")
    first.assert_all(status=200)
    rest = burst(
        api, restricted_model, user, user.limit - half + 1,
        admitted=user.limit - half, title=f"{tier}: the rest of the limit at a second model",
    )  # fmt: skip
    rest.assert_all(status=200, upto=user.limit - half)
    rest.assert_first_at(user.limit - half, status=429)
