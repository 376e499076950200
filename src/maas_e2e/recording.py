"""Record every HTTP exchange the suite makes, redacted, for the failure report.

An e2e failure is only actionable if the reader can see what was sent and what came back, and
can find the same request in gateway or server logs: every request gets a unique
`x-e2e-request-id`. Recording happens in a transport wrapper, so it sees exactly what goes on
the wire (headers httpx adds included) and response bodies as they are read, streaming or not.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from maas_e2e.redaction import redact_headers, redact_text

REQUEST_ID_HEADER: Final = "x-e2e-request-id"
DEFAULT_MAX_BODY_BYTES: Final = 4096


def request_id_of(response: httpx.Response) -> str | None:
    """The e2e request id a response's request carried (None if it was not recorded)."""
    return response.request.headers.get(REQUEST_ID_HEADER)


@dataclass
class Exchange:
    """One request and its response as the report shows them: secrets already masked.

    A streamed response body grows as the test reads it; `elapsed` is set once it is closed.
    """

    request_id: str
    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: str
    started_at: float
    status: int | None = None
    reason: str = ""
    http_version: str = ""
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: str = ""
    response_bytes: int = 0
    elapsed: float | None = None
    error: str | None = None

    def render(self) -> str:
        """A curl -v style text block."""
        elapsed = "open" if self.elapsed is None else f"{self.elapsed:.3f}s"
        lines = [f"* {REQUEST_ID_HEADER}: {self.request_id} ({elapsed})"]
        lines.append(f"> {self.method} {self.url}")
        lines += [f"> {name}: {value}" for name, value in self.request_headers]
        lines.append(">")
        if self.request_body:
            lines.append(self.request_body)
        if self.status is not None:
            status_line = (self.http_version, str(self.status), self.reason)
            lines.append("< " + " ".join(part for part in status_line if part))
            lines += [f"< {name}: {value}" for name, value in self.response_headers]
            lines.append("<")
            if self.response_body:
                lines.append(self.response_body)
        if self.error:
            lines.append(f"! {self.error}")
        return "\n".join(lines)


def _body_text(captured: bytes, total: int, max_bytes: int) -> str:
    """Redact first, then truncate: a cut never leaves half a token unmasked."""
    if not captured:
        return ""
    text = redact_text(captured.decode("utf-8", errors="replace"))
    if len(text) <= max_bytes and total == len(captured):
        return text
    return f"{text[:max_bytes]}\n… [truncated; {total} bytes in total]"


