"""The simulated model server, exercised over real HTTP as the gateway would call it."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from maas_local.servers import Component, ServerGroup, bind, serve_in_thread
from maas_local.simulator import SimulatorConfig, build_app

MODEL = "facebook-opt-125m-simulated"
CHAT = "/v1/chat/completions"
TEXT = "/v1/completions"
ID_HEADER = "x-e2e-request-id"
TTFT_MS = 150
ITL_MS = 20


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    """Three simulators on loopback: the cluster's random mode, echo mode, and a slow one."""
    configs = {
        "random": SimulatorConfig(model=MODEL),
        "echo": SimulatorConfig(model=MODEL, mode="echo"),
        "slow": SimulatorConfig(
            model=MODEL, mode="echo", time_to_first_token_ms=TTFT_MS, inter_token_latency_ms=ITL_MS
        ),
    }
    group = ServerGroup([Component(name, bind(0), build_app(c)) for name, c in configs.items()])
    with serve_in_thread(group) as started:
        yield {c.name: c.url for c in started.components}


@pytest.fixture(scope="module")
def sim(servers: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=servers["random"], timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def echo(servers: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=servers["echo"], timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def slow(servers: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=servers["slow"], timeout=10) as client:
        yield client


def chat_body(text: str = "Hello!", **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": text}], **extra}


def text_body(prompt: Any = "Hello!", **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "prompt": prompt, **extra}


def body_for(path: str, text: str = "Hello!", **extra: Any) -> dict[str, Any]:
    return chat_body(text, **extra) if path == CHAT else text_body(text, **extra)


def ok_json(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, f"expected 200, got {response.status_code}: {response.text}"
    return response.json()


def stream_events(response: httpx.Response) -> tuple[list[dict[str, Any]], str]:
    """The JSON chunks of an SSE body and its final event, checking the ``data:`` framing."""
    assert response.status_code == 200, f"expected 200, got {response.status_code}: {response.text}"
    events = response.text.split("\n\n")
    assert events[-1] == "", f"expected the body to end with a blank line, got {response.text!r}"
    assert all(e.startswith("data: ") for e in events[:-1]), f"expected data: events, got {events}"
    payloads = [e.removeprefix("data: ") for e in events[:-1]]
    return [json.loads(p) for p in payloads[:-1]], payloads[-1]


def success_count(client: httpx.Client) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(f'vllm:request_success_total{{model_name="{MODEL}"}} '):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("expected a vllm:request_success_total sample for the model")


def assert_bad_request(response: httpx.Response) -> None:
    assert response.status_code == 400, f"expected 400, got {response.status_code}: {response.text}"
    error = response.json()["error"]
    expected = {"type": "BadRequestError", "param": None, "code": 400}
    actual = {key: error.get(key) for key in expected}
    assert actual == expected, f"expected error fields {expected}, got {error}"
    assert isinstance(error.get("message"), str), f"expected a message string, got {error}"


# --- response shape ---------------------------------------------------------------------------


def test_chat_completion_has_openai_shape(sim: httpx.Client) -> None:
    body = ok_json(sim.post(CHAT, json=chat_body()))
    assert body["id"].startswith("chatcmpl-"), f"expected a chatcmpl- id, got {body['id']!r}"
    uuid.UUID(body["id"].removeprefix("chatcmpl-"))
    shape = (body["object"], body["model"], type(body["created"]), len(body["choices"]))
    assert shape == ("chat.completion", MODEL, int, 1), f"expected chat shape, got {shape}"
    choice = body["choices"][0]
    assert choice["index"] == 0, f"expected index 0, got {choice['index']}"
    assert choice["finish_reason"] in ("stop", "length"), f"expected stop/length, got {choice}"
    message = choice["message"]
    assert message["role"] == "assistant", f"expected role assistant, got {message}"
    assert isinstance(message["content"], str), f"expected string content, got {message}"
    assert message["content"], f"expected non-empty content, got {message}"


def test_text_completion_has_openai_shape(sim: httpx.Client) -> None:
    body = ok_json(sim.post(TEXT, json=text_body()))
    # v0.5.1 gives text completions the chat prefix too.
    assert body["id"].startswith("chatcmpl-"), f"expected a chatcmpl- id, got {body['id']!r}"
    uuid.UUID(body["id"].removeprefix("chatcmpl-"))
    shape = (body["object"], body["model"], type(body["created"]), len(body["choices"]))
    assert shape == ("text_completion", MODEL, int, 1), f"expected text shape, got {shape}"
    choice = body["choices"][0]
    assert isinstance(choice["text"], str), f"expected string text, got {choice}"
    assert choice["text"], f"expected non-empty text, got {choice}"
    assert "message" not in choice, f"expected no message in a text choice, got {choice}"


@pytest.mark.parametrize("path", [CHAT, TEXT])
def test_usage_total_is_prompt_plus_completion(sim: httpx.Client, path: str) -> None:
    usage = ok_json(sim.post(path, json=body_for(path)))["usage"]
    expected = usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["total_tokens"] == expected, f"expected total {expected}, got {usage}"


@pytest.mark.parametrize("path", [CHAT, TEXT])
def test_completion_tokens_count_the_answer(sim: httpx.Client, path: str) -> None:
    body = ok_json(sim.post(path, json=body_for(path, max_tokens=1)))
    usage, choice = body["usage"], body["choices"][0]
    text = choice["message"]["content"] if path == CHAT else choice["text"]
    assert usage["completion_tokens"] == 1, f"expected 1 completion token, got {usage}"
    assert len(text.split()) == 1, f"expected a one-token answer, got {text!r}"


def test_chat_prompt_tokens_count_every_message(sim: httpx.Client) -> None:
    # v0.5.1 joins every message's text followed by a space, whatever its role, and counts that.
    messages = [
        {"role": "system", "content": "Hello there, model!"},  # Hello there , model !
        {"role": "user", "content": "How are you?"},  # How are you ?
        {"role": "assistant", "content": None},
    ]
    body = ok_json(sim.post(CHAT, json={"model": MODEL, "messages": messages}))
    assert body["usage"]["prompt_tokens"] == 9, f"expected 9 prompt tokens, got {body['usage']}"


def test_text_prompt_tokens_count_the_string(sim: httpx.Client) -> None:
    body = ok_json(sim.post(TEXT, json=text_body("one two three")))
    assert body["usage"]["prompt_tokens"] == 3, f"expected 3 prompt tokens, got {body['usage']}"


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        (CHAT, "Say 'hello' in one word.", 6),  # an apostrophe is no token
        (TEXT, "Say 'hello' in one word.", 6),
        (TEXT, "It's 5 o'clock — time for tea!", 9),
        (TEXT, "héllo wörld 日本 x_y _z a-b", 10),  # ASCII words only; "_" alone
        (TEXT, "e.g. U.S.A. 3.14 1,000", 16),
        (TEXT, '{"a": [1, 2.5, true]}', 15),
    ],
)
def test_prompt_tokens_are_counted_as_v0_5_1_counts_them(
    sim: httpx.Client, path: str, text: str, expected: int
) -> None:
    # The figures are v0.5.1's own usage.prompt_tokens for these prompts.
    body = ok_json(sim.post(path, json=body_for(path, text=text, max_tokens=1)))
    actual = body["usage"]["prompt_tokens"]
    assert actual == expected, f"expected {expected} prompt tokens for {text!r}, got {actual}"


# --- lengths and limits -----------------------------------------------------------------------


def test_random_length_without_max_stays_within_1_to_128(sim: httpx.Client) -> None:
    lengths = [
        ok_json(sim.post(CHAT, json=chat_body()))["usage"]["completion_tokens"] for _ in range(30)
    ]
    assert all(1 <= n <= 128 for n in lengths), f"expected lengths in 1..128, got {lengths}"


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_random_length_respects_max_and_says_length_only_at_it(
    sim: httpx.Client, field: str
) -> None:
    seen = []
    for _ in range(30):
        body = ok_json(sim.post(CHAT, json=chat_body(**{field: 3})))
        seen.append((body["usage"]["completion_tokens"], body["choices"][0]["finish_reason"]))
    expected = [(n, "length" if n == 3 else "stop") for n, _ in seen]
    assert seen == expected, f"expected lengths 1..3 ending in length only at 3, got {seen}"
    assert all(1 <= n <= 3 for n, _ in seen), f"expected lengths in 1..3, got {seen}"


def test_max_completion_tokens_wins_over_max_tokens(sim: httpx.Client) -> None:
    # max_tokens alone would overflow the 1024-token context and be refused.
    body = ok_json(sim.post(CHAT, json=chat_body(max_tokens=5000, max_completion_tokens=1)))
    usage = body["usage"]
    assert usage["completion_tokens"] == 1, f"expected 1 completion token, got {usage}"


@pytest.mark.parametrize("value", [0, -1])
@pytest.mark.parametrize(
    ("path", "field"),
    [(CHAT, "max_tokens"), (CHAT, "max_completion_tokens"), (TEXT, "max_tokens")],
)
def test_non_positive_max_is_rejected(sim: httpx.Client, path: str, field: str, value: int) -> None:
    assert_bad_request(sim.post(path, json=body_for(path, **{field: value})))


@pytest.mark.parametrize("value", [0, 1, "x"])
def test_text_completion_ignores_max_completion_tokens(sim: httpx.Client, value: Any) -> None:
    # v0.5.1's /v1/completions request has no such field: any value is dropped while decoding.
    body = ok_json(sim.post(TEXT, json=text_body(max_completion_tokens=value, max_tokens=128)))
    assert body["usage"]["completion_tokens"] >= 1, f"expected an answer, got {body['usage']}"


@pytest.mark.parametrize("extra", [{"n": 3}, {"n": 1, "stop": None}, {"stop": ["."]}])
def test_n_and_stop_change_nothing(sim: httpx.Client, extra: dict[str, Any]) -> None:
    # v0.5.1 reads neither: one choice, and the random text is never cut at a stop string.
    body = ok_json(sim.post(CHAT, json=chat_body(max_tokens=1, **extra)))
    actual = (len(body["choices"]), body["usage"]["completion_tokens"])
    assert actual == (1, 1), f"expected one choice of one token, got {actual}: {body}"


@pytest.mark.parametrize(
    ("words", "max_tokens", "requested"), [(1000, 100, 1100), (1025, None, 1025)]
)
def test_context_overflow_is_rejected(
    sim: httpx.Client, words: int, max_tokens: int | None, requested: int
) -> None:
    response = sim.post(TEXT, json=text_body("word " * words, max_tokens=max_tokens))
    assert_bad_request(response)
    message = response.json()["error"]["message"]
    expected = (
        f"This model's maximum context length is 1024 tokens. However, you requested "
        f"{requested} tokens ({words} in the messages, {max_tokens or 0} in the completion)."
    )
    assert message.startswith(expected), f"expected {expected!r}..., got {message!r}"


def test_request_filling_the_context_exactly_is_served(sim: httpx.Client) -> None:
    body = ok_json(sim.post(CHAT, json=chat_body("word " * 1000, max_tokens=24)))
    assert body["usage"]["prompt_tokens"] == 1000, f"expected 1000, got {body['usage']}"


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [CHAT, TEXT])
def test_unknown_model_is_404_not_found(sim: httpx.Client, path: str) -> None:
    response = sim.post(path, json={**body_for(path), "model": "gpt-x"})
    expected = {
        "error": {
            "message": "The model `gpt-x` does not exist.",
            "type": "NotFoundError",
            "param": None,
            "code": 404,
        }
    }
    actual = (response.status_code, response.json())
    assert actual == (404, expected), f"expected 404 {expected}, got {actual}"


@pytest.mark.parametrize("path", [CHAT, TEXT])
@pytest.mark.parametrize("body", [b"{}", b"null"], ids=["no model", "null body"])
def test_missing_model_is_404_for_the_empty_name(sim: httpx.Client, path: str, body: bytes) -> None:
    # Go decodes null into an empty request: an empty model name, which no model has.
    response = sim.post(path, content=body)
    error = response.json()["error"]
    actual = (response.status_code, error["message"], error["type"])
    expected = (404, "The model `` does not exist.", "NotFoundError")
    assert actual == expected, f"expected {expected}, got {actual}"


def go_type_error(kind: str, where: str, go_type: str) -> str:
    into = f"Go struct field {where}" if "." in where else "Go value"
    return f"json: cannot unmarshal {kind} into {into} of type {go_type}"


CHAT_FIELD = "ChatCompletionRequest"
BASE_FIELD = f"{CHAT_FIELD}.baseCompletionRequest"
TEXT_FIELD = "TextCompletionRequest"
# v0.5.1's own texts for these bodies, measured (after "Failed to read and parse request body, ").
UNDECODABLE = {
    "array": (CHAT, b"[]", go_type_error("array", "", f"openaiserverapi.{CHAT_FIELD}")),
    "number": (CHAT, b"42", go_type_error("number", "", f"openaiserverapi.{CHAT_FIELD}")),
    "model not a string": (
        CHAT,
        {"model": 5},
        go_type_error("number", f"{BASE_FIELD}.model", "string"),
    ),
    "max_tokens string": (
        CHAT,
        chat_body(max_tokens="x"),
        go_type_error("string", f"{CHAT_FIELD}.max_tokens", "int64"),
    ),
    "max_tokens bool": (
        CHAT,
        chat_body(max_tokens=True),
        go_type_error("bool", f"{CHAT_FIELD}.max_tokens", "int64"),
    ),
    "max_tokens float": (
        CHAT,
        chat_body(max_tokens=1.5),
        go_type_error("number 1.5", f"{CHAT_FIELD}.max_tokens", "int64"),
    ),
    "max_tokens beyond int64": (
        CHAT,
        b'{"max_tokens": 99999999999999999999}',
        go_type_error("number 99999999999999999999", f"{CHAT_FIELD}.max_tokens", "int64"),
    ),
    "max_completion_tokens string": (
        CHAT,
        chat_body(max_completion_tokens="3"),
        go_type_error("string", f"{CHAT_FIELD}.max_completion_tokens", "int64"),
    ),
    "messages not a list": (
        CHAT,
        {"model": MODEL, "messages": "hi"},
        go_type_error("string", f"{CHAT_FIELD}.messages", "[]openaiserverapi.Message"),
    ),
    "message not an object": (
        CHAT,
        {"model": MODEL, "messages": [1]},
        go_type_error("number", f"{CHAT_FIELD}.messages", "openaiserverapi.Message"),
    ),
    "role not a string": (
        CHAT,
        {"model": MODEL, "messages": [{"role": 5, "content": "hi"}]},
        go_type_error("number", "Message.messages.role", "string"),
    ),
    "content a number": (
        CHAT,
        {"model": MODEL, "messages": [{"role": "user", "content": 5}]},
        "content format not supported",
    ),
    "content parts bad": (
        CHAT,
        {"model": MODEL, "messages": [{"role": "user", "content": [1]}]},
        "content format not supported",
    ),
    "stream not bool": (
        CHAT,
        chat_body(stream="yes"),
        go_type_error("string", f"{BASE_FIELD}.stream", "bool"),
    ),
    "stream_options not object": (
        CHAT,
        chat_body(stream=True, stream_options="x"),
        go_type_error("string", f"{BASE_FIELD}.stream_options", "openaiserverapi.StreamOptions"),
    ),
    "include_usage not bool": (
        CHAT,
        chat_body(stream=True, stream_options={"include_usage": "y"}),
        go_type_error(
            "string", "StreamOptions.baseCompletionRequest.stream_options.include_usage", "bool"
        ),
    ),
    "the first type error wins": (
        CHAT,
        {"model": 5, "max_tokens": "x"},
        go_type_error("number", f"{BASE_FIELD}.model", "string"),
    ),
    "a content error ends decoding": (
        CHAT,
        {"model": 5, "messages": [{"content": 5}]},
        "content format not supported",
    ),
    "text array": (TEXT, b"[]", go_type_error("array", "", f"openaiserverapi.{TEXT_FIELD}")),
    "prompt a number": (
        TEXT,
        text_body(5),
        go_type_error("number", f"{TEXT_FIELD}.prompt", "string"),
    ),
    "prompt a list": (
        TEXT,
        text_body(["one two", "three"]),
        go_type_error("array", f"{TEXT_FIELD}.prompt", "string"),
    ),
    "prompt an object": (
        TEXT,
        text_body({"a": 1}),
        go_type_error("object", f"{TEXT_FIELD}.prompt", "string"),
    ),
    "text max_tokens 1.0": (
        TEXT,
        text_body(max_tokens=1.0),
        go_type_error("number 1.0", f"{TEXT_FIELD}.max_tokens", "int64"),
    ),
    "text stream not bool": (
        TEXT,
        text_body(stream="x"),
        go_type_error("string", f"{TEXT_FIELD}.baseCompletionRequest.stream", "bool"),
    ),
}


def assert_undecodable(response: httpx.Response, error: str = "") -> None:
    """v0.5.1's refusal of a body it cannot decode: fasthttp's plain-text 400."""
    expected = (400, "text/plain; charset=utf-8", f"Failed to read and parse request body, {error}")
    actual = (response.status_code, response.headers["content-type"], response.text)
    if not error:  # only the prefix is v0.5.1's
        actual = (*actual[:2], actual[2][: len(expected[2])])
    assert actual == expected, f"expected {expected}, got {actual}"


@pytest.mark.parametrize(("path", "body", "error"), UNDECODABLE.values(), ids=UNDECODABLE.keys())
def test_undecodable_body_is_go_s_plain_text_400(
    sim: httpx.Client, path: str, body: Any, error: str
) -> None:
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    assert_undecodable(sim.post(path, **kwargs), error)


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b"[" * 100_000 + b"]" * 100_000, b'{"model": NaN}'],
    ids=["not json", "empty", "deeply nested", "NaN"],
)
def test_malformed_json_is_plain_text_400_not_500(sim: httpx.Client, body: bytes) -> None:
    # The syntax error's own words are Python's, not Go's scanner's.
    assert_undecodable(sim.post(CHAT, content=body))


