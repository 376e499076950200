"""A request limit's window is fixed and starts at the counter's first hit: it reopens once the
window has passed, not before (slow: waits out the window; run with --maas-slow)."""

from __future__ import annotations

import time

import pytest

from maas_e2e.model import Model
from maas_e2e.polling import poll
from maas_e2e.users import LimitedUserOf

pytestmark = [pytest.mark.e2e, pytest.mark.rate_limits, pytest.mark.slow]

POLL_S = 1.0
"""Denied requests do not count, so polling the closed window does not move it."""
LATE_S = 15.0
"""How long after the window's end a reopening may still be seen (polling, clock skew)."""


def test_the_window_reopens_when_it_has_passed_and_not_before(
    model: Model, limited_user: LimitedUserOf, lowest_tier: str
) -> None:
    user = limited_user(lowest_tier)
    limit = user.quota.limit
    run = model.burst(user, user.limit + 1, title="the whole limit")
    run.assert_first_at(user.limit, 429)
    since_first_hit = time.monotonic() - run.started_at
    seen = poll(
        lambda: model.chat(user, max_tokens=1).status_code,
        lambda status: status != 429,
        within=limit.seconds + LATE_S,
        every=POLL_S,
    )
    reopened_at = since_first_hit + seen.at
    assert seen.last == 200, (
        f"{lowest_tier} ({limit}): expected a 200 once the {limit.seconds}s window passed; "
        f"the last poll, {reopened_at:.0f}s after the first hit, got {seen.last} "
        f"(polls since the first 429: {seen.history()})"
    )
    assert reopened_at >= limit.seconds - POLL_S, (
        f"{lowest_tier} ({limit}): reopened {reopened_at:.1f}s after the first hit, before the "
        f"{limit.seconds}s window ended (polls since the first 429: {seen.history()})"
    )
