"""Limitador counting tokens for the TokenRateLimitPolicy: one counter per tier and userid.

At request time the counter is only checked: admitted while `used + 1 <= limit`, nothing
counted. After the answer, its `usage.total_tokens` is added without a check, so the request
that crosses the limit still succeeds (and may overshoot); later requests get 429 until the
window, started at the counter's first addition, expires. An answer without usage (an error, a
stream without `include_usage`) adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from maas_local.config import Limit
from maas_local.gateway.ratelimit import window_item
from maas_local.gateway.usage import UsageReader, reader_for

POLICY = "gateway-token-rate-limits"


class TokenLimiter:
    def __init__(self, limits: dict[str, Limit], faults: frozenset[str] = frozenset()) -> None:
        self._faults = faults
        self._items = {tier: window_item(limit, POLICY) for tier, limit in limits.items()}
        self._limiter = FixedWindowRateLimiter(MemoryStorage())
        # `token-limit-prompt-only`: the usage field read is the prompt's, not the total.
        self._counted = "prompt_tokens" if "token-limit-prompt-only" in faults else "total_tokens"

    def admit(self, tier: str, userid: str) -> bool:
        """Whether the budget has room for one more token; counts nothing."""
        item = self._items.get(tier)
        if item is None or "token-limit-off" in self._faults:
            return True
        return self._limiter.test(item, tier, self._counter(userid))

    def count(self, tier: str, userid: str, total_tokens: int) -> None:
        """Add an answer's tokens, unchecked."""
        item = self._items.get(tier)
        if item is not None and total_tokens > 0:
            self._limiter.hit(item, tier, self._counter(userid), cost=total_tokens)

    def _counter(self, userid: str) -> str:
        # `token-limit-per-tier`: the counter keyed by the predicate's tier alone, not the user.
        return "" if "token-limit-per-tier" in self._faults else userid

    def meter(self, tier: str, userid: str, headers: Mapping[str, str]) -> TokenMeter | None:
        """What watches an answer's body for its usage; None when no limit applies."""
        reader = reader_for(headers, self._counted) if tier in self._items else None
        return None if reader is None else TokenMeter(reader, lambda n: self.count(tier, userid, n))


class TokenMeter:
    """Counts an answer's tokens once: when the reader is complete, else when the body ends."""

    def __init__(self, reader: UsageReader, count: Callable[[int], None]) -> None:
        self._reader = reader
        self._count = count
        self._settled = False

    def feed(self, chunk: bytes) -> None:
        self._reader.feed(chunk)
        if self._reader.complete:
            self.finish()

    def finish(self) -> None:
        if self._settled:
            return
        self._settled = True
        total = self._reader.total_tokens
        if total:
            self._count(total)
