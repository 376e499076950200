"""Forwarding a request to its backend and relaying the answer, as Envoy does.

Method, path (after the route's rewrite), query, body and headers go through, minus the
hop-by-hop headers; the `Authorization` header stays (Authorino does not strip it). The answer's
status, headers and body come back unchanged and streamed chunk by chunk, so Server-Sent Events
reach the client as the model produces them. A body observer (the token meter) sees each chunk
before the client does. Failures to reach the backend get Envoy's own replies, never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Protocol

import httpx
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from maas_local.gateway import replies

# RFC 9110 7.6.1 connection-specific headers, plus what the proxy recomputes or handles itself:
# content-length (httpx sets it for the body it sends), expect (Envoy answers 100-continue).
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
NOT_FORWARDED = HOP_BY_HOP | {b"content-length", b"expect"}
# The gateway's own server adds these to every answer; relaying the backend's would duplicate them.
NOT_RELAYED = HOP_BY_HOP | {b"date", b"server"}

log = logging.getLogger(__name__)


class BodyObserver(Protocol):
    def feed(self, chunk: bytes) -> None: ...

    def finish(self) -> None: ...


Observe = Callable[[httpx.Response], BodyObserver | None]
RawHeaders = list[tuple[bytes, bytes]]


def without(headers: RawHeaders, names: frozenset[bytes]) -> RawHeaders:
    """Headers minus `names` and minus any header the `Connection` header lists."""
    listed = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == b"connection"
        for token in value.split(b",")
    }
    return [(n, v) for n, v in headers if n.lower() not in names and n.lower() not in listed]


async def forward(
    client: httpx.AsyncClient,
    request: Request,
    upstream: str,
    path: str,
    observe: Observe | None = None,
) -> Response:
    """The backend's answer to `request` sent to `path` under `upstream`, streamed back."""
    try:
        body = await request.body()
    except ClientDisconnect:
        return replies.bad_request()
    query = request.scope.get("query_string", b"")
    try:
        base = httpx.URL(upstream)
        target = base.raw_path.rstrip(b"/") + path.encode("latin-1")
        url = base.copy_with(raw_path=target + (b"?" + query if query else b""))
        outgoing = httpx.Request(
            request.method, url, headers=without(request.headers.raw, NOT_FORWARDED), content=body
        )
    except (httpx.InvalidURL, UnicodeError, ValueError):
        return replies.bad_request()
    try:
        answer = await client.send(outgoing, stream=True)
    except httpx.ConnectError:
        return replies.no_healthy_upstream()
    except httpx.TimeoutException:
        return replies.upstream_timeout()
    except httpx.HTTPError as exc:
        log.warning("forwarding to %s failed: %s", upstream, exc)
        return replies.upstream_reset()
    observer = observe(answer) if observe is not None else None
    # The relay closes the backend's answer when it ends; the background task also covers a
    # relay that never ran or was abandoned by a client that went away.
    response = StreamingResponse(
        _relay(answer, observer),
        status_code=answer.status_code,
        background=BackgroundTask(answer.aclose),
    )
    response.raw_headers = without(answer.headers.raw, NOT_RELAYED)
    return response


async def _relay(answer: httpx.Response, observer: BodyObserver | None) -> AsyncIterator[bytes]:
    """The backend's raw bytes (still encoded as it sent them), each shown to the observer first.

    The observer finishes before the generator returns, that is before the client sees the end
    of a chunked body; a body of known length is settled by the observer as its last byte passes.
    """
    try:
        async for chunk in answer.aiter_raw():
            if observer is not None:
                observer.feed(chunk)
            yield chunk
    except httpx.HTTPError as exc:
        log.warning("backend answer cut short: %s", exc)
    finally:
        if observer is not None:
            observer.finish()
        await answer.aclose()