def test_invalid_utf8_is_read_as_replacement_characters(sim: httpx.Client) -> None:
    response = sim.post(CHAT, content=b'{"model": "\xff"}')
    message = response.json()["error"]["message"]
    expected = (404, "The model `\ufffd` does not exist.")
    assert (response.status_code, message) == expected, f"expected {expected}, got {message}"


def test_field_names_match_case_insensitively(sim: httpx.Client) -> None:
    # Go's decoder sets max_tokens from Max_Tokens: 0 is then refused as not positive.
    assert_bad_request(sim.post(CHAT, content=f'{{"MODEL": "{MODEL}", "Max_Tokens": 0}}'.encode()))


def test_a_later_null_resets_a_bound(sim: httpx.Client) -> None:
    body = f'{{"model": "{MODEL}", "max_tokens": 0, "max_tokens": null}}'.encode()
    ok_json(sim.post(CHAT, content=body))


def test_seed_chat_body_without_messages_is_served(sim: httpx.Client) -> None:
    # The body the seed's curl loop sends to /v1/chat/completions.
    seed = {"model": MODEL, "prompt": "Not really understood prompt", "max_prompts": 40}
    body = ok_json(sim.post(CHAT, json=seed))
    assert body["usage"]["prompt_tokens"] == 0, f"expected 0 prompt tokens, got {body['usage']}"
    assert body["usage"]["completion_tokens"] >= 1, f"expected an answer, got {body['usage']}"


