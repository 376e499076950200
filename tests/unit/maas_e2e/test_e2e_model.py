"""Each call goes to the model's URL with its name; a test writes only what its promise is about."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from maas_e2e.api import GREETING
from maas_e2e.auth import Bearer
from maas_e2e.expected import Limit
from maas_e2e.model import Model, ModelRef
from maas_e2e.quota import Inconclusive, LimitedUser, Quota

REF = ModelRef(
    name="facebook/opt-125m",
    url="http://gw.test/llm/opt",
    allowed_tiers=frozenset({"free", "premium"}),
    listed_id="opt-listed",
    context_tokens=2048,
)
TOKEN = Bearer("maas-token")


class Gateway:
    """A scripted gateway: answers with `reply(request)` and keeps what it was sent."""

    def __init__(self, reply: Callable[[httpx.Request], httpx.Response]) -> None:
        self.requests: list[httpx.Request] = []
        self._reply = reply

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._reply(request)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


def statuses(*codes: int, tokens: int = 1) -> Callable[[httpx.Request], httpx.Response]:
    """Replies with `codes` in order; a 200 says it used `tokens`."""
    replies = iter(codes)

    def reply(_: httpx.Request) -> httpx.Response:
        status = next(replies)
        body = {"usage": {"total_tokens": tokens}} if status == 200 else {"error": "limited"}
        return httpx.Response(status, json=body)

    return reply


@pytest.fixture
def ok() -> Gateway:
    return Gateway(lambda _: httpx.Response(200, json={"usage": {"total_tokens": 1}}))


@pytest.fixture
def model(ok: Gateway) -> Iterator[Model]:
    with httpx.Client(transport=httpx.MockTransport(ok)) as client:
        yield Model.bound(REF, client)


@pytest.fixture
def bound() -> Iterator[Callable[[Gateway], Model]]:
    """Binds the model to a gateway of the test's own; the clients close with the test."""
    with contextlib.ExitStack() as clients:
        yield lambda gateway: Model.bound(
            REF, clients.enter_context(httpx.Client(transport=httpx.MockTransport(gateway)))
        )


def test_a_bound_model_keeps_its_refs_fields(model: Model) -> None:
    seen = (model.name, model.url, model.allowed_tiers, model.listed_id, model.context_tokens)
    assert seen == (REF.name, REF.url, REF.allowed_tiers, REF.listed_id, REF.context_tokens)


def test_chat_sends_the_models_name_and_the_greeting(model: Model, ok: Gateway) -> None:
    model.chat(TOKEN, max_tokens=8)
    assert str(ok.requests[0].url) == "http://gw.test/llm/opt/v1/chat/completions"
    assert ok.bodies == [{"model": REF.name, "messages": GREETING, "max_tokens": 8}]


def test_chat_sends_the_callers_messages_instead_of_the_greeting(model: Model, ok: Gateway) -> None:
    said = [{"role": "user", "content": "tell me a story"}]
    model.chat(TOKEN, messages=said)
    assert ok.bodies == [{"model": REF.name, "messages": said}]


def test_chat_with_a_prompt_sends_no_greeting(model: Model, ok: Gateway) -> None:
    model.chat(TOKEN, prompt="hello")
    assert ok.bodies == [{"model": REF.name, "prompt": "hello"}]


def test_a_call_carries_the_token_as_a_bearer(model: Model, ok: Gateway) -> None:
    model.chat(TOKEN)
    assert ok.requests[0].headers.get("Authorization") == "Bearer maas-token"


def test_a_call_without_a_token_sends_no_authorization(model: Model, ok: Gateway) -> None:
    model.chat(None)
    assert "Authorization" not in ok.requests[0].headers


def test_complete_sends_a_one_word_prompt_to_completions(model: Model, ok: Gateway) -> None:
    model.complete(TOKEN, max_tokens=1)
    assert str(ok.requests[0].url) == "http://gw.test/llm/opt/v1/completions"
    assert ok.bodies == [{"model": REF.name, "prompt": "Once", "max_tokens": 1}]


