"""Models answer through the gateway at their discovered URL, in OpenAI's shape."""

from __future__ import annotations

import json

import pytest
from tests.fixtures.identities import TokenFor
from tests.fixtures.models import ModelRef

from maas_e2e.api import MaasApi

pytestmark = [pytest.mark.e2e, pytest.mark.inference]

MESSAGES = [{"role": "user", "content": "Say something short."}]
MAX_TOKENS = 8


@pytest.fixture
def token(token_for: TokenFor, lowest_tier: str) -> str:
    return token_for(lowest_tier)


def assert_usage(usage: object, max_completion: int | None = None) -> None:
    assert isinstance(usage, dict), f"usage missing or not an object: {usage!r}"
    prompt, completion, total = (
        usage.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens")
    )
    assert all(isinstance(v, int) for v in (prompt, completion, total)), f"usage: {usage}"
    assert total == prompt + completion, (
        f"usage.total_tokens: expected prompt + completion = {prompt + completion}, got {total}"
    )
    if max_completion is not None:
        assert 0 < completion <= max_completion, (
            f"completion_tokens {completion} outside 1..max_tokens={max_completion}"
        )


def test_chat_completion_returns_200_in_openai_shape(
    api: MaasApi, model: ModelRef, token: str
) -> None:
    resp = api.chat(model.url, token, model=model.name, messages=MESSAGES, max_tokens=MAX_TOKENS)
    assert resp.status_code == 200, f"expected 200, got {resp.status_code}: {resp.text[:300]}"
    body = resp.json()
    assert body.get("object") == "chat.completion", f"object: {body.get('object')!r}"
    assert body.get("model") == model.name, f"model: expected {model.name}, got {body.get('model')}"
    assert str(body.get("id", "")).startswith("chatcmpl-"), f"id: {body.get('id')!r}"
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant", f"message: {choice['message']}"
    assert isinstance(choice["message"]["content"], str), f"content: {choice['message']}"
    assert choice.get("finish_reason") in ("stop", "length"), f"finish_reason: {choice}"


def test_chat_completion_usage_is_consistent(api: MaasApi, model: ModelRef, token: str) -> None:
    resp = api.chat(model.url, token, model=model.name, messages=MESSAGES, max_tokens=MAX_TOKENS)
    assert resp.status_code == 200, f"expected 200, got {resp.status_code}"
    assert_usage(resp.json().get("usage"), MAX_TOKENS)


def test_text_completion_returns_200_in_openai_shape(
    api: MaasApi, model: ModelRef, token: str
) -> None:
    resp = api.completion(model.url, token, model=model.name, prompt="Once", max_tokens=MAX_TOKENS)
    assert resp.status_code == 200, f"expected 200, got {resp.status_code}: {resp.text[:300]}"
    body = resp.json()
    assert body.get("object") == "text_completion", f"object: {body.get('object')!r}"
    assert isinstance(body["choices"][0].get("text"), str), f"choices: {body['choices']}"
    assert_usage(body.get("usage"), MAX_TOKENS)


def test_streaming_ends_with_done_after_a_usage_chunk(
    api: MaasApi, model: ModelRef, token: str
) -> None:
    status, events = api.stream_chat(
        model.url,
        token,
        model=model.name,
        messages=MESSAGES,
        max_tokens=MAX_TOKENS,
        stream_options={"include_usage": True},
    )
    assert status == 200, f"expected 200, got {status}"
    assert events, "no SSE events"
    assert events[-1] == "[DONE]", f"last event: expected [DONE], got {events[-1][:100]!r}"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c.get("object") == "chat.completion.chunk" for c in chunks), "a non-chunk event"
    usage_chunks = [c for c in chunks if c.get("choices") == []]
    assert len(usage_chunks) == 1, f"expected one usage chunk, got {len(usage_chunks)}"
    assert usage_chunks[0] is chunks[-1], "the usage chunk is not the last before [DONE]"
    assert_usage(usage_chunks[0].get("usage"), MAX_TOKENS)
    finishes = [c["choices"][0].get("finish_reason") for c in chunks if c.get("choices")]
    assert finishes[-1] in ("stop", "length"), f"last finish_reason: {finishes[-1]!r}"


def test_streaming_without_include_usage_has_no_usage_chunk(
    api: MaasApi, model: ModelRef, token: str
) -> None:
    status, events = api.stream_chat(
        model.url, token, model=model.name, messages=MESSAGES, max_tokens=MAX_TOKENS
    )
    assert status == 200, f"expected 200, got {status}"
    assert events[-1] == "[DONE]", f"last event: expected [DONE], got {events[-1][:100]!r}"
    chunks = [json.loads(e) for e in events[:-1]]
    assert not [c for c in chunks if c.get("choices") == []], "usage chunk without include_usage"


def test_unknown_model_name_is_404(api: MaasApi, model: ModelRef, token: str) -> None:
    resp = api.chat(model.url, token, model=f"{model.name}-nope", messages=MESSAGES, max_tokens=1)
    assert resp.status_code == 404, f"expected 404, got {resp.status_code}: {resp.text[:300]}"
    error = resp.json().get("error", {})
    assert f"{model.name}-nope" in error.get("message", ""), f"error: {error}"