def test_unknown_fields_are_ignored(sim: httpx.Client) -> None:
    body = chat_body(temperature=0.2, user="someone", extra={"nested": [1, 2]}, n=None)
    ok_json(sim.post(CHAT, json=body))


def test_content_parts_count_their_text(sim: httpx.Client) -> None:
    parts = [{"type": "text", "text": "one two"}, {"type": "image_url", "image_url": {}}]
    body = {"model": MODEL, "messages": [{"role": "user", "content": parts}]}
    usage = ok_json(sim.post(CHAT, json=body))["usage"]
    assert usage["prompt_tokens"] == 2, f"expected 2 prompt tokens, got {usage}"


# --- streaming --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kind"), [(CHAT, "chat.completion.chunk"), (TEXT, "text_completion")]
)
def test_stream_chunks_share_object_created_and_model_each_with_its_own_id(
    sim: httpx.Client, path: str, kind: str
) -> None:
    response = sim.post(path, json=body_for(path, stream=True))
    media = response.headers["content-type"].split(";")[0]
    assert media == "text/event-stream", f"expected text/event-stream, got {media}"
    chunks, _ = stream_events(response)
    first = chunks[0]
    assert isinstance(first["created"], int), f"expected an int created, got {first['created']!r}"
    headers = {(c["object"], c["created"], c["model"]) for c in chunks}
    expected = {(kind, first["created"], MODEL)}
    assert headers == expected, f"expected every chunk to carry {expected}, got {headers}"
    # v0.5.1 draws a new chatcmpl- id for every chunk, on both endpoints.
    ids = [c["id"] for c in chunks]
    assert all(i.startswith("chatcmpl-") for i in ids), f"expected chatcmpl- ids, got {ids}"
    assert len(set(ids)) == len(ids), f"expected a fresh id per chunk, got {ids}"


