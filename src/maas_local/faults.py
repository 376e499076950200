"""The fault catalogue: deliberate defects the embedded stack can be started with.

The e2e suite is only worth trusting if it turns red when MaaS breaks a promise. Each fault
here is a realistic regression in one component (a missing check, a wrong field, a step done
in the wrong order) that breaks exactly one promise of the contract (its row in docs/contract.md
names the promise and the test that catches it); `maas-local up --fault NAME` starts the stack
with it so the suite's own tests can prove they catch it.

The names are stable (scripts and CI pass them) and the order is the catalogue's reading order.
Each component checks `"<name>" in config.faults` at the one decision the fault concerns.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType

CATALOGUE = MappingProxyType(
    {
        "rate-limit-off": "the gateway never answers 429 for request limits",
        "rate-limit-off-by-one": "the gateway admits limit + 1 requests before its first 429",
        "rate-limit-per-tier": (
            "request limits count per tier, not per user: one user uses up the whole tier's quota"
        ),
        "rbac-denials-count": (
            "requests the gateway denies with 403 (RBAC) still count against the request limit"
        ),
        "rate-window-never-resets": (
            "a request counter's window never expires: a limited user stays limited"
        ),
        "token-limit-off": "the gateway never answers 429 for token limits",
        "token-limit-prompt-only": (
            "token limits count usage.prompt_tokens instead of usage.total_tokens"
        ),
        "token-wrong-audience": (
            "maas-api mints tokens for the audience <instance> instead of <instance>-sa"
        ),
        "token-expiration-ignored": (
            "minted tokens live for the 4h default whatever expiration was requested"
        ),
        "token-wrong-tier-namespace": (
            "tokens are minted in the lowest (free) tier's namespace whatever the caller's tier"
        ),
        "token-unpublished-key": (
            "the API server signs tokens with a key its JWKS does not publish "
            "(its TokenReview still accepts them)"
        ),
        "revocation-noop": "DELETE /v1/tokens answers 204 but earlier tokens keep working",
        "revocation-kills-others": (
            "DELETE /v1/tokens also revokes every other user's tokens in the caller's tier"
        ),
        "expiration-minimum-unchecked": (
            "maas-api does not refuse an expiration below 10 minutes with 400"
        ),
        "expiration-days-accepted": (
            'maas-api grants "1d" as 24h instead of refusing days with 400'
        ),
        "anonymous-model-access": (
            "the gateway forwards model requests without a credential, with no identity"
        ),
        "signature-unverified": (
            "the gateway trusts a token's claims without verifying its signature"
        ),
        "rbac-off": "the gateway applies no model RBAC: any tier reaches any model",
        "models-without-url": "GET /v1/models entries have no url",
        "models-not-ready": "GET /v1/models entries say ready: false for served models",
        "models-empty": "GET /v1/models lists no model",
        "tier-lookup-lowest": (
            "the tier lookup picks the lowest-level tier holding the groups, not the highest"
        ),
        "usage-missing": "the model's non-streaming responses carry no usage",
        "usage-inconsistent": (
            "the model's usage.total_tokens is not prompt_tokens + completion_tokens"
        ),
        "stream-without-done": "the model's streams end without the final data: [DONE]",
        "denied-requests-reach-model": (
            "requests the gateway answers 429 still reach the model (its answer discarded)"
        ),
        "rate-limit-per-model": (
            "request limits count per user and model, not per user: "
            "a user gets the limit again at every model"
        ),
        "token-limit-per-tier": (
            "token limits count per tier, not per user: "
            "one user spends the whole tier's token budget"
        ),
        "models-url-wrong-host": (
            "GET /v1/models entries point at the model's in-cluster service instead of the gateway"
        ),
        "denied-requests-reach-model-untagged": (
            "requests the gateway answers 429 still reach the model, and the gateway drops "
            "x-e2e-request-id from every request it forwards"
        ),
        "default-grant-short": (
            'a grant of the default 4h answers "expiration": "4h0m0s" but mints a token that '
            "lives 1h"
        ),
        "token-extra-audience": (
            "tokens carry the API server's audience https://kubernetes.default.svc "
            "beside the gateway's"
        ),
        "expires-at-not-exp": "maas-api's expiresAt is one minute later than the token's exp",
        "stream-only-done": "the model's streams carry nothing but data: [DONE]",
        "prompt-tokens-zero": "the model reports usage.prompt_tokens 0 whatever the prompt",
        "empty-content": "the model's replies have no text though completion_tokens > 0",
        "no-max-tokens-500": "the model answers 500 to a completion request without max_tokens",
        "max-completion-tokens-ignored": (
            "the model ignores max_completion_tokens: only max_tokens bounds a reply"
        ),
        "rbac-reason-wrong": 'the gateway\'s 403 says X-Ext-Auth-Reason "not authenticated"',
        "rbac-highest-tier-denied": (
            "the gateway's RBAC check denies the highest tier at models its RoleBinding allows"
        ),
        "revocation-kills-others-late": (
            "DELETE /v1/tokens revokes the other users of the caller's tier a moment later"
        ),
        "tool-calls-ignored": (
            'the model ignores tools: tool_choice "required" gets a text reply, no tool_calls'
        ),
    }
)
"""Fault name -> the contract promise it breaks, in catalogue order."""


class UnknownFault(ValueError):
    """A fault name that is not in the catalogue; the message lists the known ones."""


def validate(names: Iterable[str]) -> frozenset[str]:
    """The names as a set, or UnknownFault naming the unknown ones and the whole catalogue."""
    chosen = frozenset(names)
    unknown = sorted(chosen - CATALOGUE.keys())
    if unknown:
        raise UnknownFault(
            f"unknown fault{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"known faults: {', '.join(CATALOGUE)}"
        )
    return chosen


def describe() -> list[str]:
    """One line per fault, name first then what it breaks, names aligned in a column."""
    width = max(map(len, CATALOGUE))
    return [f"{name:<{width}}  {promise}" for name, promise in CATALOGUE.items()]
