"""The gateway AuthPolicy's `matchedTier` metadata: maas-api's tier lookup, cached per user.

Authorino POSTs `{"groups": auth.identity.user.groups}` to the lookup URL and keeps the JSON
answer under the username for the policy's `cache.ttl`. The policy's `identity` filter then
exposes `auth.identity.tier` from it.

A lookup that fails (maas-api down, groups in no tier) leaves the tier empty. That is Kuadrant's
behaviour, not an error: no `auth.identity.tier == "<tier>"` predicate matches an empty tier, so
neither the request nor the token limits apply to that caller. Like Authorino, any JSON object
answer is cached (a 404 `not_found` too); only a call that produced no JSON is retried next time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from maas_local.gateway.authn import Identity

log = logging.getLogger(__name__)


class TierCache:
    def __init__(
        self,
        lookup_url: str,
        ttl_seconds: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = lookup_url
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[str, tuple[float, dict[str, Any]]] = {}

    async def tier_of(self, client: httpx.AsyncClient, identity: Identity) -> str:
        """The caller's tier name, or "" when the lookup gave none."""
        return tier_from(await self._metadata(client, identity))

    async def _metadata(self, client: httpx.AsyncClient, identity: Identity) -> dict[str, Any]:
        now = self._clock()
        cached = self._entries.get(identity.username)
        if cached is not None and cached[0] > now:
            return cached[1]
        metadata = await self._lookup(client, identity.groups)
        if metadata is not None and self._ttl > 0:
            self._entries[identity.username] = (now + self._ttl, metadata)
        return metadata or {}

    async def _lookup(
        self, client: httpx.AsyncClient, groups: tuple[str, ...]
    ) -> dict[str, Any] | None:
        try:
            resp = await client.post(self._url, json={"groups": list(groups)})
            answer = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("tier lookup at %s failed: %s", self._url, exc)
            return None
        return answer if isinstance(answer, dict) else None


def tier_from(metadata: dict[str, Any]) -> str:
    """The policy's `auth.metadata.matchedTier["tier"]`."""
    tier = metadata.get("tier")
    return tier if isinstance(tier, str) else ""