def test_chat_stream_opens_with_role_then_tokens_then_finish_then_done(sim: httpx.Client) -> None:
    chunks, last = stream_events(sim.post(CHAT, json=chat_body(stream=True)))
    choices = [c["choices"][0] for c in chunks]
    opening, tokens, closing = choices[0], choices[1:-1], choices[-1]
    assert opening["delta"] == {"role": "assistant", "content": ""}, f"got {opening}"
    assert tokens, f"expected at least one token chunk, got {chunks}"
    assert all(set(c["delta"]) == {"content"} and c["finish_reason"] is None for c in tokens), (
        f"expected content-only deltas without finish_reason, got {tokens}"
    )
    assert closing["delta"] == {"content": ""}, f"expected an empty final delta, got {closing}"
    assert closing["finish_reason"] == "stop", f"expected stop without a max, got {closing}"
    assert last == "[DONE]", f"expected data: [DONE] last, got {last!r}"


@pytest.mark.parametrize("path", [CHAT, TEXT])
def test_stream_cut_at_the_max_says_length_on_its_last_token(sim: httpx.Client, path: str) -> None:
    chunks, last = stream_events(sim.post(path, json=body_for(path, stream=True, max_tokens=1)))
    choices = [c["choices"][0] for c in chunks][1 if path == CHAT else 0 :]
    text = choices[0]["delta"]["content"] if path == CHAT else choices[0]["text"]
    actual = (len(choices), bool(text), choices[0]["finish_reason"])
    assert actual == (1, True, "length"), (
        f"expected one token chunk carrying finish_reason length, got {choices}"
    )
    assert last == "[DONE]", f"expected data: [DONE] last, got {last!r}"


