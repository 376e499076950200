"""One HTTP exchange with a component, kept as what the comparison needs.

A request is data (method, path, raw body, headers) so that both sides get exactly the same
bytes; an observation is what came back: status, media type and the body, parsed when it is
JSON. Nothing here knows which side it talks to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

JSON_TYPE = "application/json"
NO_ANSWER = 0
"""The status of an exchange that got no HTTP answer (refused, reset, timed out)."""


Headers = tuple[tuple[str, str | bytes], ...]
JSON_HEADERS: Headers = (("Content-Type", JSON_TYPE),)


@dataclass(frozen=True)
class Request:
    """What is sent, byte for byte. Headers are pairs (a name may repeat, a value may be bytes
    that are not text); `credential` False sends no Authorization of the harness's own."""

    method: str
    path: str
    body: bytes | None = None
    headers: Headers = ()
    credential: bool = True


def json_request(method: str, path: str, value: Any) -> Request:
    """A request whose body is `value` as JSON (non-ASCII as UTF-8, as Go writes it)."""
    return Request(method, path, json.dumps(value, ensure_ascii=False).encode(), JSON_HEADERS)


def raw_request(method: str, path: str, body: bytes) -> Request:
    """A request with these exact body bytes, labelled JSON whatever they are."""
    return Request(method, path, body, JSON_HEADERS)


@dataclass(frozen=True)
class Observation:
    status: int
    content_type: str
    body: Any
    """The parsed JSON value, or the text when the body is not JSON."""


def parse_body(content: bytes) -> Any:
    """JSON when the bytes are JSON, else their text (an empty body is the empty string)."""
    text = content.decode("utf-8", errors="replace")
    if not text.strip():
        return ""
    try:
        return json.loads(text)
    except ValueError:
        return text


def observe(response: httpx.Response) -> Observation:
    return Observation(
        response.status_code, response.headers.get("content-type", ""), parse_body(response.content)
    )


def send(client: httpx.Client, request: Request, bearer: str | None = None) -> Observation:
    """Send `request`, with `bearer` as its Authorization when it asks for a credential; a
    transport failure is an observation too, with status 0 and the error as its body."""
    headers = list(request.headers)
    if bearer is not None and request.credential:
        headers.append(("Authorization", f"Bearer {bearer}"))
    try:
        response = client.request(
            request.method, request.path, content=request.body, headers=headers
        )
    except httpx.HTTPError as exc:
        return Observation(NO_ANSWER, "", f"no answer: {type(exc).__name__}: {exc}")
    return observe(response)
