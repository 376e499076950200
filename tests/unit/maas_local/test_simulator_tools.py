"""Tools at the simulated model server: the calls llm-d-inference-sim v0.5.1 makes, and its 400s.

The expected texts of refusals are v0.5.1's own, measured against the released binary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from maas_local.servers import Component, ServerGroup, bind, serve_in_thread
from maas_local.simulator import SimulatorConfig, build_app

MODEL = "facebook-opt-125m-simulated"
CHAT = "/v1/chat/completions"
TEXT = "/v1/completions"
PLAIN = "text/plain; charset=utf-8"
UNREADABLE = "Failed to read and parse request body, "
SAMPLES = 60
CALL_ID = re.compile(r"chatcmpl-tool-[0-9]{10}")

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["C", "F"]},
                "days": {"type": "integer"},
                "hourly": {"type": "boolean"},
                "spots": {
                    "type": "array",
                    "items": {"type": "number"},
                    "minItems": 2,
                    "maxItems": 3,
                },
                "where": {
                    "type": "object",
                    "properties": {"lat": {"type": "number"}, "name": {"type": "string"}},
                    "required": ["lat"],
                },
            },
            "required": ["city", "spots", "where"],
        },
    },
}
SEARCH = {
    "type": "function",
    "function": {
        "name": "search",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        },
    },
}
TOOLS = [WEATHER, SEARCH]
PARAMETERS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    """The cluster's random mode, echo mode, and random mode with the tool-calls-ignored fault."""
    configs = {
        "random": SimulatorConfig(model=MODEL),
        "echo": SimulatorConfig(model=MODEL, mode="echo"),
        "ignored": SimulatorConfig(model=MODEL, faults=frozenset({"tool-calls-ignored"})),
    }
    group = ServerGroup([Component(name, bind(0), build_app(c)) for name, c in configs.items()])
    with serve_in_thread(group) as started:
        yield {c.name: c.url for c in started.components}


@pytest.fixture(scope="module")
def sim(servers: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=servers["random"], timeout=10) as client:
        yield client