class _Capture:
    """Keeps the first bytes of a body (well past the shown size, so redaction sees whole
    tokens) and the total length."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.limit = max(16 * max_bytes, 65536)
        self.data = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.limit - len(self.data)
        if room > 0:
            self.data += chunk[:room]

    def text(self) -> str:
        return _body_text(bytes(self.data), self.total, self.max_bytes)


class _RecordingStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, exchange: Exchange, recorder: Recorder) -> None:
        self._inner = inner
        self._exchange = exchange
        self._recorder = recorder
        self._capture = _Capture(recorder.max_body_bytes)
        self._started = time.perf_counter()
        self._encoding = next(
            (v for k, v in exchange.response_headers if k.lower() == "content-encoding"), None
        )

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._inner:
                self._capture.add(chunk)
                self._exchange.response_bytes = self._capture.total
                self._exchange.response_body = self._describe()
                yield chunk
        except httpx.HTTPError as exc:
            self._exchange.error = f"reading the body failed: {exc!r}"
            raise

    def _describe(self) -> str:
        if self._encoding and self._encoding.lower() != "identity":
            return f"[{self._encoding}-encoded body, {self._capture.total} bytes, not decoded]"
        return self._capture.text()

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            if self._exchange.elapsed is None:
                self._exchange.elapsed = time.perf_counter() - self._started
                self._recorder.finished(self._exchange)


class RecordingTransport(httpx.BaseTransport):
    """Tags each request with a fresh request id and records the exchange in a Recorder."""

    def __init__(self, recorder: Recorder, inner: httpx.BaseTransport) -> None:
        self._recorder = recorder
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # A caller-chosen id is kept so a test can correlate on purpose.
        if REQUEST_ID_HEADER not in request.headers:
            request.headers[REQUEST_ID_HEADER] = str(uuid.uuid4())
        capture = _Capture(self._recorder.max_body_bytes)
        capture.add(request.read())
        exchange = Exchange(
            request_id=request.headers[REQUEST_ID_HEADER],
            method=request.method,
            url=redact_text(str(request.url)),
            request_headers=redact_headers(request.headers.multi_items()),
            request_body=capture.text(),
            started_at=time.time(),
        )
        self._recorder.add(exchange)
        started = time.perf_counter()
        try:
            response = self._inner.handle_request(request)
        except Exception as exc:
            exchange.elapsed = time.perf_counter() - started
            exchange.error = f"no response: {exc!r}"
            self._recorder.finished(exchange)
            raise
        exchange.status = response.status_code
        exchange.reason = response.reason_phrase
        exchange.http_version = response.http_version
        exchange.response_headers = redact_headers(response.headers.multi_items())
        if not isinstance(response.stream, httpx.SyncByteStream):
            raise TypeError(f"{type(self._inner).__name__} returned a non-sync response stream")
        # A fresh Response so httpx reads the body through the recording stream even when the
        # inner transport handed back an already-read one.
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_RecordingStream(response.stream, exchange, self._recorder),
            extensions=response.extensions,
            request=request,
        )

    def close(self) -> None:
        self._inner.close()


class Recorder:
    """Collects the exchanges of every client it makes (thread-safe).

    `on_exchange` is called once per exchange when it is complete (its response body closed,
    or the request failed), e.g. to attach it to the report step that made it.
    """

    def __init__(
        self,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        on_exchange: Callable[[Exchange], None] | None = None,
    ) -> None:
        self.max_body_bytes = max_body_bytes
        self.on_exchange = on_exchange
        self._exchanges: list[Exchange] = []
        self._lock = threading.Lock()

    def add(self, exchange: Exchange) -> None:
        with self._lock:
            self._exchanges.append(exchange)

    def finished(self, exchange: Exchange) -> None:
        """Called by the transport once `exchange` is complete."""
        if self.on_exchange is not None:
            self.on_exchange(exchange)

    @property
    def exchanges(self) -> list[Exchange]:
        """A snapshot, in the order requests were sent."""
        with self._lock:
            return list(self._exchanges)

    def ids_of(self, statuses: Iterable[int] | None = None) -> list[str]:
        """Request ids of the exchanges whose status is in `statuses` (all when None)."""
        wanted = None if statuses is None else set(statuses)
        return [e.request_id for e in self.exchanges if wanted is None or e.status in wanted]

    def by_id(self, request_id: str) -> Exchange | None:
        """The exchange of a request id, e.g. `request_id_of(response)`."""
        return next((e for e in self.exchanges if e.request_id == request_id), None)

    def render(self) -> str:
        """Every exchange, in order, as one text report."""
        return "\n\n".join(e.render() for e in self.exchanges)

    def transport(self, inner: httpx.BaseTransport | None = None) -> RecordingTransport:
        """A recording wrapper around `inner` (a plain HTTPTransport by default)."""
        return RecordingTransport(self, inner or httpx.HTTPTransport())

    def client(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        verify: Any = True,
        cert: Any = None,
        http2: bool = False,
        proxy: Any = None,
        limits: httpx.Limits | None = None,
        **client_kwargs: Any,
    ) -> httpx.Client:
        """An httpx.Client whose traffic is recorded.

        Connection options go to the inner transport, since httpx ignores them when a
        transport is given. Bodies are asked for uncompressed so the report can show them.
        """
        inner = transport or httpx.HTTPTransport(
            verify=verify,
            cert=cert,
            http2=http2,
            proxy=proxy,
            limits=limits or httpx.Limits(),
        )
        headers = httpx.Headers({"accept-encoding": "identity"})
        headers.update(client_kwargs.pop("headers", None) or {})
        return httpx.Client(transport=self.transport(inner), headers=headers, **client_kwargs)
