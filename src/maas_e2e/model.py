"""A model as the tests call it: found through discovery, bound to the test's recording client.

`model.chat(token, max_tokens=8)` sends the greeting to that model's URL with its name; a test
only writes what its promise is about. `model.burst(user, n)` is the rate-limit tests' tool:
one-token chats, one at a time, stopping at the first 429, with the user's spend recorded
(see `maas_e2e.burst`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import allure
import httpx

from maas_e2e.api import GREETING
from maas_e2e.burst import Burst, send_burst
from maas_e2e.quota import LimitedUser
from maas_e2e.usage import sse_chunks, sse_events, usage_of


@dataclass(frozen=True)
class ModelRef:
    """A model under test: its name, the URL to call it at, the tiers RBAC lets in, the `id`
    the pinned maas-api lists it under, and the tokens its context holds."""

    name: str
    url: str
    allowed_tiers: frozenset[str]
    listed_id: str
    context_tokens: int


@dataclass(frozen=True)
class Stream:
    """A streamed chat completion, read to its end."""

    response: httpx.Response

    @property
    def status(self) -> int:
        return self.response.status_code

    @cached_property
    def events(self) -> list[str]:
        """The `data:` payloads in order, `[DONE]` included."""
        return sse_events(self.response)

    @property
    def chunks(self) -> list[dict[str, Any]]:
        """The JSON chunks, without `[DONE]`."""
        return sse_chunks(self.events)

    @property
    def choices(self) -> list[dict[str, Any]]:
        """The choice of each chunk that has one (usage chunks left out)."""
        return [c["choices"][0] for c in self.chunks if c.get("choices")]

    @property
    def usage(self) -> dict[str, Any] | None:
        return usage_of(self.response)


@dataclass(frozen=True)
class Model(ModelRef):
    """A `ModelRef` bound to an HTTP client: every call goes to the model's URL with its name."""

    client: httpx.Client = field(repr=False)

    @classmethod
    def bound(cls, ref: ModelRef, client: httpx.Client) -> Model:
        return cls(**vars(ref), client=client)

    def at(self, url: str) -> Model:
        """The same model called at another URL (as a listing gives it, for instance)."""
        return dataclasses.replace(self, url=url)

    def chat(self, token: httpx.Auth | None, **body: Any) -> httpx.Response:
        """POST a chat completion: the model's name and `body`, with the greeting as the
        messages unless `body` has its own (or, as MaaS's docs send, a `prompt`). A streamed
        reply (`stream=True`) is read to its end."""
        said = {} if {"messages", "prompt"} & body.keys() else {"messages": GREETING}
        return self._post("chat/completions", token, {**said, **body})

    def complete(self, token: httpx.Auth | None, **body: Any) -> httpx.Response:
        """POST a text completion of a one-word prompt, `body` added."""
        return self._post("completions", token, {"prompt": "Once", **body})

    def stream(self, token: httpx.Auth | None, **body: Any) -> Stream:
        """A streamed chat completion, read to its end."""
        return Stream(self.chat(token, stream=True, **body))

    def burst(
        self,
        token: httpx.Auth,
        count: int,
        *,
        stop_at: int | None = 429,
        stop_if: Callable[[httpx.Response], bool] | None = None,
        title: str | None = None,
        **body: Any,
    ) -> Burst:
        """Up to `count` chats (one completion token each unless `body` says otherwise), one at
        a time, stopping after the first `stop_at` (or a reply `stop_if` says ends the run);
        never retried. A `LimitedUser` gets its spend recorded, so the burst's 429s can be
        judged."""
        quota = token.quota if isinstance(token, LimitedUser) else None
        title = f"{title or 'burst'} at {self.name}"
        return send_burst(
            lambda: self.chat(token, **{"max_tokens": 1, **body}),
            count,
            stop_at_status=stop_at,
            title=f"{quota.tier} user: {title}" if quota else title,
            quota=quota,
            stop_if=stop_if,
        )

    def _post(
        self, endpoint: str, token: httpx.Auth | None, body: dict[str, Any]
    ) -> httpx.Response:
        url = f"{self.url}/v1/{endpoint}"
        streamed = ", streaming" if body.get("stream") else ""
        with allure.step(f"call the model{streamed}: POST {urlsplit(url).path}"):
            return self.client.post(url, json={"model": self.name, **body}, auth=token)
