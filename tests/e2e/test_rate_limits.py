"""Request rate limits per tier (RateLimitPolicy, counted by Limitador per user).

Each test uses fresh users and `model.burst`: one-token requests, one at a time, never retried,
stopping right after the first 429 (plus the few extra the promise needs), so it spends only the
quota it checks. Each user carries its
tier's quota from the manifests, and every assertion on a burst that met a 429 first shows that
the user's token budget was not spent and that the run fit in one window (`maas_e2e.burst`):
otherwise the 429 proves nothing about the request limit, and the test says so.
"""

from __future__ import annotations

import pytest

from maas_e2e.burst import Burst
from maas_e2e.expected import Expected
from maas_e2e.model import Model
from maas_e2e.quota import LimitedUser
from maas_e2e.users import LimitedUserOf

pytestmark = [pytest.mark.e2e, pytest.mark.rate_limits]

SEED_BURST = 16
"""The seed's manual check: 16 requests, expecting 429s when the tier's limit is below that."""
AFTER_LIMIT = 2
"""Requests sent after the first 429 to show the window stays closed."""


def exhaust(model: Model, user: LimitedUser) -> Burst:
    """Spend a user's whole limit and see the first 429 (limit + 1 requests, no more)."""
    responses = model.burst(user, user.limit + 1, title="the whole limit")
    responses.assert_all(200, upto=user.limit)
    responses.assert_first_at(user.limit, 429)
    return responses


def rate_limited_tier_where(expected: Expected, model: Model, *, allowed: bool) -> str:
    """The first tier with a request limit that RBAC lets (or does not let) call `model`."""
    for tier in expected.tier_names:
        if (tier in model.allowed_tiers) == allowed and expected.request_limit(tier):
            return tier
    pytest.skip(f"not made: no rate-limited tier is {'allowed' if allowed else 'denied'} "
                f"{model.name} in the manifests")  # fmt: skip


def test_each_tier_gets_429_exactly_after_its_limit(
    model: Model, limited_user: LimitedUserOf, rate_limited_tier: str
) -> None:
    exhaust(model, limited_user(rate_limited_tier))


def test_the_429_says_too_many_requests(
    model: Model, limited_user: LimitedUserOf, lowest_tier: str
) -> None:
    denied = exhaust(model, limited_user(lowest_tier)).responses[-1]
    assert denied.text == "Too Many Requests\n", f"429 body: {denied.text!r}"


def test_every_request_after_the_limit_in_the_window_is_429(
    model: Model, limited_user: LimitedUserOf, lowest_tier: str
) -> None:
    user = limited_user(lowest_tier)
    exhaust(model, user)
    later = model.burst(user, AFTER_LIMIT, stop_at=None, title="later in the same window")
    later.assert_all(429)


def test_16_requests_see_429_only_below_a_limit_of_16(
    model: Model, limited_user: LimitedUserOf, rate_limited_tier: str
) -> None:
    user = limited_user(rate_limited_tier)
    responses = model.burst(user, SEED_BURST, title=f"the seed's {SEED_BURST} requests")
    if user.limit < SEED_BURST:
        responses.assert_first_at(user.limit, 429)
    else:
        responses.assert_all(200)


def test_a_second_user_of_the_tier_is_unaffected(
    model: Model, limited_user: LimitedUserOf, lowest_tier: str
) -> None:
    exhaust(model, limited_user(lowest_tier))
    model.burst(limited_user(lowest_tier), 1, title="a second user").assert_all(200)


def test_requests_denied_by_rbac_do_not_use_the_quota(
    model: Model, restricted_model: Model, limited_user: LimitedUserOf, expected: Expected
) -> None:
    user = limited_user(rate_limited_tier_where(expected, restricted_model, allowed=False))
    denied = restricted_model.burst(user, user.limit, stop_at=None, title="denied by RBAC")
    denied.assert_all(403)
    exhaust(model, user)


def test_one_limit_counts_a_users_requests_to_every_model(
    model: Model, restricted_model: Model, limited_user: LimitedUserOf, expected: Expected
) -> None:
    """The counter is the user (auth.identity.userid), not the user and the model."""
    user = limited_user(rate_limited_tier_where(expected, restricted_model, allowed=True))
    if user.limit < 2:
        pytest.skip(f"not made: {user.quota.limit} cannot be split across two models")
    half = user.limit // 2
    model.burst(user, half, stop_at=None, title="half the limit").assert_all(200)
    rest = restricted_model.burst(user, user.limit - half + 1, title="the rest at a second model")
    rest.assert_all(200, upto=user.limit - half)
    rest.assert_first_at(user.limit - half, 429)
