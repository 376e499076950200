"""Token rate limits per tier (TokenRateLimitPolicy: usage.total_tokens of responses).

Limitador admits a request while the tokens used so far are below the budget, and adds each
response's usage afterwards: the request that crosses the budget succeeds, the next is 429.
Prompts are long so the budget is crossed well before the tier's request limit.
"""

from __future__ import annotations

import json

import allure
import pytest
from tests.fixtures.identities import TokenFor
from tests.fixtures.models import ModelRef

from maas_e2e.api import MaasApi
from maas_e2e.budget import (
    prompt_tokens_to_cross_by_completions,
    requests_available,
    words_to_cross,
)
from maas_e2e.expected import Expected, Limit
from maas_e2e.reporting.attach import attach_token_run

pytestmark = [pytest.mark.e2e, pytest.mark.token_limits]


def run_until_429(
    api: MaasApi, model: ModelRef, token: str, words: int, max_requests: int, stream: bool = False
) -> list[tuple[int, int]]:
    """(status, total_tokens) per request, stopping after the first 429."""
    messages = [{"role": "user", "content": " ".join(["token"] * words)}]
    results: list[tuple[int, int]] = []
    with allure.step(f"send up to {max_requests} prompts of {words} words until the first 429"):
        for _ in range(max_requests):
            if stream:
                status, events = api.stream_chat(
                    model.url, token, model=model.name, messages=messages, max_tokens=1,
                    stream_options={"include_usage": True},
                )  # fmt: skip
                used = _stream_usage(events) if status == 200 else 0
            else:
                resp = api.chat(model.url, token, model=model.name, messages=messages, max_tokens=1)
                status = resp.status_code
                used = resp.json()["usage"]["total_tokens"] if status == 200 else 0
            results.append((status, used))
            if status == 429:
                break
    return results


def _stream_usage(events: list[str]) -> int:
    for event in events:
        if event != "[DONE]" and (usage := json.loads(event).get("usage")):
            return usage["total_tokens"]
    raise AssertionError("streamed response with include_usage carried no usage chunk")


def spend_the_budget(
    api: MaasApi,
    model: ModelRef,
    token: str,
    expected: Expected,
    tier: str,
    stream: bool = False,
) -> list[tuple[int, int]]:
    """Prompts long enough to cross the tier's budget before its request limit, until a 429."""
    requests = expected.request_limit(tier)
    words = words_to_cross(expected.token_limit(tier), requests)
    return run_until_429(api, model, token, words, requests_available(requests), stream)


def expected_statuses(results: list[tuple[int, int]], budget: Limit) -> list[int]:
    """What Limitador must answer: 200 while the tokens used before the request < budget."""
    used, statuses = 0, []
    for status, tokens in results:
        statuses.append(200 if used < budget.amount else 429)
        used += tokens if status == 200 else 0
    return statuses


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_token_budget_admits_the_crossing_request_then_429(
    api: MaasApi,
    model: ModelRef,
    token_for: TokenFor,
    expected: Expected,
    token_crossable_tier: str,
    stream: bool,
) -> None:
    tier = token_crossable_tier
    budget = expected.token_limit(tier)
    results = spend_the_budget(api, model, token_for(tier), expected, tier, stream)
    actual = [s for s, _ in results]
    wanted = expected_statuses(results, budget)
    attach_token_run(
        results, wanted, budget, title=f"{tier} token budget ({'sse' if stream else 'json'})"
    )
    assert actual == wanted, (
        f"{tier} budget {budget}: expected {wanted}, got {actual} "
        f"(tokens per response: {[t for _, t in results]})"
    )
    assert actual[-1] == 429, (
        f"{tier} budget {budget}: no 429 after {len(actual)} requests using "
        f"{sum(t for _, t in results)} tokens"
    )


