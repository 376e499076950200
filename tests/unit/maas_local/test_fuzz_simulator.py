"""Hostile requests at the embedded model server (llm-d-inference-sim v0.5.1's HTTP contract).

Completions answer 200 (JSON, or SSE for a stream), 400 for a request the model refuses, 404 for
another model's name, both as OpenAI's `{"error": {message, type, param, code}}`; the model list
answers 200; anything else is the router's 404 or 405 (or its trailing-slash redirect). Never a
5xx (the simulator's only 500 is a fault of the catalogue), never a hang. Echo mode is fuzzed too:
it sends the request's own text back, so what the request holds must survive the reply.
"""

from __future__ import annotations

from collections.abc import Iterator

import fuzz_contract as contract
import httpx
import pytest
from fuzzing import by_endpoint, described, judge, replay, send, send_case
from hypothesis import given
from hypothesis import strategies as st

from maas_fidelity import hostile
from maas_fidelity.hostile import HostileCase
from maas_local.servers import Component, ServerGroup, bind, serve_in_thread
from maas_local.simulator import SimulatorConfig, build_app

MODEL = "facebook-opt-125m-simulated"
MODES = ("random", "echo")


@pytest.fixture(scope="module")
def simulators() -> Iterator[dict[str, httpx.Client]]:
    """One simulator per mode, as the stack's model deployments run it."""
    group = ServerGroup(
        [Component(m, bind(0), build_app(SimulatorConfig(model=MODEL, mode=m))) for m in MODES]
    )
    with serve_in_thread(group) as started:
        clients = {c.name: httpx.Client(base_url=c.url) for c in started.components}
        yield clients
        for client in clients.values():
            client.close()


ENDPOINTS = by_endpoint(hostile.simulator_cases(MODEL))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cases", [g for _, g in ENDPOINTS], ids=[n for n, _ in ENDPOINTS])
def test_fixed_hostile_cases(
    simulators: dict[str, httpx.Client], mode: str, cases: list[HostileCase]
) -> None:
    def play(case: HostileCase) -> None:
        resp = send_case(simulators[mode], case, credential=None)
        what = described(case.method, case.path, case.body, case.headers)
        judge(resp, contract.simulator(case.method, case.path, MODEL), what)

    replay(cases, play)


@given(
    mode=st.sampled_from(MODES),
    chat=st.booleans(),
    data=st.data(),
    content_type=hostile.content_types(),
)
def test_completions_answer_any_body_within_the_contract(
    simulators: dict[str, httpx.Client],
    mode: str,
    chat: bool,
    data: st.DataObject,
    content_type: bytes,
) -> None:
    path = hostile.CHAT if chat else hostile.COMPLETIONS
    body = data.draw(hostile.completion_bodies(MODEL, chat=chat), label="body")
    headers = [("content-type", content_type)]
    resp = send(simulators[mode], "POST", path, body, headers)
    judge(resp, contract.COMPLETE, described("POST", path, body, headers))


@given(method=hostile.methods(), path=hostile.paths(["/v1", hostile.MODELS, hostile.CHAT]))
def test_any_other_request_is_routed_or_refused_never_a_server_error(
    simulators: dict[str, httpx.Client], method: str, path: str
) -> None:
    resp = send(simulators["random"], method, path, b"{}")
    judge(resp, contract.simulator(method, path, MODEL), described(method, path, b"{}", ()))
