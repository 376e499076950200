"""The model server: the embedded simulator against llm-d-inference-sim, both in random and in
echo mode.

The embedded side is the model of `maas-local up` (its upstream URL from the ready file; a
second stack, from the manifests with `--mode echo`, for echo mode); the real side is the given
binary started with the model container's own arguments (without TLS) on a free port. Answers
with fixed content (errors, echo replies, token counts, the shape of every reply and stream) are
compared by value once the random parts are masked; the random parts themselves (reply lengths,
finish reasons) are compared by distribution over `--samples` requests a side.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from maas_fidelity import distribution, hostile
from maas_fidelity.compare import Difference
from maas_fidelity.components import SIMULATOR, TITLES
from maas_fidelity.corpus import Case, Outcome, Steps, one, play
from maas_fidelity.embedded import EmbeddedStack, embedded_stack
from maas_fidelity.exchange import Observation, Request, json_request, raw_request, send
from maas_fidelity.hostile import HostileCase
from maas_fidelity.normalise import Normaliser
from maas_fidelity.processes import SideUnavailable, free_port, started, wait_for

CHAT, TEXT, MODELS = "/v1/chat/completions", "/v1/completions", "/v1/models"
START_TIMEOUT_S = 60.0
HTTP_TIMEOUT_S = 60.0
_DROPPED_FLAGS = {"--port", "--ssl-certfile", "--ssl-keyfile"}
RANDOM_KEYS = {
    "content": "<random text>",
    "text": "<random text>",
    "arguments": "<random arguments>",
    "TokenizedArguments": "<random arguments>",
    "finish_reason": "<finish reason>",
    "completion_tokens": "<count>",
    "total_tokens": "<count>",
}
"""What random mode chooses at random: masked before comparing, compared by distribution."""
ID_KEYS = {"id": "<id>"}


@dataclass(frozen=True)
class ModelServer:
    """The served model's name and the arguments its container runs with."""

    namespace: str
    name: str
    served_name: str
    args: tuple[str, ...]


def model_server(rendered: str) -> ModelServer:
    """The first LLMInferenceService of the manifests with a container running the simulator."""
    for doc in yaml.safe_load_all(rendered):
        if not isinstance(doc, dict) or doc.get("kind") != "LLMInferenceService":
            continue
        containers = ((doc.get("spec") or {}).get("template") or {}).get("containers") or []
        for container in containers:
            args = [str(a) for a in container.get("args") or []]
            if "--model" in args:
                kept = _without(args, _DROPPED_FLAGS)
                served = args[args.index("--model") + 1]
                meta = doc["metadata"]
                return ModelServer(meta.get("namespace", ""), meta["name"], served, tuple(kept))
    raise SideUnavailable("the manifests have no LLMInferenceService running the simulator")


def _without(args: list[str], flags: set[str]) -> list[str]:
    kept, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in flags:
            skip = True
        elif arg.split("=", 1)[0] not in flags:
            kept.append(arg)
    return kept


def with_mode(args: tuple[str, ...], mode: str) -> tuple[str, ...]:
    out = list(_without(list(args), {"--mode"}))
    return (*out, "--mode", mode)


def echo_manifests(rendered: str, server: ModelServer) -> str:
    """The rendered manifests with the model's simulator in echo mode."""
    docs = list(yaml.safe_load_all(rendered))
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "LLMInferenceService":
            for container in doc["spec"]["template"].get("containers") or []:
                if "--model" in (container.get("args") or []):
                    container["args"] = list(with_mode(tuple(container["args"]), "echo"))
    return yaml.safe_dump_all([d for d in docs if d], sort_keys=False)


@contextlib.contextmanager
def real_simulator(binary: Path, args: tuple[str, ...], workdir: Path, name: str) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [str(binary), *args, "--port", str(port)]
    log = workdir / "logs" / f"sim-{name}.log"
    # In `/`, its image's working directory: its errors name files by absolute path.
    with started(f"llm-d-inference-sim ({name})", argv, log, cwd=Path("/")) as child:
        wait_for(child, "/health", START_TIMEOUT_S, lambda: _healthy(url))
        yield url


def _healthy(url: str) -> bool | None:
    return True if httpx.get(f"{url}/health", timeout=5).status_code == 200 else None


# --------------------------------------------------------------------------- observations


def parse_events(text: str) -> list[Any]:
    """The `data:` payloads of a server-sent event stream, parsed when they are JSON."""
    events = []
    for line in text.splitlines():
        if line.startswith("data:"):
            payload = line[len("data:") :].strip()
            try:
                events.append(json.loads(payload))
            except ValueError:
                events.append(payload)
    return events


def streamed(obs: Observation) -> Observation:
    """A stream's events as the body (a list), for comparing event by event."""
    if obs.status != 200 or not isinstance(obs.body, str):
        return obs
    return Observation(obs.status, obs.content_type, parse_events(obs.body))


