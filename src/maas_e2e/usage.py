"""What a model reply says it used, read the same way from a JSON body and from an SSE stream.

Limitador counts `usage.total_tokens` of replies against token budgets, so every check that
plans or judges a budget reads the same field, whether the reply was streamed or not.
"""

from __future__ import annotations

import json
from typing import Any

import httpx


def sse_events(response: httpx.Response) -> list[str]:
    """The `data:` payloads of a read server-sent-events reply, in order, `[DONE]` included."""
    return [
        line.removeprefix("data:").strip()
        for line in response.text.splitlines()
        if line.startswith("data:")
    ]


def sse_chunks(events: list[str]) -> list[dict[str, Any]]:
    """The JSON chunks of a stream, without its `[DONE]` terminator."""
    return [json.loads(e) for e in events if e != "[DONE]"]


def usage_of(response: httpx.Response) -> dict[str, Any] | None:
    """The reply's usage object: the body's, or a stream's usage chunk; None when it has none."""
    try:
        if response.headers.get("content-type", "").lower().startswith("text/event-stream"):
            chunks = sse_chunks(sse_events(response))
            return next((c["usage"] for c in chunks if c.get("usage")), None)
        usage = response.json().get("usage")
    except (ValueError, AttributeError, TypeError):
        return None
    return usage if isinstance(usage, dict) else None


def total_tokens(response: httpx.Response, index: int) -> int:
    """`usage.total_tokens` of the 200 reply to request #index, which must carry it: what the
    user spent of its token budget cannot be known otherwise."""
    usage = usage_of(response) or {}
    total = usage.get("total_tokens")
    if type(total) is not int or total < 0:
        raise AssertionError(
            f"request #{index} got 200 without usage.total_tokens: what the user spent of its "
            f"token budget cannot be known: {response.text[:200]}"
        )
    return total