def test_higher_tiers_are_not_token_limited_at_the_lowest_tiers_volume(
    api: MaasApi,
    model: ModelRef,
    token_for: TokenFor,
    expected: Expected,
    token_richer_tier: str,
    lowest_tier: str,
) -> None:
    lowest, requests = expected.token_limit(lowest_tier), expected.request_limit(lowest_tier)
    words = words_to_cross(lowest, requests)
    if words is None:
        pytest.skip(
            f"not made: {lowest_tier}'s budget {lowest} cannot be crossed: nothing to compare"
        )
    count = requests_available(requests)
    results = run_until_429(api, model, token_for(token_richer_tier), words, count)
    attach_token_run(
        results,
        [200] * count,
        lowest,
        title=f"{token_richer_tier} at {lowest_tier}'s volume",
        label=f"{lowest_tier}'s token limit {lowest}: {token_richer_tier} is not held to it",
    )
    used = sum(t for _, t in results)
    assert used >= lowest.amount, f"the run used {used} tokens, not past {lowest}"
    statuses = [s for s, _ in results]
    own = expected.token_limit(token_richer_tier)
    assert statuses == [200] * count, (
        f"{token_richer_tier} ({own}) at {used} tokens (past {lowest_tier}'s {lowest}): "
        f"got {statuses}"
    )


def chat_usage(api: MaasApi, model: ModelRef, token: str, words: int) -> tuple[int, dict]:
    """One chat with a prompt of `words` words and a one-token completion: status and usage."""
    messages = [{"role": "user", "content": " ".join(["token"] * words)}]
    resp = api.chat(model.url, token, model=model.name, messages=messages, max_tokens=1)
    return resp.status_code, resp.json().get("usage", {}) if resp.status_code == 200 else {}


def test_completion_tokens_count_against_the_budget(
    api: MaasApi,
    model: ModelRef,
    token_for: TokenFor,
    expected: Expected,
    token_crossable_tier: str,
) -> None:
    """Prompts sized so their tokens alone stay under the budget and the one-token completions
    cross it: a gateway counting only prompt_tokens would let the last request through."""
    tier = token_crossable_tier
    budget, requests = expected.token_limit(tier), expected.request_limit(tier)
    token = token_for(tier)
    calibration_words = 10
    status, usage = chat_usage(api, model, token, calibration_words)
    assert status == 200, f"calibration request: expected 200, got {status}"
    overhead = usage["prompt_tokens"] - calibration_words
    planned = requests_available(requests) - 2
    prompt = prompt_tokens_to_cross_by_completions(
        budget, usage["total_tokens"], usage["prompt_tokens"], planned
    )
    if prompt is None or prompt - overhead < 1:
        pytest.skip(
            f"not made: {tier} budget {budget} leaves no room to cross it by completions alone"
        )
    used, used_prompt = usage["total_tokens"], usage["prompt_tokens"]
    results = [(status, usage["total_tokens"])]
    try:
        for index in range(planned):
            status, usage = chat_usage(api, model, token, prompt - overhead)
            results.append((status, usage.get("total_tokens", 0)))
            assert status == 200, f"request #{index + 2} at {used} of {budget}: got {status}"
            assert usage["prompt_tokens"] == prompt, (
                f"planned {prompt} prompt tokens, the model counted {usage['prompt_tokens']}: "
                "its tokenizer is not one token per repeated word, the plan cannot hold"
            )
            used, used_prompt = used + usage["total_tokens"], used_prompt + usage["prompt_tokens"]
        status, last = chat_usage(api, model, token, 1)
        results.append((status, last.get("total_tokens", 0)))
        assert status == 429, (
            f"{tier} budget {budget}: {used} total tokens used ({used_prompt} of them prompt "
            f"tokens), so the next request must be 429; got {status}"
        )
    finally:
        attach_token_run(
            results,
            [200] * (planned + 1) + [429],
            budget,
            title=f"{tier} budget crossed by completion tokens",
        )


def test_a_second_user_keeps_its_own_token_budget(
    api: MaasApi,
    model: ModelRef,
    token_for: TokenFor,
    expected: Expected,
    token_crossable_tier: str,
) -> None:
    tier = token_crossable_tier
    budget = expected.token_limit(tier)
    spent = spend_the_budget(api, model, token_for(tier), expected, tier)
    assert spent[-1][0] == 429, f"{tier} budget {budget}: the first user never got a 429: {spent}"
    status, _ = chat_usage(api, model, token_for(tier), 1)
    assert status == 200, f"a second {tier} user after the first spent {budget}: got {status}"
