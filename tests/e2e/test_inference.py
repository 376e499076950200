"""Models answer through the gateway at their discovered URL, in OpenAI's shape.

Every test is a fresh lowest-tier user sending one request (two for the context-length tests,
the first a one-token reply that measures the prompt): while no budget is spent Limitador admits
a request, so even a reply of unbounded length stays clear of the tier's request and token
limits, whatever the manifests set.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from maas_e2e.auth import Bearer
from maas_e2e.model import Model
from maas_e2e.users import TokenFor

pytestmark = [pytest.mark.e2e, pytest.mark.inference]

MAX_TOKENS = 8
INCLUDE_USAGE = {"include_usage": True}
# The chat body MaaS's own docs send (a `prompt`, no `messages`, no `max_tokens`).
SEED_CHAT_BODY = {"prompt": "Not really understood prompt", "max_prompts": 40}
FINISH_REASONS = ("stop", "length", "tool_calls")
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture
def token(token_for: TokenFor, lowest_tier: str) -> Bearer:
    return token_for(lowest_tier)


def assert_usage(usage: object, max_completion: int | None = None) -> None:
    """Usage the gateway can count: whole numbers, total = prompt + completion, an answer of at
    least one token and at most the request's bound."""
    assert isinstance(usage, dict), f"usage missing or not an object: {usage!r}"
    prompt, completion, total = (
        usage.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens")
    )
    assert all(isinstance(v, int) for v in (prompt, completion, total)), f"usage: {usage}"
    assert total == prompt + completion, (
        f"usage.total_tokens: expected prompt + completion = {prompt + completion}, got {total}"
    )
    assert completion > 0, f"completion_tokens: expected an answer of at least 1, got {usage}"
    if max_completion is not None:
        assert completion <= max_completion, (
            f"completion_tokens {completion} above the request's bound {max_completion}"
        )


def assert_ok(resp: httpx.Response) -> dict[str, Any]:
    """A 200 with a JSON body; the body."""
    assert resp.status_code == 200, f"expected 200, got {resp.status_code}: {resp.text[:300]}"
    return resp.json()


def assert_chat_completion(resp: httpx.Response, model: Model) -> dict[str, Any]:
    """A 200 chat completion in OpenAI's shape with exactly one choice; the body, for more."""
    body = assert_ok(resp)
    assert body.get("object") == "chat.completion", f"object: {body.get('object')!r}"
    assert body.get("model") == model.name, f"model: expected {model.name}, got {body.get('model')}"
    assert str(body.get("id", "")).startswith("chatcmpl-"), f"id: {body.get('id')!r}"
    choices = body.get("choices")
    assert isinstance(choices, list), f"choices: {choices!r}"
    assert len(choices) == 1, f"expected one choice, got {len(choices)}: {choices}"
    message = choices[0].get("message", {})
    assert message.get("role") == "assistant", f"message: {message}"
    assert isinstance(message.get("content"), str), f"content: {message}"
    assert choices[0].get("finish_reason") in FINISH_REASONS, f"finish_reason: {choices[0]}"
    return body


def assert_reply_has_content(body: dict[str, Any]) -> None:
    """Completion tokens were spent on something the user sees: text or tool calls."""
    completion = body["usage"]["completion_tokens"]
    choice = body["choices"][0]
    message = choice.get("message") or {}
    text = message.get("content") if "message" in choice else choice.get("text")
    assert text or message.get("tool_calls"), (
        f"completion_tokens {completion} but the reply has no text and no tool call: {choice}"
    )


def complete(model: Model, token: Bearer, endpoint: str, max_tokens: int) -> httpx.Response:
    """One short request to the chat or the text completion endpoint."""
    send = model.chat if endpoint == "chat" else model.complete
    return send(token, max_tokens=max_tokens)


def assert_events_end_with_done(events: list[str]) -> list[dict[str, Any]]:
    """A stream of JSON chunks closed by `[DONE]`; the chunks."""
    assert events, "no SSE events"
    assert events[-1] == "[DONE]", f"last event: expected [DONE], got {events[-1][:100]!r}"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c.get("object") == "chat.completion.chunk" for c in chunks), "a non-chunk event"
    return chunks


def streamed_choices(model: Model, token: Bearer, **body: Any) -> list[dict[str, Any]]:
    """The choice of each chunk of a 200 streamed chat completion (usage chunks left out)."""
    stream = model.stream(token, **body)
    assert stream.status == 200, f"expected 200, got {stream.status}"
    assert stream.choices, f"expected role, content and finish chunks, got {stream.events}"
    return stream.choices


def test_chat_completion_returns_200_in_openai_shape(model: Model, token: Bearer) -> None:
    assert_chat_completion(model.chat(token, max_tokens=MAX_TOKENS), model)


def test_chat_completion_usage_is_consistent(model: Model, token: Bearer) -> None:
    assert_usage(assert_ok(model.chat(token, max_tokens=MAX_TOKENS)).get("usage"), MAX_TOKENS)