def chat_body(tools: Any = TOOLS, **extra: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    return {"model": MODEL, "messages": messages, "tools": tools, **extra}


def answer(client: httpx.Client, **extra: Any) -> dict[str, Any]:
    response = client.post(CHAT, json=chat_body(**extra))
    assert response.status_code == 200, f"expected 200, got {response.status_code} {response.text}"
    return response.json()


def calls_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    return body["choices"][0]["message"].get("tool_calls", [])


def assert_refused(response: httpx.Response, text: str) -> None:
    actual = (response.status_code, response.headers["content-type"], response.text)
    assert actual == (400, PLAIN, text), f"expected v0.5.1's plain-text 400 {text!r}, got {actual}"


# --- tool_choice ------------------------------------------------------------------------------


def test_required_answers_tool_calls_in_v0_5_1_shape(sim: httpx.Client) -> None:
    body = answer(sim, tool_choice="required")
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls", f"expected tool_calls, got {choice}"
    message = dict(choice["message"])
    calls = message.pop("tool_calls")
    assert message == {"role": "assistant", "content": ""}, f"expected no text, got {message}"
    assert [c["index"] for c in calls] == list(range(len(calls))), f"indexes: {calls}"
    for call in calls:
        assert set(call) == {"function", "id", "type", "index"}, f"call fields: {call}"
        assert CALL_ID.fullmatch(call["id"]), f"expected chatcmpl-tool-<10 digits>: {call['id']}"
        assert call["type"] == "function", f"expected type function: {call}"
        function = call["function"]
        # v0.5.1's Go struct sends its untagged TokenizedArguments field along.
        assert set(function) == {"name", "arguments", "TokenizedArguments"}, f"got {function}"
        assert function["name"] in PARAMETERS, f"expected one of the tools' names: {function}"
        assert "".join(function["TokenizedArguments"]) == function["arguments"], function


def test_required_arguments_are_json_valid_for_the_tools_parameters(sim: httpx.Client) -> None:
    for _ in range(SAMPLES):
        for call in calls_of(answer(sim, tool_choice="required")):
            function = call["function"]
            arguments = json.loads(function["arguments"])
            jsonschema.validate(arguments, PARAMETERS[function["name"]])
            # Written as Go writes JSON: keys sorted, no spaces.
            compact = json.dumps(arguments, sort_keys=True, separators=(",", ":"))
            assert function["arguments"] == compact, f"expected Go's encoding, got {function}"


def test_required_makes_one_to_as_many_calls_as_tools(sim: httpx.Client) -> None:
    counts = {len(calls_of(answer(sim, tool_choice="required"))) for _ in range(SAMPLES)}
    assert counts == {1, 2}, f"expected 1 or 2 calls for 2 tools, each seen; got {counts}"


@pytest.mark.parametrize("choice", ["auto", None], ids=["auto", "unset"])
def test_auto_makes_zero_to_as_many_calls_as_tools(sim: httpx.Client, choice: str | None) -> None:
    extra = {} if choice is None else {"tool_choice": choice}
    bodies = [answer(sim, max_tokens=4, **extra) for _ in range(SAMPLES)]
    counts = {len(calls_of(body)) for body in bodies}
    assert counts == {0, 1, 2}, f"expected 0, 1 or 2 calls, each seen; got {counts}"
    texts = [b["choices"][0] for b in bodies if not calls_of(b)]
    assert all(c["message"]["content"] and c["finish_reason"] != "tool_calls" for c in texts), (
        f"expected a text reply when no call is made, got {texts}"
    )


def test_none_answers_text(sim: httpx.Client) -> None:
    for _ in range(10):
        choice = answer(sim, tool_choice="none", max_tokens=4)["choices"][0]
        assert "tool_calls" not in choice["message"], f"expected no tool calls, got {choice}"
        assert choice["message"]["content"], f"expected text, got {choice}"
        assert choice["finish_reason"] in ("stop", "length"), f"got {choice}"


def test_an_empty_tools_list_answers_text(sim: httpx.Client) -> None:
    choice = answer(sim, tools=[], max_tokens=4)["choices"][0]
    assert "tool_calls" not in choice["message"], f"expected no tool calls, got {choice}"
    assert choice["message"]["content"], f"expected text, got {choice}"


def test_arguments_follow_the_parameters(sim: httpx.Client) -> None:
    """Required parameters always, others sometimes; arrays within minItems..maxItems, integers
    within 0..100, enum values from the enum."""
    seen: list[dict[str, Any]] = []
    for _ in range(SAMPLES):
        answered = calls_of(answer(sim, tools=[WEATHER], tool_choice="required"))
        seen += [json.loads(call["function"]["arguments"]) for call in answered]
    keys = [set(arguments) for arguments in seen]
    assert all({"city", "spots", "where"} <= k for k in keys), f"required ones missing: {keys}"
    optional = {"unit", "days", "hourly"}
    assert optional <= set().union(*keys), f"expected each optional one sometimes, got {keys}"
    assert any(optional - k for k in keys), f"expected each optional one sometimes left out: {keys}"
    assert all(2 <= len(a["spots"]) <= 3 for a in seen), f"spots lengths: {seen}"
    assert all(0 <= a["days"] <= 100 for a in seen if "days" in a), f"days: {seen}"
    assert {a["unit"] for a in seen if "unit" in a} <= {"C", "F"}, f"units: {seen}"


def test_usage_counts_three_tokens_per_call_plus_its_arguments(sim: httpx.Client) -> None:
    body = answer(sim, tool_choice="required")
    expected = sum(3 + len(c["function"]["TokenizedArguments"]) for c in calls_of(body))
    usage = body["usage"]
    assert usage["completion_tokens"] == expected, f"expected {expected}, got {usage}"
    assert usage["total_tokens"] == usage["prompt_tokens"] + expected, f"got {usage}"


def test_tools_do_not_count_as_prompt_tokens(sim: httpx.Client) -> None:
    usage = answer(sim, tool_choice="required")["usage"]
    assert usage["prompt_tokens"] == 7, f"expected the message's 7 tokens only, got {usage}"


def test_echo_mode_makes_tool_calls_too(servers: dict[str, str]) -> None:
    with httpx.Client(base_url=servers["echo"], timeout=10) as echo:
        body = answer(echo, tool_choice="required")
    assert body["choices"][0]["finish_reason"] == "tool_calls", f"got {body['choices']}"


def test_text_completions_ignore_tools(sim: httpx.Client) -> None:
    body = {"model": MODEL, "prompt": "hi", "tools": 5, "tool_choice": {}, "max_tokens": 2}
    response = sim.post(TEXT, json=body)
    assert response.status_code == 200, f"expected 200, got {response.status_code}"
    assert response.json()["choices"][0]["text"], f"expected text, got {response.text}"


def test_the_tool_calls_ignored_fault_answers_text(servers: dict[str, str]) -> None:
    with httpx.Client(base_url=servers["ignored"], timeout=10) as faulty:
        choice = answer(faulty, tool_choice="required", max_tokens=4)["choices"][0]
    assert "tool_calls" not in choice["message"], f"expected the fault to drop tools: {choice}"
    assert choice["message"]["content"], f"expected text instead, got {choice}"


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "kind"),
    [({"type": "function", "function": {"name": "search"}}, "object"), (1, "number")],
)
def test_a_non_string_tool_choice_is_go_s_400(sim: httpx.Client, choice: Any, kind: str) -> None:
    error = (
        f"json: cannot unmarshal {kind} into Go struct field "
        "ChatCompletionRequest.tool_choice of type string"
    )
    assert_refused(sim.post(CHAT, json=chat_body(tool_choice=choice)), UNREADABLE + error)