@pytest.mark.parametrize("path", [CHAT, TEXT])
def test_ignore_eos_answers_the_whole_allowance_cut(sim: httpx.Client, path: str) -> None:
    for _ in range(5):
        body = sim.post(path, json=body_for(path, max_tokens=6, ignore_eos=True)).json()
        actual = (body["usage"]["completion_tokens"], body["choices"][0]["finish_reason"])
        assert actual == (6, "length"), f"expected 6 tokens cut at length, got {actual}"


def test_ignore_eos_without_a_max_is_400(sim: httpx.Client) -> None:
    resp = sim.post(CHAT, json=chat_body(ignore_eos=True))
    assert resp.status_code == 400, f"expected 400, got {resp.status_code}: {resp.text}"
    message = resp.json()["error"]["message"]
    assert message == "Ignore_eos is true but max_completion_tokens (or max_tokens) is not set"


def test_text_stream_carries_text_then_finish_then_done(sim: httpx.Client) -> None:
    chunks, last = stream_events(sim.post(TEXT, json=text_body(stream=True)))
    choices = [c["choices"][0] for c in chunks]
    assert all(c["text"] and c["finish_reason"] is None for c in choices[:-1]), f"got {choices}"
    closing = choices[-1]
    assert closing["text"] == "", f"expected no text with the finish, got {closing}"
    assert closing["finish_reason"] == "stop", f"expected stop without a max, got {closing}"
    assert last == "[DONE]", f"expected data: [DONE] last, got {last!r}"


