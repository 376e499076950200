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
from typing import TYPE_CHECKING

from maas_e2e.auth import Bearer
from maas_e2e.expected import Limit

if TYPE_CHECKING:
    from maas_e2e.burst import Burst


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
    return sum(entry.tokens for entry in run.entries)


@dataclass(frozen=True, kw_only=True)
class LimitedUser(Bearer):
    """A fresh user of a rate-limited tier: its MaaS token and its quota. A burst sent with it
    counts what it spends, so its 429s can be judged."""

    quota: Quota

    @property
    def limit(self) -> int:
        return self.quota.limit.amount