def collapse(value: Any) -> Any:
    """Consecutive equal items of a list as one: a random reply streams a random number of
    token chunks that all read the same once their text is masked."""
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            if not out or out[-1] != item:
                out.append(item)
        return out
    return value


_EXTRA_KEYWORDS = re.compile(r"additionalProperties ((?:'[^']*'(?:, )?)+) not allowed")


def _sorted_keywords(match: re.Match[str]) -> str:
    """v0.5.1 names a schema's extra keywords in Go's map order, which changes from request to
    request: compared in name order."""
    names = sorted(re.findall(r"'[^']*'", match.group(1)))
    return f"additionalProperties {', '.join(names)} not allowed"


class SimulatorNormaliser(Normaliser):
    """The shared normalisation, ids and (in random mode) the random parts masked, runs of
    identical stream chunks collapsed."""

    def __init__(self, mode: str) -> None:
        super().__init__(patterns=[(_EXTRA_KEYWORDS, _sorted_keywords)])
        self.masks = {**ID_KEYS, **(RANDOM_KEYS if mode == "random" else {})}

    def value(self, value: Any, key: str = "") -> Any:
        if key in self.masks and value is not None:
            return self.masks[key]
        return collapse(super().value(value, key))


# --------------------------------------------------------------------------- cases


@dataclass
class Context:
    client: httpx.Client
    model: str


def _post(
    path: str, body: dict[str, Any] | bytes, stream: bool = False
) -> Callable[[Context], Steps]:
    def run(ctx: Context) -> Steps:
        payload = (
            body
            if isinstance(body, bytes)
            else json.loads(json.dumps(body).replace("<model>", ctx.model))
        )
        request = (
            raw_request("POST", path, payload)
            if isinstance(payload, bytes)
            else json_request("POST", path, payload)
        )
        obs = send(ctx.client, request)
        return one(streamed(obs) if stream else obs)

    return run


def _chat(content: str = "Hello there", **fields: Any) -> dict[str, Any]:
    return {"model": "<model>", "messages": [{"role": "user", "content": content}], **fields}


def _text(prompt: str = "Hello there", **fields: Any) -> dict[str, Any]:
    return {"model": "<model>", "prompt": prompt, **fields}


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "the weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}
LONG_PROMPT = " ".join(["word"] * 2000)
SENTENCE = "The quick brown fox jumps over the lazy dog."


def random_cases() -> list[Case[Context]]:
    usage = {"stream": True, "stream_options": {"include_usage": True}}
    no_usage = {"stream": True, "stream_options": {"include_usage": False}}
    return [
        Case("models", lambda ctx: one(send(ctx.client, json_request("GET", MODELS, None)))),
        Case("chat", _post(CHAT, _chat(max_tokens=10))),
        Case("chat.no-max-tokens", _post(CHAT, _chat())),
        Case("chat.max-completion-tokens", _post(CHAT, _chat(max_completion_tokens=5))),
        Case("text", _post(TEXT, _text(max_tokens=10))),
        Case("chat.stream", _post(CHAT, _chat(max_tokens=10, stream=True), stream=True)),
        Case("chat.stream-usage", _post(CHAT, _chat(max_tokens=10, **usage), stream=True)),
        Case("chat.stream-usage-false", _post(CHAT, _chat(max_tokens=10, **no_usage), stream=True)),
        Case("text.stream", _post(TEXT, _text(max_tokens=10, stream=True), stream=True)),
        Case("text.stream-usage", _post(TEXT, _text(max_tokens=10, **usage), stream=True)),
        Case("tools.required", _post(CHAT, _chat(tools=[WEATHER_TOOL], tool_choice="required"))),
        Case("tools.none", _post(CHAT, _chat(tools=[WEATHER_TOOL], tool_choice="none"))),
        Case(
            "tools.named",
            _post(
                CHAT,
                _chat(
                    tools=[WEATHER_TOOL],
                    tool_choice={"type": "function", "function": {"name": "get_weather"}},
                ),
            ),
        ),
        Case(
            "tools.stream",
            _post(CHAT, _chat(tools=[WEATHER_TOOL], tool_choice="required", **usage), stream=True),
        ),
        Case(
            "tools.invalid-schema",
            _post(
                CHAT,
                _chat(
                    tools=[
                        {
                            "type": "function",
                            "function": {"name": "f", "parameters": {"type": "nonsense"}},
                        }
                    ]
                ),
            ),
        ),
        Case("error.unknown-model", _post(CHAT, {**_chat(max_tokens=5), "model": "no-such-model"})),
        Case("error.bad-json", _post(CHAT, b'{"model": ')),
        Case("error.no-messages", _post(CHAT, {"model": "<model>", "max_tokens": 5})),
        Case("error.empty-messages", _post(CHAT, {"model": "<model>", "messages": []})),
        Case("error.no-prompt", _post(TEXT, {"model": "<model>", "max_tokens": 5})),
        Case("error.no-model", _post(CHAT, {"messages": [{"role": "user", "content": "hi"}]})),
        Case("error.max-tokens-above-context", _post(CHAT, _chat(max_tokens=5000))),
        Case("error.max-tokens-zero", _post(CHAT, _chat(max_tokens=0))),
        Case("error.max-tokens-negative", _post(TEXT, _text(max_tokens=-1))),
        Case("error.long-prompt", _post(TEXT, _text(LONG_PROMPT, max_tokens=10))),
        Case("error.long-chat", _post(CHAT, _chat(LONG_PROMPT, max_tokens=10))),
        Case(
            "error.prompt-plus-limit-above-context",
            _post(TEXT, _text(" ".join(["word"] * 900), max_tokens=200)),
        ),
    ]