@pytest.mark.parametrize("options", [None, {}, {"include_usage": False}])
@pytest.mark.parametrize("path", [CHAT, TEXT])
def test_stream_has_no_usage_unless_asked(sim: httpx.Client, path: str, options: Any) -> None:
    chunks, _ = stream_events(
        sim.post(path, json=body_for(path, stream=True, stream_options=options))
    )
    with_usage = [c for c in chunks if c["usage"] is not None or not c["choices"]]
    assert with_usage == [], f"expected no usage chunk, got {with_usage}"


@pytest.mark.parametrize("path", [CHAT, TEXT])
def test_stream_ends_with_usage_chunk_when_asked(sim: httpx.Client, path: str) -> None:
    body = body_for(path, stream=True, stream_options={"include_usage": True})
    chunks, last = stream_events(sim.post(path, json=body))
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == [], (
        f"expected choices [] in the usage chunk, got {usage_chunk}"
    )
    usage = usage_chunk["usage"]
    token_chunks = chunks[1 if path == CHAT else 0 : -2]  # after the role chunk, before finish
    expected = {
        "prompt_tokens": 2,  # Hello !
        "completion_tokens": len(token_chunks),
        "total_tokens": 2 + len(token_chunks),
    }
    assert usage == expected, f"expected {expected}, got {usage}"
    assert last == "[DONE]", f"expected data: [DONE] after the usage chunk, got {last!r}"


