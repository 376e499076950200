"""A reply's usage is read the same way from a JSON body and from a server-sent-events stream."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from maas_e2e.usage import sse_chunks, sse_events, total_tokens, usage_of

USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


def sse(*payloads: str, content_type: str = "text/event-stream") -> httpx.Response:
    """A read stream reply whose events carry `payloads`, as vLLM frames them."""
    body = "".join(f"data: {p}\n\n" for p in payloads)
    return httpx.Response(200, headers={"content-type": content_type}, content=body.encode())


def chunk(**fields: Any) -> str:
    return json.dumps({"object": "chat.completion.chunk", **fields})


def test_sse_events_are_the_data_payloads_in_order() -> None:
    body = ': keep-alive\n\nevent: message\ndata: {"a": 1}\n\ndata:{"b": 2}\r\n\r\ndata: [DONE]\n\n'
    response = httpx.Response(200, content=body.encode())
    assert sse_events(response) == ['{"a": 1}', '{"b": 2}', "[DONE]"]


def test_sse_chunks_are_the_json_chunks_without_done() -> None:
    assert sse_chunks(['{"a": 1}', '{"b": 2}', "[DONE]"]) == [{"a": 1}, {"b": 2}]


def test_usage_of_a_json_body_is_its_usage() -> None:
    assert usage_of(httpx.Response(200, json={"choices": [], "usage": USAGE})) == USAGE


@pytest.mark.parametrize("content_type", ["text/event-stream", "text/event-stream; charset=utf-8"])
def test_usage_of_a_stream_is_its_usage_chunk(content_type: str) -> None:
    response = sse(
        chunk(choices=[{"delta": {"content": "hi"}}], usage=None),
        chunk(choices=[], usage=USAGE),
        "[DONE]",
        content_type=content_type,
    )
    assert usage_of(response) == USAGE


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={"choices": []}),
        httpx.Response(200, json={"usage": None}),
        httpx.Response(200, json={"usage": 5}),
        httpx.Response(200, json=["usage"]),
        httpx.Response(200, content=b"<html>upstream error</html>"),
        sse(chunk(choices=[{"delta": {}}]), "[DONE]"),
        sse("{not json", "[DONE]"),
        sse("[1, 2]", "[DONE]"),
    ],
    ids=[
        "json-without-usage",
        "json-usage-null",
        "json-usage-not-an-object",
        "json-not-an-object",
        "not-json",
        "stream-without-usage",
        "stream-not-json",
        "stream-chunk-not-an-object",
    ],
)
def test_usage_of_a_reply_without_usage_is_none(response: httpx.Response) -> None:
    assert usage_of(response) is None


@pytest.mark.parametrize(
    "response",
    [httpx.Response(200, json={"usage": USAGE}), sse(chunk(choices=[], usage=USAGE), "[DONE]")],
    ids=["json", "stream"],
)
def test_total_tokens_is_the_usage_total(response: httpx.Response) -> None:
    assert total_tokens(response, 0) == 5


@pytest.mark.parametrize(
    "body",
    [{"choices": []}, {"usage": {"prompt_tokens": 3}}, {"usage": {"total_tokens": "5"}}],
    ids=["no-usage", "no-total", "total-not-an-int"],
)
def test_a_200_without_total_tokens_says_which_request_and_what_it_got(
    body: dict[str, Any],
) -> None:
    response = httpx.Response(200, json=body)
    with pytest.raises(AssertionError) as raised:
        total_tokens(response, 7)
    message = str(raised.value)
    assert message.startswith("request #7 got 200 without usage.total_tokens"), message
    assert response.text in message, message
