"""Limitador counting requests for the RateLimitPolicy: one counter per tier limit and userid.

Limitador's semantics, which the `limits` library's FixedWindowRateLimiter on MemoryStorage has
too: the window starts at the counter's first hit (not aligned to the clock, not sliding) and a
request is admitted when `value + 1 <= limit`. A rejected request must not consume quota, so
the counter is tested before it is hit. Both calls are synchronous with no await between them,
so no other request on the event loop can slip in between.
"""

from __future__ import annotations

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from maas_local.config import Limit

POLICY = "gateway-rate-limits"
NEVER_SECONDS = 100 * 365 * 24 * 3600
"""The window of the `rate-window-never-resets` fault: longer than any stack lives."""


def window_item(limit: Limit, namespace: str) -> RateLimitItem:
    """A Kuadrant rate (`limit` per `window`) as a `limits` item; counters live per namespace."""
    return RateLimitItemPerSecond(limit.limit, limit.window_seconds, namespace=namespace)


class RequestLimiter:
    def __init__(self, limits: dict[str, Limit], faults: frozenset[str] = frozenset()) -> None:
        self._faults = faults
        self._items = {
            tier: window_item(self._effective(limit), POLICY) for tier, limit in limits.items()
        }
        self._limiter = FixedWindowRateLimiter(MemoryStorage())

    def _effective(self, limit: Limit) -> Limit:
        """The limit as the policy says, or as one of the catalogue's regressions reads it."""
        if "rate-limit-off-by-one" in self._faults:
            return Limit(limit.limit + 1, limit.window_seconds)  # `<=` where `<` was meant
        if "rate-window-never-resets" in self._faults:
            return Limit(limit.limit, NEVER_SECONDS)  # the counter's expiry never set
        return limit

    def admit(self, tier: str, userid: str, model: str) -> bool:
        """Count the request and say whether it may pass; a tier without a limit always passes.

        `model` (`<namespace>/<name>`) is not part of the policy's counter: one limit covers a
        user's requests to every model. Only a regression keys on it.
        """
        item = self._items.get(tier)
        if item is None:
            return True
        # `rate-limit-per-tier`: the counter keyed by the predicate's tier alone, not the user.
        counter = ["" if "rate-limit-per-tier" in self._faults else userid]
        if "rate-limit-per-model" in self._faults:
            # The regression: the route's model added to the counter's descriptors.
            counter.append(model)
        if not self._limiter.test(item, tier, *counter) and "rate-limit-off" not in self._faults:
            return False
        self._limiter.hit(item, tier, *counter)
        return True
