"""What one user's requests have spent, and whether a 429 can prove the request limit.

A 429 on a model route comes from either of two limits with the same body: the request limit
(RateLimitPolicy) or the token budget (TokenRateLimitPolicy). A burst proves the request limit
only while the same user's token budget was not spent, and only if it ran inside one window
of the request limit: a counter whose window ended mid-burst starts again, so no count of 200s
before the 429 would mean anything. Every rate-limit burst goes through `Quota.record`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from maas_e2e.burst import Burst
from maas_e2e.expected import Limit


class Inconclusive(Exception):
    """The run cannot show what the test checks (it neither passes nor fails); says why."""


@dataclass
class Quota:
    """One fresh user of `tier`: its request limit, its token budget and what it has spent."""

    tier: str
    limit: Limit
    budget: Limit | None
    tokens: int = 0
    first_sent: float | None = field(default=None, repr=False)

    def record(self, run: Burst) -> None:
        """Add a burst's spend; when it met a 429, show that the request limit decided it.

        Raises Inconclusive when the bursts so far took longer than the request window, or
        when the tokens spent could have made the 429: either way the 429 proves nothing about
        the request limit, and the test says the check was not made.
        """
        if self.first_sent is None:
            self.first_sent = run.started_at
        self.tokens += tokens_used(run)
        if 429 not in run.statuses:
            return
        took = time.monotonic() - self.first_sent
        if took >= self.limit.seconds:
            raise Inconclusive(
                f"{self.tier} ({self.limit}): the requests took {took:.1f}s, not inside one "
                f"{self.limit.seconds}s window, so a window that ended mid-run could explain "
                f"any count before the 429\n{run.timeline()}"
            )
        if self.budget is not None and self.tokens >= self.budget.amount:
            raise Inconclusive(
                f"{self.tier} spent {self.tokens} tokens of its budget {self.budget} before this "
                f"429: it could come from the token limit, so it proves nothing about the "
                f"request limit {self.limit}\n{run.timeline()}"
            )


def tokens_used(run: Burst) -> int:
    """usage.total_tokens summed over the burst's 200s; each must carry it to be counted."""
    used = 0
    for entry in run.entries:
        if entry.status != 200:
            continue
        try:
            used += entry.response.json()["usage"]["total_tokens"]
        except (ValueError, KeyError, TypeError):
            raise AssertionError(
                f"request #{entry.index} got 200 without usage.total_tokens: what the user spent "
                f"of its token budget cannot be known: {entry.response.text[:200]}"
            ) from None
    return used
