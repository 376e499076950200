"""The simulator comparison's pieces: the model container's arguments, echo manifests, event
streams, and masking what random mode decides at random."""

from __future__ import annotations

import yaml

from maas_fidelity.exchange import Observation
from maas_fidelity.simulator import (
    SimulatorNormaliser,
    collapse,
    echo_manifests,
    model_server,
    parse_events,
    reply_kind_masked,
    streamed,
    with_mode,
)

MANIFEST = """
apiVersion: serving.kserve.io/v1alpha1
kind: LLMInferenceService
metadata: {name: opt, namespace: llm}
spec:
  template:
    containers:
      - name: main
        args: [--port, "8000", --model, opt-sim, --mode, random,
               --ssl-certfile, /c, --ssl-keyfile=/k]
"""


def test_the_container_arguments_without_port_and_tls() -> None:
    server = model_server(MANIFEST)
    assert (server.namespace, server.name, server.served_name) == ("llm", "opt", "opt-sim")
    assert server.args == ("--model", "opt-sim", "--mode", "random")
    assert with_mode(server.args, "echo") == ("--model", "opt-sim", "--mode", "echo")


def test_echo_manifests_switch_only_the_mode() -> None:
    [doc] = yaml.safe_load_all(echo_manifests(MANIFEST, model_server(MANIFEST)))
    args = doc["spec"]["template"]["containers"][0]["args"]
    assert args[args.index("--mode") + 1] == "echo"
    assert "--port" in args


def test_a_stream_becomes_its_events() -> None:
    text = 'data: {"a": 1}\n\ndata: {"a": 1}\n\n: comment\ndata: [DONE]\n\n'
    assert parse_events(text) == [{"a": 1}, {"a": 1}, "[DONE]"]
    obs = streamed(Observation(200, "text/event-stream", text))
    assert obs.body == [{"a": 1}, {"a": 1}, "[DONE]"]
    assert streamed(Observation(400, "text/plain", "bad")).body == "bad"
    assert collapse([1, 1, 2, 1]) == [1, 2, 1]


def test_random_mode_masks_text_counts_and_ids_and_collapses_token_chunks() -> None:
    chunk = {"id": "chatcmpl-1", "choices": [{"delta": {"content": "word"}}]}
    other = {"id": "chatcmpl-2", "choices": [{"delta": {"content": "other"}}]}
    events = [chunk, other, {"usage": {"completion_tokens": 2, "prompt_tokens": 3}}, "[DONE]"]
    assert SimulatorNormaliser("random").value(events) == [
        {"id": "<id>", "choices": [{"delta": {"content": "<random text>"}}]},
        {"usage": {"completion_tokens": "<count>", "prompt_tokens": 3}},
        "[DONE]",
    ]
    assert SimulatorNormaliser("echo").value(chunk)["choices"][0]["delta"]["content"] == "word"


def test_whether_tools_were_called_is_masked_where_it_is_random() -> None:
    called = {
        "choices": [{"finish_reason": "tool_calls", "message": {"role": "a", "tool_calls": [1]}}],
        "usage": {"completion_tokens": 12, "prompt_tokens": 1},
    }
    text = {
        "choices": [{"finish_reason": "stop", "message": {"role": "a", "content": "hi"}}],
        "usage": {"completion_tokens": 1, "prompt_tokens": 1},
    }
    masked = [
        reply_kind_masked(Observation(200, "application/json", b)).body for b in (called, text)
    ]
    assert masked[0] == masked[1]
    assert masked[0]["usage"]["prompt_tokens"] == 1


def test_schema_keywords_named_in_go_map_order_compare_in_name_order() -> None:
    n = SimulatorNormaliser("echo")
    one = "jsonschema: additionalProperties 'pattern', 'format' not allowed"
    other = "jsonschema: additionalProperties 'format', 'pattern' not allowed"
    assert n.value(one) == n.value(other) == other