def test_at_sends_the_same_model_to_another_url(model: Model, ok: Gateway) -> None:
    elsewhere = model.at("http://listed.test/llm/opt")
    elsewhere.chat(TOKEN)
    assert str(ok.requests[0].url) == "http://listed.test/llm/opt/v1/chat/completions"
    assert ok.bodies[0]["model"] == REF.name
    assert (elsewhere.listed_id, model.url) == (REF.listed_id, REF.url)


def test_stream_asks_for_a_stream_and_reads_it(bound: Callable[[Gateway], Model]) -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    events = [
        json.dumps({"choices": [{"index": 0, "delta": {"content": "he"}}]}),
        json.dumps({"choices": [{"index": 0, "delta": {"content": "y"}}]}),
        json.dumps({"choices": [], "usage": usage}),
        "[DONE]",
    ]
    body = "".join(f"data: {e}\n\n" for e in events).encode()
    gateway = Gateway(
        lambda _: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    )
    stream = bound(gateway).stream(TOKEN, max_tokens=2)
    assert gateway.bodies[0]["stream"] is True, gateway.bodies
    assert (stream.status, stream.events) == (200, events)
    assert stream.chunks == [json.loads(e) for e in events[:3]]
    assert [c["delta"]["content"] for c in stream.choices] == ["he", "y"]
    assert stream.usage == usage


def test_burst_sends_one_token_chats_until_the_first_429(bound: Callable[[Gateway], Model]) -> None:
    gateway = Gateway(statuses(200, 200, 429, 200))
    run = bound(gateway).burst(TOKEN, 10)
    assert run.statuses == [200, 200, 429]
    expected = {"model": REF.name, "messages": GREETING, "max_tokens": 1}
    assert gateway.bodies == [expected] * 3, gateway.bodies


def test_burst_body_overrides_the_one_token(bound: Callable[[Gateway], Model]) -> None:
    gateway = Gateway(statuses(200))
    bound(gateway).burst(TOKEN, 1, max_tokens=5)
    assert gateway.bodies[0]["max_tokens"] == 5, gateway.bodies


def test_burst_without_a_stop_status_sends_every_request(bound: Callable[[Gateway], Model]) -> None:
    gateway = Gateway(statuses(200, 429, 429, 200))
    run = bound(gateway).burst(TOKEN, 4, stop_at=None)
    assert run.statuses == [200, 429, 429, 200]


def user(budget: int = 100) -> LimitedUser:
    return LimitedUser(token="limited", quota=Quota("free", Limit(3, "2m"), Limit(budget, "1m")))


def test_burst_records_a_limited_users_spend(bound: Callable[[Gateway], Model]) -> None:
    limited = user()
    run = bound(Gateway(statuses(200, 200, 200, 429, tokens=7))).burst(limited, 4)
    assert (run.quota, limited.quota.tokens, run.doubt) == (limited.quota, 21, None)


def test_a_limited_users_429_after_its_budget_is_inconclusive(
    bound: Callable[[Gateway], Model],
) -> None:
    run = bound(Gateway(statuses(200, 200, 429, tokens=6))).burst(user(budget=10), 3)
    with pytest.raises(Inconclusive, match="could come from the token limit"):
        run.assert_first_at(2)


@pytest.mark.parametrize(
    ("token", "title", "expected"),
    [
        (TOKEN, None, f"burst at {REF.name}"),
        (TOKEN, "the whole limit", f"the whole limit at {REF.name}"),
        (user(), "the whole limit", f"free user: the whole limit at {REF.name}"),
    ],
    ids=["default", "titled", "limited-user"],
)
def test_burst_title_names_the_model_and_a_limited_users_tier(
    token: httpx.Auth, title: str | None, expected: str, bound: Callable[[Gateway], Model]
) -> None:
    run = bound(Gateway(statuses(200))).burst(token, 1, title=title)
    assert run.title == expected