# --- echo mode --------------------------------------------------------------------------------


def test_echo_returns_the_last_user_message(echo: httpx.Client) -> None:
    messages = [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "an answer"},
        {"role": "user", "content": "Second question, please?"},
        {"role": "assistant", "content": "trailing"},
    ]
    body = ok_json(echo.post(CHAT, json={"model": MODEL, "messages": messages}))
    content, reason = body["choices"][0]["message"]["content"], body["choices"][0]["finish_reason"]
    expected = ("Second question, please?", "stop")
    assert (content, reason) == expected, f"expected {expected}, got {(content, reason)}"
    assert body["usage"]["completion_tokens"] == 5, f"expected 5 tokens, got {body['usage']}"


def test_echo_returns_the_prompt_for_completions(echo: httpx.Client) -> None:
    body = ok_json(echo.post(TEXT, json=text_body("Echo me back.")))
    actual = (body["choices"][0]["text"], body["usage"]["completion_tokens"])
    assert actual == ("Echo me back.", 4), f"expected ('Echo me back.', 4), got {actual}"


def test_echo_without_user_message_is_empty(echo: httpx.Client) -> None:
    seed = {"model": MODEL, "prompt": "Not really understood prompt", "max_prompts": 40}
    body = ok_json(echo.post(CHAT, json=seed))
    actual = (body["choices"][0]["message"]["content"], body["usage"]["completion_tokens"])
    assert actual == ("", 0), f"expected ('', 0), got {actual}"


def test_echo_stream_of_an_empty_reply_has_only_usage_and_done(echo: httpx.Client) -> None:
    seed = {"model": MODEL, "prompt": "Not really understood prompt", "max_prompts": 40}
    body = {**seed, "stream": True, "stream_options": {"include_usage": True}}
    chunks, last = stream_events(echo.post(CHAT, json=body))
    actual = ([c["choices"] for c in chunks], last)
    assert actual == ([[]], "[DONE]"), f"expected only the usage chunk and [DONE], got {actual}"


def test_echo_is_cut_at_the_max(echo: httpx.Client) -> None:
    body = ok_json(echo.post(TEXT, json=text_body("one two three four", max_tokens=2)))
    choice = body["choices"][0]
    actual = (choice["text"], choice["finish_reason"], body["usage"]["completion_tokens"])
    # v0.5.1 joins the kept tokens ("one ", "two ") with a space.
    expected = ("one  two ", "length", 2)
    assert actual == expected, f"expected {expected}, got {actual}"


def test_echo_leaves_out_what_no_token_covers(echo: httpx.Client) -> None:
    body = ok_json(echo.post(CHAT, json=chat_body("  Say 'hello' in one word.")))
    content = body["choices"][0]["message"]["content"]
    assert content == "Say helloin one word.", f"expected v0.5.1's echo, got {content!r}"


def test_echo_stream_concatenates_to_the_message(echo: httpx.Client) -> None:
    chunks, _ = stream_events(echo.post(CHAT, json=chat_body("Stream, me back!", stream=True)))
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "Stream, me back!", f"expected 'Stream, me back!', got {text!r}"


# --- latency ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_configured_latency_delays_the_answer(slow: httpx.Client, stream: bool) -> None:
    started = time.monotonic()
    response = slow.post(CHAT, json=chat_body("one two three", stream=stream))
    elapsed = time.monotonic() - started
    assert response.status_code == 200, f"expected 200, got {response.status_code}"
    minimum = (TTFT_MS + 2 * ITL_MS) / 1000
    assert elapsed >= minimum, f"expected at least {minimum}s, got {elapsed:.3f}s"


# --- other endpoints --------------------------------------------------------------------------