def hostile_cases(model: str) -> list[Case[Context]]:
    """The hostile corpus's model-server requests, for echo mode (whose replies are fixed)."""

    def case(item: HostileCase) -> Case[Context]:
        request = Request(item.method, item.path, item.body, item.headers, item.credential)
        offers_tools = b'"tools"' in item.body

        def run(ctx: Context) -> Steps:
            obs = streamed(send(ctx.client, request))
            return one(reply_kind_masked(obs) if offers_tools else obs)

        return Case(f"hostile.{item.name}", run)

    return [case(item) for item in hostile.simulator_cases(model)]


def reply_kind_masked(obs: Observation) -> Observation:
    """A reply to a request offering tools, with whether it called them masked (and what
    follows from that: the finish reason, the token counts): unless the request requires a
    call, the simulator decides at random."""
    return Observation(obs.status, obs.content_type, _mask_reply_kind(obs.body))


_FOLLOWS_THE_KIND = ("finish_reason", "completion_tokens", "total_tokens")


def _mask_reply_kind(value: Any) -> Any:
    if isinstance(value, list):
        return [_mask_reply_kind(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = {k: _mask_reply_kind(v) for k, v in value.items() if k not in ("content", "tool_calls")}
    if "content" in value or "tool_calls" in value:
        out["reply"] = "<text or tool calls>"
    for key in _FOLLOWS_THE_KIND:
        if out.get(key) is not None:
            out[key] = f"<{key}>"
    return out


def echo_cases() -> list[Case[Context]]:
    usage = {"stream": True, "stream_options": {"include_usage": True}}
    conversation = {
        "model": "<model>",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "First question"},
            {"role": "assistant", "content": "First answer"},
            {"role": "user", "content": "Second question"},
        ],
    }
    return [
        Case("echo.chat", _post(CHAT, _chat(SENTENCE))),
        Case("echo.text", _post(TEXT, _text(SENTENCE))),
        Case("echo.conversation", _post(CHAT, conversation)),
        Case("echo.short", _post(TEXT, _text("hi"))),
        Case("echo.long", _post(TEXT, _text(" ".join([SENTENCE] * 20)))),
        Case("echo.unicode", _post(CHAT, _chat("héllo wörld, 日本語 😀"))),
        Case("echo.punctuation", _post(TEXT, _text('a,b;c... (d) [e] {f} it\'s "g"'))),
        Case("echo.cut", _post(CHAT, _chat(SENTENCE, max_tokens=3))),
        Case("echo.stream", _post(CHAT, _chat(SENTENCE, **usage), stream=True)),
        Case("echo.text-stream", _post(TEXT, _text(SENTENCE, **usage), stream=True)),
        Case("echo.empty", _post(CHAT, _chat(""))),
    ]


# --------------------------------------------------------------------------- distributions


@dataclass(frozen=True)
class Sampled:
    id: str
    path: str
    body: dict[str, Any]
    measure: str
    """What is measured of each reply: "completion_tokens" or "words" (numbers),
    "finish_reason" or "reply_kind" (tool calls or text; categories)."""


SAMPLED = (
    Sampled("random.chat.completion-tokens", CHAT, _chat(max_tokens=50), "completion_tokens"),
    Sampled("random.chat.finish-reason", CHAT, _chat(max_tokens=50), "finish_reason"),
    Sampled("random.text.completion-tokens", TEXT, _text(max_tokens=50), "completion_tokens"),
    Sampled("random.chat.unbounded-tokens", CHAT, _chat(), "completion_tokens"),
    Sampled("random.chat.words", CHAT, _chat(max_tokens=50), "words"),
    Sampled(
        "random.tools.auto-reply-kind",
        CHAT,
        _chat(tools=[WEATHER_TOOL], tool_choice="auto"),
        "reply_kind",
    ),
)
CATEGORIES = ("finish_reason", "reply_kind")


