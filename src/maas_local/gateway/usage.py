"""Reading `usage.total_tokens` from a model's response while it passes through the gateway.

A plain response is one JSON document; a streamed one is Server-Sent Events whose usage chunk
(present only when the client asked `stream_options.include_usage`) comes just before
`data: [DONE]`. Readers say when they are `complete`, so tokens can be counted before the
client has the whole answer and its next request sees them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

MAX_JSON_BYTES = 8 * 1024 * 1024
MAX_SSE_LINE_BYTES = 1024 * 1024


class UsageReader(Protocol):
    def feed(self, chunk: bytes) -> None: ...

    @property
    def complete(self) -> bool: ...

    @property
    def total_tokens(self) -> int | None: ...


def reader_for(headers: Mapping[str, str], field: str = "total_tokens") -> UsageReader | None:
    """The reader for a response's headers; None when the body cannot be read (compressed).

    `field` is the usage field counted: `total_tokens`, unless a fault says otherwise.
    """
    if headers.get("content-encoding", "identity").lower() != "identity":
        return None
    if headers.get("content-type", "").lower().startswith("text/event-stream"):
        return SseUsage(field)
    length = headers.get("content-length")
    return JsonUsage(int(length) if length and length.isdigit() else None, field)


def total_tokens_of(document: Any, field: str = "total_tokens") -> int | None:
    usage = document.get("usage") if isinstance(document, dict) else None
    total = usage.get(field) if isinstance(usage, dict) else None
    if isinstance(total, int) and not isinstance(total, bool) and total >= 0:
        return total
    return None


class JsonUsage:
    """A whole JSON body; complete once `content-length` bytes arrived (else at its end)."""

    def __init__(self, content_length: int | None, field: str = "total_tokens") -> None:
        self._length = content_length
        self._field = field
        self._body = bytearray()
        self._overflow = False

    def feed(self, chunk: bytes) -> None:
        if len(self._body) + len(chunk) > MAX_JSON_BYTES:
            self._overflow = True
            return
        self._body += chunk

    @property
    def complete(self) -> bool:
        return self._length is not None and len(self._body) >= self._length

    @property
    def total_tokens(self) -> int | None:
        if self._overflow:
            return None
        try:
            return total_tokens_of(json.loads(self._body), self._field)
        except ValueError:
            return None


class SseUsage:
    """Events parsed line by line as they pass; the last usage seen is the answer's."""

    def __init__(self, field: str = "total_tokens") -> None:
        self._field = field
        self._partial = b""
        self._total: int | None = None
        self._done = False

    def feed(self, chunk: bytes) -> None:
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        if len(self._partial) > MAX_SSE_LINE_BYTES:
            self._partial = b""
        for line in lines:
            self._line(line.rstrip(b"\r"))

    def _line(self, line: bytes) -> None:
        if not line.startswith(b"data:"):
            return
        payload = line[len(b"data:") :].strip()
        if payload == b"[DONE]":
            self._done = True
            return
        try:
            total = total_tokens_of(json.loads(payload), self._field)
        except ValueError:
            return
        if total is not None:
            self._total = total

    @property
    def complete(self) -> bool:
        return self._done

    @property
    def total_tokens(self) -> int | None:
        return self._total