SCHEMA_ERROR = "jsonschema: '{}' does not validate with file:///schema.json#{}: {}"
PARAMETER = "/properties/parameters/$ref"
PROPERTY = f"{PARAMETER}/properties/properties/additionalProperties/$ref"
INVALID_PARAMETERS = {
    "none": (None, ("", "/required", "missing properties: 'parameters'")),
    "empty": ({}, ("", "/required", "missing properties: 'parameters'")),
    "no type": (
        {"properties": {}},
        ("/parameters", f"{PARAMETER}/required", "missing properties: 'type'"),
    ),
    "unknown type": (
        {"type": "foo"},
        (
            "/parameters/type",
            f"{PARAMETER}/properties/type/enum",
            'value must be one of "object", "array", "string", "number", "integer", "boolean", '
            '"null"',
        ),
    ),
    "unknown keyword": (
        {"type": "object", "properties": {}, "title": "x"},
        (
            "/parameters",
            f"{PARAMETER}/additionalProperties",
            "additionalProperties 'title' not allowed",
        ),
    ),
    "object without properties": (
        {"type": "object"},
        ("/parameters", f"{PARAMETER}/allOf/6/then/required", "missing properties: 'properties'"),
    ),
    "array without items": (
        {"type": "object", "properties": {"a": {"type": "array"}}},
        (
            "/parameters/properties/a",
            f"{PROPERTY}/allOf/5/then/required",
            "missing properties: 'items'",
        ),
    ),
    "enum on an object": (
        {"type": "object", "properties": {"a": {"type": "object", "properties": {}, "enum": [1]}}},
        ("/parameters/properties/a", f"{PROPERTY}/allOf/4/then/not", "not failed"),
    ),
    "enum of another type": (
        {"type": "object", "properties": {"a": {"type": "string", "enum": [1]}}},
        (
            "/parameters/properties/a/enum/0",
            f"{PROPERTY}/allOf/0/then/properties/enum/items/type",
            "expected string, but got number",
        ),
    ),
    "negative minItems": (
        {
            "type": "object",
            "properties": {"a": {"type": "array", "items": {"type": "string"}, "minItems": -1}},
        },
        (
            "/parameters/properties/a/minItems",
            f"{PROPERTY}/properties/minItems/minimum",
            "must be >= 0 but found -1",
        ),
    ),
    "items a string": (
        {"type": "object", "properties": {"a": {"type": "array", "items": "x"}}},
        (
            "/parameters/properties/a/items",
            f"{PROPERTY}/properties/items/anyOf/0/$ref/type",
            "expected object, but got string",
        ),
    ),
}


@pytest.mark.parametrize(
    ("parameters", "error"), INVALID_PARAMETERS.values(), ids=INVALID_PARAMETERS.keys()
)
def test_an_invalid_tool_schema_is_the_validators_400(
    sim: httpx.Client, parameters: dict[str, Any] | None, error: tuple[str, str, str]
) -> None:
    function: dict[str, Any] = {"name": "f"}
    if parameters is not None:
        function["parameters"] = parameters
    body = chat_body(tools=[{"type": "function", "function": function}], tool_choice="none")
    assert_refused(sim.post(CHAT, json=body), UNREADABLE + SCHEMA_ERROR.format(*error))


