"""A request limit's window is fixed and starts at the counter's first hit: it reopens once the
window has passed, not before (slow: waits out the window; run with --maas-slow)."""

from __future__ import annotations

import time

import pytest
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed
from tests.fixtures.identities import TokenFor
from tests.fixtures.models import ModelRef

from maas_e2e.api import MaasApi
from maas_e2e.burst import send_burst
from maas_e2e.expected import Expected
from maas_e2e.quota import Inconclusive, Quota

pytestmark = [pytest.mark.e2e, pytest.mark.rate_limits, pytest.mark.slow]

POLL_S = 1.0
"""Denied requests do not count, so polling the closed window does not move it."""
LATE_S = 15.0
"""How long after the window's end a reopening may still be seen (polling, clock skew)."""
MESSAGES = [{"role": "user", "content": "hi"}]


def test_the_window_reopens_when_it_has_passed_and_not_before(
    api: MaasApi, model: ModelRef, token_for: TokenFor, expected: Expected, lowest_tier: str
) -> None:
    limit = expected.request_limit(lowest_tier)
    if limit is None:
        pytest.skip(f"not made: the {lowest_tier} tier has no request limit in the manifests")
    token = token_for(lowest_tier)

    def send():
        return api.chat(model.url, token, model=model.name, messages=MESSAGES, max_tokens=1)

    first_hit = time.monotonic()
    run = send_burst(send, limit.amount + 1, stop_at_status=429)
    try:
        Quota(lowest_tier, limit, expected.token_limit(lowest_tier)).record(run)
    except Inconclusive as exc:
        pytest.skip(f"not made: {exc}")
    run.assert_first_at(limit.amount, status=429)
    polls: list[tuple[float, int]] = []

    def poll() -> int:
        status = send().status_code
        polls.append((time.monotonic() - first_hit, status))
        return status

    retrying = Retrying(
        stop=stop_after_delay(limit.seconds + LATE_S),
        wait=wait_fixed(POLL_S),
        retry=retry_if_result(lambda status: status == 429),
        retry_error_callback=lambda state: state.outcome.result(),
    )
    final = retrying(poll)
    history = ", ".join(f"{t:.0f}s:{s}" for t, s in polls[-5:])
    assert final == 200, (
        f"{lowest_tier} ({limit}): expected a 200 once the {limit.seconds}s window passed; "
        f"the last poll, {polls[-1][0]:.0f}s after the first hit, got {final} "
        f"(last polls {history})"
    )
    reopened_at = polls[-1][0]
    assert reopened_at >= limit.seconds - POLL_S, (
        f"{lowest_tier} ({limit}): reopened {reopened_at:.1f}s after the first hit, before the "
        f"{limit.seconds}s window ended (last polls {history})"
    )
