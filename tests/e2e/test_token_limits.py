"""Token rate limits per tier (TokenRateLimitPolicy: usage.total_tokens of responses).

Limitador admits a request while the tokens used so far are below the budget, and adds each
response's usage afterwards: the request that crosses the budget succeeds, the next is 429.
Prompts are long so the budget is crossed well before the tier's request limit.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from maas_e2e.auth import Bearer
from maas_e2e.budget import (
    prompt_tokens_to_cross_by_completions,
    requests_available,
    words_to_cross,
)
from maas_e2e.burst import Burst
from maas_e2e.expected import Expected
from maas_e2e.model import Model
from maas_e2e.usage import usage_of
from maas_e2e.users import TokenFor

pytestmark = [pytest.mark.e2e, pytest.mark.token_limits]

STREAMED = {"stream": True, "stream_options": {"include_usage": True}}
CALIBRATION_WORDS = 10


def words(count: int) -> list[dict[str, str]]:
    """A prompt of `count` words, one token each for the simulator."""
    return [{"role": "user", "content": " ".join(["token"] * count)}]


def prompt_tokens(reply: httpx.Response) -> int | None:
    """What the model counted of the request's prompt."""
    return (usage_of(reply) or {}).get("prompt_tokens")


def spend_the_budget(
    model: Model, token: Bearer, expected: Expected, tier: str, **body: Any
) -> Burst:
    """Prompts long enough to cross the tier's budget before its request limit, until a 429."""
    requests = expected.request_limit(tier)
    prompt = words(words_to_cross(expected.token_limit(tier), requests))
    return model.burst(
        token, requests_available(requests), messages=prompt, title=f"{tier} budget", **body
    )


@pytest.mark.parametrize("body", [{}, STREAMED], ids=["json", "sse"])
def test_token_budget_admits_the_crossing_request_then_429(
    model: Model,
    token_for: TokenFor,
    expected: Expected,
    token_crossable_tier: str,
    body: dict[str, Any],
) -> None:
    tier = token_crossable_tier
    run = spend_the_budget(model, token_for(tier), expected, tier, **body)
    run.assert_token_budget(expected.token_limit(tier))


def test_higher_tiers_are_not_token_limited_at_the_lowest_tiers_volume(
    model: Model,
    token_for: TokenFor,
    expected: Expected,
    token_richer_tier: str,
    lowest_tier: str,
) -> None:
    lowest, requests = expected.token_limit(lowest_tier), expected.request_limit(lowest_tier)
    count = words_to_cross(lowest, requests)
    if count is None:
        pytest.skip(
            f"not made: {lowest_tier}'s budget {lowest} cannot be crossed: nothing to compare"
        )
    title = f"{token_richer_tier} at {lowest_tier}'s volume"
    run = model.burst(
        token_for(token_richer_tier), requests_available(requests), messages=words(count),
        title=title,
    )  # fmt: skip
    run.assert_all(200)
    assert run.tokens_used >= lowest.amount, (
        f"the run used {run.tokens_used} tokens, not past {lowest_tier}'s {lowest}"
    )


def test_completion_tokens_count_against_the_budget(
    model: Model, token_for: TokenFor, expected: Expected, token_crossable_tier: str
) -> None:
    """Prompts sized so their tokens alone stay under the budget and the one-token completions
    cross it: a gateway counting only prompt_tokens would let the last request through."""
    tier = token_crossable_tier
    budget, requests = expected.token_limit(tier), expected.request_limit(tier)
    token = token_for(tier)
    calibration = model.chat(token, messages=words(CALIBRATION_WORDS), max_tokens=1)
    assert calibration.status_code == 200, f"calibration: got {calibration.status_code}"
    usage = calibration.json()["usage"]
    overhead = usage["prompt_tokens"] - CALIBRATION_WORDS
    planned = requests_available(requests) - 2
    prompt = prompt_tokens_to_cross_by_completions(
        budget, usage["total_tokens"], usage["prompt_tokens"], planned
    )
    if prompt is None or prompt - overhead < 1:
        pytest.skip(
            f"not made: {tier} budget {budget} leaves no room to cross it by completions alone"
        )
    run = model.burst(
        token, planned, messages=words(prompt - overhead), title="under the budget",
        stop_if=lambda r: r.status_code != 200 or prompt_tokens(r) != prompt,
    )  # fmt: skip
    run.assert_all(200, upto=planned)
    counted = [prompt_tokens(r) for r in run.responses]
    assert counted == [prompt] * planned, (
        f"planned {prompt} prompt tokens a request, the model counted {counted}: its tokenizer "
        "is not one token per repeated word, the plan cannot hold"
    )
    used = usage["total_tokens"] + run.tokens_used
    prompts = usage["prompt_tokens"] + sum(counted)
    title = f"past the budget: {used} tokens used, {prompts} of them prompt tokens"
    model.burst(token, 1, messages=words(1), title=title).assert_all(429)


def test_a_second_user_keeps_its_own_token_budget(
    model: Model, token_for: TokenFor, expected: Expected, token_crossable_tier: str
) -> None:
    tier = token_crossable_tier
    first = spend_the_budget(model, token_for(tier), expected, tier)
    assert first.statuses[-1:] == [429], (
        f"the first {tier} user never got a 429\n{first.timeline()}"
    )
    model.burst(token_for(tier), 1, title=f"a second {tier} user").assert_all(200)
