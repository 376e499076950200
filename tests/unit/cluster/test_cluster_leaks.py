"""The bring-up leak proof on a cluster: denied requests leave the models' served-request
counters unchanged, a grown counter fails naming the counts, unreadable counters are said, not
failed; and every test's leak check reports what the proof found."""

from __future__ import annotations

import pytest
from kubefake import (
    FakeGateway,
    FakeKubectl,
    e2e_expected,
    identity_rules,
    kube,
    metrics_rules,
    pod_metrics_path,
)

from maas_e2e.targets.accounts import ProbeIdentities
from maas_e2e.targets.leakproof import BURST, DeniedRequestsServed, prove_no_leaks
from maas_e2e.targets.metrics import samples
from maas_e2e.targets.shared_run import RunState

GW = "https://maas.apps.example.com"
FREE_MODEL, PREMIUM_MODEL = e2e_expected().models
FREE_PATH, PREMIUM_PATH = pod_metrics_path(FREE_MODEL), pod_metrics_path(PREMIUM_MODEL)


def _prove(gateway: FakeGateway, fake: FakeKubectl | None = None, *, counter: bool = True) -> str:
    fake = metrics_rules(identity_rules(fake or FakeKubectl()), gateway, counter=counter)
    identities = ProbeIdentities(kube(fake), gateway.expected, RunState())
    return prove_no_leaks(kube(fake), gateway.send, GW, gateway.expected, identities)


def test_denied_requests_that_leave_the_counters_unchanged_hold() -> None:
    text = _prove(FakeGateway(e2e_expected()))
    assert text.startswith(
        "bring-up leak proof (once per run, before the first test): held: 12 requests the "
        "gateway denied left vllm:request_success_total unchanged"
    ), text
    assert f"{FREE_PATH}: 5 -> 5" in text, text
    assert f"{PREMIUM_PATH}: 0 -> 0" in text, text


@pytest.mark.parametrize(
    "part",
    [
        f"401 without a token to {FREE_MODEL.path}: 401x{BURST}",
        f"401 without a token to {PREMIUM_MODEL.path}: 401x{BURST}",
        f"403 for tier free to {PREMIUM_MODEL.path}: 403x{BURST}",
        f"429 for tier free past 5 per 2m to {FREE_MODEL.path}: 429x{BURST}",
    ],
    ids=["401-free-model", "401-premium-model", "403-restricted-model", "429-past-the-limit"],
)
def test_the_burst_holds_every_kind_of_denial(part: str) -> None:
    text = _prove(FakeGateway(e2e_expected()))
    assert part in text, text


def test_the_quota_is_spent_before_the_counters_are_read() -> None:
    gateway = FakeGateway(e2e_expected())
    _prove(gateway)
    assert gateway.served == {FREE_MODEL.path: 5}, (
        f"only the 5 requests spending the free quota are served: {gateway.served}"
    )


def test_denied_requests_that_reach_the_model_fail_the_bring_up_naming_the_counts() -> None:
    with pytest.raises(DeniedRequestsServed) as raised:
        _prove(FakeGateway(e2e_expected(), leak=True))
    message = str(raised.value)
    assert "requests the gateway denied reached the models" in message, message
    assert "grew by 12 across a burst of 12 requests of which 0 were let through" in message, (
        message
    )
    assert f"{FREE_PATH}: 5 -> 11" in message, message
    assert f"{PREMIUM_PATH}: 0 -> 6" in message, message


def test_requests_the_gateway_let_through_are_not_counted_as_leaks() -> None:
    text = _prove(FakeGateway(e2e_expected(), authenticate=False))
    assert ": held: 6 requests" in text, text
    assert "grown by 6, no more than the 6 let through" in text, text
    assert f"not denied: 401 without a token to {FREE_MODEL.path} answered 200x3" in text, text


def test_a_simulator_without_the_counter_is_recorded_not_failed() -> None:
    gateway = FakeGateway(e2e_expected())
    text = _prove(gateway, counter=False)
    assert text == (
        "bring-up leak proof (once per run, before the first test): not made: could not read "
        f"{FREE_PATH}: no vllm:request_success_total on the page (llm-d-inference-sim v0.5.1 "
        "exposes no counter of served requests; later versions do)"
    ), text
    assert gateway.sent == [], "no burst is sent when the counters cannot be read"


def test_metrics_the_api_server_refuses_are_recorded_not_failed() -> None:
    forbidden = 'Error from server (Forbidden): pods "x" is forbidden: cannot get pods/proxy'
    fake = FakeKubectl().fail("get", "--raw", PREMIUM_PATH, stderr=forbidden)
    text = _prove(FakeGateway(e2e_expected()), fake)
    assert text.endswith(f"not made: could not read {PREMIUM_PATH}: {forbidden}"), text


def test_a_model_without_pods_is_recorded_not_failed() -> None:
    fake = FakeKubectl().on("get", "pods", json={"kind": "List", "items": []})
    text = _prove(FakeGateway(e2e_expected()), fake)
    assert text.endswith(
        "not made: could not read pods -n llm -l app.kubernetes.io/name="
        "facebook-opt-125m-simulated,kserve.io/component=workload: no such pods"
    ), text


def test_parts_that_cannot_be_set_up_are_said_and_the_rest_still_proves() -> None:
    text = _prove(FakeGateway(e2e_expected(), mint_status=500))
    assert ": held: 6 requests" in text, text
    assert "no 403 part: minting a MaaS token" in text, text
    assert "no 429 part: minting a MaaS token" in text, text


def test_a_counter_that_went_down_is_inconclusive_not_failed() -> None:
    pages = iter(["7", "7", "1"])  # readable?, before, after
    fake = FakeKubectl().on(
        "get", "--raw", FREE_PATH,
        json=lambda _stdin: f'vllm:request_success_total{{model_name="m"}} {next(pages)}\n',
    )  # fmt: skip
    text = _prove(FakeGateway(e2e_expected()), fake)
    assert ": inconclusive: a counter went down (pod restarted?)" in text, text
    assert f"{FREE_PATH}: 7 -> 1" in text, text


def test_counters_are_summed_over_label_sets() -> None:
    page = (
        "# TYPE vllm:request_success_total counter\n"
        'vllm:request_success_total{finished_reason="stop",model_name="m"} 3\n'
        'vllm:request_success_total{finished_reason="length",model_name="m"} 4\n'
        'vllm:num_requests_running{model_name="m"} 1\n'
    )
    assert sum(v for _l, v in samples(page, "vllm:request_success_total")) == 7


def test_label_values_are_unescaped() -> None:
    page = 'vllm:request_success_total{model_name="a\\\\b \\"q\\" \\n"} 1\n'
    [(labels, value)] = samples(page, "vllm:request_success_total")
    assert (labels["model_name"], value) == ('a\\b "q" \n', 1.0), labels