def test_a_tool_schema_is_checked_before_the_model_name(sim: httpx.Client) -> None:
    body = {**chat_body(tools=[{"function": {"name": "f"}}]), "model": "another"}
    error = SCHEMA_ERROR.format("", "/required", "missing properties: 'parameters'")
    assert_refused(sim.post(CHAT, json=body), UNREADABLE + error)


@pytest.mark.parametrize(
    ("parameter", "error"),
    [
        ({"type": "null"}, "tool parameters of type null are not supported"),
        (
            {"type": "array", "items": {"type": "string"}, "minItems": 3, "maxItems": 1},
            "minItems (3) is greater than maxItems(1)",
        ),
    ],
    ids=["null", "minItems above maxItems"],
)
def test_arguments_v0_5_1_cannot_make_are_its_400(
    sim: httpx.Client, parameter: dict[str, Any], error: str
) -> None:
    parameters = {"type": "object", "properties": {"a": parameter}, "required": ["a"]}
    tool = {"type": "function", "function": {"name": "f", "parameters": parameters}}
    response = sim.post(CHAT, json=chat_body(tools=[tool], tool_choice="required"))
    # v0.5.1 runs its prefix and the error together.
    assert_refused(response, "failed to create chat response" + error)


def test_required_without_tools_is_a_server_error(sim: httpx.Client) -> None:
    # v0.5.1's worker panics (rand.Intn(0)) and the server dies; the stand-in answers 500.
    response = sim.post(CHAT, json=chat_body(tools=[], tool_choice="required"))
    assert response.status_code == 500, f"expected 500, got {response.status_code}"
    assert "crashes" in response.text, f"expected the reason, got {response.text!r}"


# --- streaming --------------------------------------------------------------------------------


def stream_chunks(client: httpx.Client, **extra: Any) -> list[dict[str, Any]]:
    body = chat_body(stream=True, stream_options={"include_usage": True}, **extra)
    response = client.post(CHAT, json=body)
    assert response.status_code == 200, f"expected 200, got {response.status_code}"
    events = [e.removeprefix("data: ") for e in response.text.split("\n\n") if e]
    assert events[-1] == "[DONE]", f"expected [DONE] last, got {events[-1]!r}"
    return [json.loads(e) for e in events[:-1]]


def test_a_streamed_call_sends_its_arguments_token_by_token(sim: httpx.Client) -> None:
    chunks = stream_chunks(sim, tools=[SEARCH], tool_choice="required")
    role, *calls, usage = chunks
    assert role["choices"][0]["delta"] == {"role": "assistant", "content": ""}, f"got {role}"
    deltas = [c["choices"][0]["delta"] for c in calls]
    assert all(d["content"] == "" and len(d["tool_calls"]) == 1 for d in deltas), deltas
    parts = [d["tool_calls"][0] for d in deltas]
    first = parts[0]
    ids = {(p["id"], p["type"]) for p in parts}
    assert len(ids) == len({p["index"] for p in parts}), f"one id per call: {parts}"
    # The name comes with the first chunk of a call only; no chunk carries the token list.
    names = [p["function"]["name"] for p in parts if p["index"] == first["index"]]
    assert names == ["search"] + [None] * (len(names) - 1), f"names: {names}"
    assert all(p["function"]["TokenizedArguments"] is None for p in parts), parts
    arguments = "".join(p["function"]["arguments"] for p in parts if p["index"] == 0)
    assert set(json.loads(arguments)) == {"query"}, f"arguments: {arguments!r}"
    expected = 3 * len(ids) + len(parts)
    assert usage["usage"]["completion_tokens"] == expected, f"expected {expected}: {usage}"


def test_each_streamed_call_ends_with_finish_reason_tool_calls(sim: httpx.Client) -> None:
    for _ in range(10):
        calls = stream_chunks(sim, tool_choice="required")[1:-1]
        ends = [
            (c["choices"][0]["delta"]["tool_calls"][0]["index"], c["choices"][0]["finish_reason"])
            for c in calls
        ]
        last = {index: position for position, (index, _) in enumerate(ends)}
        expected = [
            (index, "tool_calls" if last[index] == position else None)
            for position, (index, _) in enumerate(ends)
        ]
        assert ends == expected, f"expected tool_calls on each call's last chunk only: {ends}"
