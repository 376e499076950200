"""Planning a token-limit run: how long prompts must be to cross a budget in few requests."""

from __future__ import annotations

import math

from maas_e2e.expected import Limit

MAX_PROMPT_WORDS = 800
"""llm-d-inference-sim refuses prompt + completion above its 1024-token context."""
UNLIMITED_REQUESTS = 12
"""Requests a run may send when the tier has no request limit."""


def requests_available(requests: Limit | None) -> int:
    """Requests one user can send without meeting the request limit, keeping one spare."""
    return requests.amount - 1 if requests else UNLIMITED_REQUESTS


def words_to_cross(budget: Limit, requests: Limit | None) -> int | None:
    """Words per prompt so the budget is crossed one request before the run's last; None if
    the simulator's context cannot hold such a prompt."""
    room = requests_available(requests) - 1
    if room < 1:
        return None
    words = math.ceil(budget.amount / room)
    return words if words <= MAX_PROMPT_WORDS else None


def prompt_tokens_to_cross_by_completions(
    budget: Limit, used: int, used_prompt: int, requests: int
) -> int | None:
    """Prompt tokens per request so that `requests` more one-token completions cross the budget
    counted on total_tokens, while their prompts alone would not: only counting the completion
    tokens brings the 429. `used`/`used_prompt` are what earlier requests already spent."""
    if requests < 1:
        return None
    prompt = (budget.amount - used_prompt - 1) // requests
    if prompt < 1 or used + requests * (prompt + 1) < budget.amount:
        return None
    return prompt