def sample(ctx: Context, case: Sampled, count: int) -> list[Any]:
    body = json.loads(json.dumps(case.body).replace("<model>", ctx.model))
    values = []
    for _ in range(count):
        obs = send(ctx.client, json_request("POST", case.path, body))
        if obs.status != 200 or not isinstance(obs.body, dict):
            values.append(f"status {obs.status}")
            continue
        choice = (obs.body.get("choices") or [{}])[0]
        message = choice.get("message") or {}
        if case.measure == "finish_reason":
            values.append(str(choice.get("finish_reason")))
        elif case.measure == "reply_kind":
            values.append("tool_calls" if message.get("tool_calls") else "text")
        elif case.measure == "words":
            text = message.get("content") or choice.get("text") or ""
            values.append(float(len(text.split())))
        else:
            values.append(float((obs.body.get("usage") or {}).get("completion_tokens", -1)))
    return values


def compare_samples(case: Sampled, left: list[Any], right: list[Any]) -> Difference | None:
    failed = [v for v in (*left, *right) if isinstance(v, str) and v.startswith("status ")]
    if failed:
        return Difference(
            SIMULATOR,
            case.id,
            "distribution",
            "a sampled request failed",
            str(left[:5]),
            str(right[:5]),
        )
    if case.measure in CATEGORIES:
        judged = distribution.same_categories(left, right)
        shown = (judged.statistic, judged.statistic)
    else:
        judged = distribution.same_numbers(left, right)
        shown = (distribution.summary(left), distribution.summary(right))
    if judged.same:
        return None
    detail = f"{case.measure} distributions differ (test at alpha {distribution.ALPHA})"
    return Difference(
        SIMULATOR, case.id, "distribution", detail, f"{shown[0]} ({judged.statistic})", shown[1]
    )


# --------------------------------------------------------------------------- the comparison


def compare(
    stack: EmbeddedStack,
    binary: Path,
    version: str,
    *,
    manifests: Path,
    workdir: Path,
    samples: int,
) -> Outcome:
    """Random mode on the stack's model and on the binary; echo mode on a second embedded stack
    and a second process of the binary."""
    rendered = _render(manifests)
    server = model_server(rendered)
    embedded_url = stack.urls["models"][f"{server.namespace}/{server.name}"]
    echo_file = workdir / "echo-manifests.yaml"
    echo_file.write_text(echo_manifests(rendered, server), encoding="utf-8")
    with contextlib.ExitStack() as running:
        real_random = running.enter_context(
            real_simulator(binary, with_mode(server.args, "random"), workdir, "random")
        )
        real_echo = running.enter_context(
            real_simulator(binary, with_mode(server.args, "echo"), workdir, "echo")
        )
        echo_dir = workdir / "echo"
        echo_dir.mkdir(exist_ok=True)
        echo_stack = running.enter_context(embedded_stack(echo_dir, echo_file))
        embedded_echo = echo_stack.urls["models"][f"{server.namespace}/{server.name}"]
        clients = [
            running.enter_context(httpx.Client(base_url=url, timeout=HTTP_TIMEOUT_S))
            for url in (embedded_url, real_random, embedded_echo, real_echo)
        ]
        model = server.served_name
        left, right = Context(clients[0], model), Context(clients[1], model)
        ids, found = play(
            SIMULATOR,
            random_cases(),
            (left, SimulatorNormaliser("random")),
            (right, SimulatorNormaliser("random")),
        )
        echo_ids, echo_found = play(
            SIMULATOR,
            [*echo_cases(), *hostile_cases(model)],
            (Context(clients[2], model), SimulatorNormaliser("echo")),
            (Context(clients[3], model), SimulatorNormaliser("echo")),
        )
        sampled_found = [
            d
            for case in SAMPLED
            if (
                d := compare_samples(
                    case, sample(left, case, samples), sample(right, case, samples)
                )
            )
        ]
    return Outcome(
        SIMULATOR,
        TITLES[SIMULATOR],
        embedded=f"the simulator of {stack.version}",
        real=f"llm-d-inference-sim {version} ({binary.name} {_flags(server)} random or echo)",
        cases=(*ids, *echo_ids, *(case.id for case in SAMPLED)),
        differences=(*found, *echo_found, *sampled_found),
        notes=(f"random replies compared by distribution over {samples} requests a side",),
    )


def _flags(server: ModelServer) -> str:
    """The model container's flags, its mode last and left open (both modes are run)."""
    return " ".join([*_without(list(server.args), {"--mode"}), "--mode"])


def _render(manifests: Path) -> str:
    from maas_fidelity.manifests import render  # kubectl kustomize, as the stacks render

    return render(manifests).text