def test_text_completion_returns_200_in_openai_shape(model: Model, token: Bearer) -> None:
    body = assert_ok(model.complete(token, max_tokens=MAX_TOKENS))
    assert body.get("object") == "text_completion", f"object: {body.get('object')!r}"
    assert isinstance(body["choices"][0].get("text"), str), f"choices: {body['choices']}"
    assert_usage(body.get("usage"), MAX_TOKENS)


@pytest.mark.parametrize("endpoint", ["chat", "text"])
def test_reply_with_completion_tokens_has_content(
    model: Model, token: Bearer, endpoint: str
) -> None:
    body = assert_ok(complete(model, token, endpoint, MAX_TOKENS))
    assert_usage(body.get("usage"), MAX_TOKENS)
    assert_reply_has_content(body)


@pytest.mark.parametrize("endpoint", ["chat", "text", "streamed chat"])
def test_usage_counts_a_non_empty_prompt(model: Model, token: Bearer, endpoint: str) -> None:
    if endpoint == "streamed chat":
        stream = model.stream(token, max_tokens=1, stream_options=INCLUDE_USAGE)
        assert stream.status == 200, f"expected 200, got {stream.status}"
        usage = stream.usage
    else:
        usage = assert_ok(complete(model, token, endpoint, max_tokens=1)).get("usage")
    assert isinstance(usage, dict), f"usage missing or not an object: {usage!r}"
    prompt_tokens = usage.get("prompt_tokens")
    assert isinstance(prompt_tokens, int), f"usage.prompt_tokens: {usage}"
    assert prompt_tokens > 0, (
        f"usage.prompt_tokens: expected > 0 for a non-empty prompt, got {prompt_tokens} ({usage})"
    )


def test_streaming_ends_with_done_after_a_usage_chunk(model: Model, token: Bearer) -> None:
    stream = model.stream(token, max_tokens=MAX_TOKENS, stream_options=INCLUDE_USAGE)
    assert stream.status == 200, f"expected 200, got {stream.status}"
    chunks = assert_events_end_with_done(stream.events)
    usage_chunks = [c for c in chunks if c.get("choices") == []]
    assert len(usage_chunks) == 1, f"expected one usage chunk, got {len(usage_chunks)}"
    assert usage_chunks[0] == chunks[-1], "the usage chunk is not the last before [DONE]"
    assert_usage(usage_chunks[0].get("usage"), MAX_TOKENS)


def test_chat_stream_carries_role_content_and_finish(model: Model, token: Bearer) -> None:
    """A stream of nothing but `[DONE]` is well formed and tells the user nothing: the reply
    opens with the assistant role, carries text (or tool calls), and ends with one finish."""
    choices = streamed_choices(model, token, max_tokens=MAX_TOKENS)
    deltas = [c.get("delta") or {} for c in choices]
    assert deltas[0].get("role") == "assistant", f"first chunk: expected the role, got {choices[0]}"
    text = "".join(d.get("content") or "" for d in deltas)
    calls = [d["tool_calls"] for d in deltas if d.get("tool_calls")]
    assert text or calls, f"expected content (or tool call) chunks, got {choices}"
    finishes = [c.get("finish_reason") for c in choices if c.get("finish_reason") is not None]
    assert len(finishes) == 1, f"expected one finish_reason, got {finishes} in {choices}"
    last = choices[-1].get("finish_reason")
    assert last in FINISH_REASONS, f"last chunk: expected one of {FINISH_REASONS}, got {last!r}"


def test_a_stream_cut_at_its_limit_says_length_on_its_last_chunk(
    model: Model, token: Bearer
) -> None:
    """`ignore_eos` makes the model use its whole allowance: the reply is cut, and only the
    chunk with its last token says so."""
    choices = streamed_choices(model, token, max_tokens=MAX_TOKENS, ignore_eos=True)
    tokens = [c for c in choices if (c.get("delta") or {}).get("content")]
    assert len(tokens) == MAX_TOKENS, f"expected {MAX_TOKENS} token chunks, got {choices}"
    finishes = [c.get("finish_reason") for c in choices]
    expected = [None] * (len(choices) - 1) + ["length"]
    assert finishes == expected, (
        f"expected finish_reason length on the last chunk only, got {finishes}"
    )


def test_streaming_without_include_usage_has_no_usage_chunk(model: Model, token: Bearer) -> None:
    stream = model.stream(token, max_tokens=MAX_TOKENS)
    assert stream.status == 200, f"expected 200, got {stream.status}"
    chunks = assert_events_end_with_done(stream.events)
    assert not [c for c in chunks if c.get("choices") == []], "usage chunk without include_usage"


def test_chat_completion_without_max_tokens_is_served(model: Model, token: Bearer) -> None:
    """The body most clients send: no length bound at all; the model picks one."""
    body = assert_chat_completion(model.chat(token), model)
    assert_usage(body.get("usage"))
    assert_reply_has_content(body)