def test_models_lists_the_served_model(sim: httpx.Client) -> None:
    body = ok_json(sim.get("/v1/models"))
    assert body["object"] == "list", f"expected a list, got {body}"
    assert len(body["data"]) == 1, f"expected one model, got {body}"
    model = body["data"][0]
    assert isinstance(model.pop("created"), int), f"expected an int created, got {body}"
    expected = {"id": MODEL, "object": "model", "owned_by": "vllm", "root": MODEL, "parent": None}
    assert model == expected, f"expected {expected}, got {model}"


@pytest.mark.parametrize("path", ["/health", "/ready"])
def test_probes_answer_empty_json(sim: httpx.Client, path: str) -> None:
    response = sim.get(path)
    actual = (response.status_code, response.json())
    assert actual == (200, {}), f"expected (200, {{}}), got {actual}"


def test_metrics_use_the_simulators_names(sim: httpx.Client) -> None:
    response = sim.get("/metrics")
    media = response.headers["content-type"].split(";")[0]
    assert (response.status_code, media) == (200, "text/plain"), (
        f"got {response.status_code} {media}"
    )
    label = f'{{model_name="{MODEL}"}}'
    samples = {line.split(" ")[0] for line in response.text.splitlines() if line[:1] != "#"}
    expected = {
        f"vllm:num_requests_running{label}",
        f"vllm:num_requests_waiting{label}",
        f"vllm:gpu_cache_usage_perc{label}",
        f"vllm:request_success_total{label}",
    }
    assert samples == expected, f"expected samples {expected}, got {samples}"


def test_idle_server_reports_no_running_requests(sim: httpx.Client) -> None:
    # A finished stream, plain answer and refusal must all have left the running gauge.
    stream_events(sim.post(CHAT, json=chat_body(stream=True)))
    ok_json(sim.post(TEXT, json=text_body()))
    sim.post(CHAT, json=chat_body(max_tokens=0))
    lines = sim.get("/metrics").text.splitlines()
    line = next(x for x in lines if x.startswith("vllm:num_requests_running{"))
    assert line.endswith(" 0"), f"expected 0 running requests, got {line!r}"


def test_success_counter_counts_only_answered_requests(sim: httpx.Client) -> None:
    before = success_count(sim)
    ok_json(sim.post(CHAT, json=chat_body()))
    stream_events(sim.post(TEXT, json=text_body(stream=True)))
    sim.post(CHAT, json={**chat_body(), "model": "other"})
    sim.post(CHAT, json=chat_body(max_tokens=0))
    after = success_count(sim)
    assert after - before == 2, f"expected the counter to grow by 2, got {before} -> {after}"


def test_served_records_every_inference_request_and_its_id(sim: httpx.Client) -> None:
    before = sim.get("/_local/served").json()["count"]
    ids = [f"req-{uuid.uuid4()}" for _ in range(3)]
    sim.post(CHAT, json=chat_body(), headers={ID_HEADER: ids[0]})
    sim.post(TEXT, json={**text_body(), "model": "other"}, headers={ID_HEADER: ids[1]})
    sim.post(CHAT, content=b"not json", headers={ID_HEADER: ids[2]})
    sim.post(CHAT, json=chat_body())  # no id header: counted, not listed
    sim.get("/v1/models", headers={ID_HEADER: "not-inference"})
    served = sim.get("/_local/served").json()
    assert served["count"] - before == 4, f"expected 4 more requests seen, got {before} -> {served}"
    assert served["ids"][-3:] == ids, f"expected ids to end with {ids}, got {served['ids'][-3:]}"


@pytest.mark.parametrize(("method", "path"), [("GET", CHAT), ("GET", TEXT), ("POST", "/v1/models")])
def test_wrong_method_is_405(sim: httpx.Client, method: str, path: str) -> None:
    status = sim.request(method, path).status_code
    assert status == 405, f"expected 405, got {status}"


def test_unknown_path_is_404(sim: httpx.Client) -> None:
    status = sim.post("/v1/embeddings", json={"model": MODEL}).status_code
    assert status == 404, f"expected 404, got {status}"


@pytest.mark.parametrize(
    "kwargs", [{"mode": "fast"}, {"max_model_len": 0}, {"time_to_first_token_ms": -1}]
)
def test_config_rejects_impossible_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"."):
        SimulatorConfig(model=MODEL, **kwargs)