@pytest.mark.parametrize(
    "bounds",
    [{"max_completion_tokens": 1, "max_tokens": MAX_TOKENS}, {"max_completion_tokens": 1}],
    ids=["with a larger max_tokens", "alone"],
)
def test_max_completion_tokens_bounds_the_reply(
    model: Model, token: Bearer, bounds: dict[str, int]
) -> None:
    """`max_completion_tokens` supersedes `max_tokens`: a one-token allowance gives a one-token
    reply that says it was cut (`length`), whatever `max_tokens` allows."""
    body = assert_chat_completion(model.chat(token, **bounds), model)
    assert_usage(body.get("usage"), 1)
    finish = body["choices"][0].get("finish_reason")
    assert finish == "length", (
        f"finish_reason: expected length for a reply cut at max_completion_tokens=1, got {finish!r}"
    )


def test_tool_choice_required_is_answered_with_calls_to_the_tool(
    model: Model, token: Bearer
) -> None:
    """A chat that offers a tool and requires its use gets calls to it, not text: at least one
    `tool_calls` entry naming the tool with JSON arguments, and `finish_reason` `tool_calls`."""
    resp = model.chat(token, tools=[WEATHER_TOOL], tool_choice="required")
    choice = assert_chat_completion(resp, model)["choices"][0]
    calls = choice["message"].get("tool_calls")
    assert isinstance(calls, list), f"expected a tool_calls list, got {choice}"
    assert calls, f"expected at least one tool call for tool_choice required, got {choice}"
    for call in calls:
        function = call.get("function") or {}
        assert function.get("name") == "get_weather", f"expected a call to get_weather: {call}"
        arguments = function.get("arguments")
        assert isinstance(arguments, str), f"expected arguments as a JSON string: {call}"
        try:
            parsed = json.loads(arguments)
        except ValueError:
            parsed = None
        assert isinstance(parsed, dict), f"expected arguments to be a JSON object: {arguments!r}"
    finish = choice.get("finish_reason")
    assert finish == "tool_calls", f"finish_reason: expected tool_calls, got {finish!r}"


def test_openai_client_defaults_for_n_and_stop_are_served(model: Model, token: Bearer) -> None:
    """Clients fill in `n: 1` and `stop: null`; the answer is still one bounded choice."""
    body = assert_chat_completion(model.chat(token, max_tokens=MAX_TOKENS, n=1, stop=None), model)
    assert_usage(body.get("usage"), MAX_TOKENS)


def test_seed_chat_body_with_prompt_is_served(model: Model, token: Bearer) -> None:
    """MaaS's docs send `prompt` (no `messages`, no `max_tokens`) to the chat endpoint; the
    simulator answers it. It reads no prompt there, so `prompt_tokens` may be 0."""
    body = assert_chat_completion(model.chat(token, **SEED_CHAT_BODY), model)
    assert_usage(body.get("usage"))
    assert_reply_has_content(body)


def prompt_tokens_of(model: Model, token: Bearer) -> int:
    """What the model counts for the greeting, from the usage of a one-token reply."""
    return assert_ok(model.chat(token, max_tokens=1))["usage"]["prompt_tokens"]


def assert_bad_request(resp: httpx.Response, *words: str) -> None:
    """The model's own 400 reached the user: OpenAI's error shape, naming what was wrong."""
    assert resp.status_code == 400, f"expected 400, got {resp.status_code}: {resp.text[:300]}"
    error = resp.json().get("error")
    assert isinstance(error, dict), f"expected an OpenAI error object, got {resp.text[:300]}"
    message = error.get("message", "")
    missing = [w for w in words if w not in message]
    assert error.get("type") == "BadRequestError", f"expected a BadRequestError, got {error}"
    assert not missing, f"expected the message to name {missing}, got {error}"


def test_a_request_beyond_the_models_context_is_400(model: Model, token: Bearer) -> None:
    """Prompt plus allowance one token over the model's context length (`--max-model-len`)."""
    over = model.context_tokens - prompt_tokens_of(model, token) + 1
    resp = model.chat(token, max_tokens=over)
    assert_bad_request(resp, f"maximum context length is {model.context_tokens} tokens")


def test_a_request_filling_the_models_context_is_served(model: Model, token: Bearer) -> None:
    room = model.context_tokens - prompt_tokens_of(model, token)
    assert_usage(assert_chat_completion(model.chat(token, max_tokens=room), model)["usage"], room)


@pytest.mark.parametrize("bound", ["max_tokens", "max_completion_tokens"])
def test_an_allowance_below_one_token_is_400(model: Model, token: Bearer, bound: str) -> None:
    assert_bad_request(model.chat(token, **{bound: 0}), "positive")


def test_unknown_model_name_is_404(model: Model, token: Bearer) -> None:
    resp = model.chat(token, model=f"{model.name}-nope", max_tokens=1)
    assert resp.status_code == 404, f"expected 404, got {resp.status_code}: {resp.text[:300]}"
    error = resp.json().get("error", {})
    assert f"{model.name}-nope" in error.get("message", ""), f"error: {error}"
