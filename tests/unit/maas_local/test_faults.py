"""The fault catalogue: every fault, started alone, visibly breaks the promise it names.

Each case is a probe (a few requests over HTTP observing one promise) with what a healthy stack
shows and what the stack started with that one fault shows. Both sides are tested, so a probe
that could not tell them apart fails here instead of quietly proving nothing. The healthy side
runs on the session's stack (or a healthy twin of a tweaked configuration); each faulty side
starts a stack of its own.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

from maas_local.config import Limit, StackConfig, load_config
from maas_local.faults import CATALOGUE, UnknownFault, validate
from maas_local.stack import StackUrls, running_stack

E2E_OVERLAY = Path(__file__).resolve().parents[3] / "manifests" / "e2e"
MODEL = ("llm", "facebook-opt-125m-simulated")
PREMIUM_MODEL = ("llm", "premium-simulated")
MODEL_IDS = sorted(name for _, name in (MODEL, PREMIUM_MODEL))
FREE = "tier-free-users"
PREMIUM = "tier-premium-users"
ENTERPRISE = "tier-enterprise-users"
REQUEST_ID = "x-e2e-request-id"
INSTANCE = "maas-default-gateway"
SHORT_WINDOW_S = 1
LATE_REVOCATION_WATCH_S = 2.5
CLI_TIMEOUT_S = 20


# --- talking to a stack -------------------------------------------------------------------------


@dataclass
class Env:
    """One running stack and a client: what every probe works with."""

    urls: StackUrls
    config: StackConfig
    http: httpx.Client

    @property
    def free_limit(self) -> int:
        return self.config.request_limits["free"].limit

    def user_token(self, *groups: str) -> str:
        """A fresh user's `oc whoami -t`."""
        name = f"user-{uuid.uuid4().hex[:10]}"
        resp = self.http.post(
            f"{self.urls.apiserver}/local/v1/users/{name}/token", json={"groups": list(groups)}
        )
        assert resp.status_code == 201, f"expected 201 for a user token, got {resp.text}"
        return resp.json()["token"]

    def mint(self, identity: str, expiration: str = "1h") -> httpx.Response:
        return self.http.post(
            f"{self.urls.gateway}/maas-api/v1/tokens",
            headers=bearer(identity),
            json={"expiration": expiration},
        )

    def maas_token(self, *groups: str, expiration: str = "1h") -> str:
        """A MaaS token for a fresh user with `groups`."""
        resp = self.mint(self.user_token(*groups), expiration)
        assert resp.status_code == 201, f"expected 201 minting, got {resp.status_code} {resp.text}"
        return resp.json()["token"]

    def chat(
        self,
        token: str | None,
        model: tuple[str, str] = MODEL,
        prompt: str = "hi",
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> httpx.Response:
        body = {"model": model[1], "messages": [{"role": "user", "content": prompt}], **extra}
        sent = {**(bearer(token) if token is not None else {}), **(headers or {})}
        path = f"/{model[0]}/{model[1]}/v1/chat/completions"
        return self.http.post(self.urls.gateway + path, headers=sent, json=body)

    def models(self) -> list[dict[str, Any]]:
        resp = self.http.get(
            f"{self.urls.gateway}/v1/models", headers=bearer(self.user_token(FREE))
        )
        assert resp.status_code == 200, f"expected 200 from /v1/models, got {resp.status_code}"
        return resp.json()["data"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def until_first_429(env: Env, token: str, most: int, **extra: Any) -> list[httpx.Response]:
    """Requests until the first 429, never more than `most`."""
    answers: list[httpx.Response] = []
    while len(answers) < most and (not answers or answers[-1].status_code != 429):
        answers.append(env.chat(token, max_tokens=1, **extra))
    return answers


# --- probes: each observes one promise ------------------------------------------------------------


def requests_admitted_past_the_limit(env: Env) -> int:
    """Of limit + 2 requests, how many passed beyond the limit (healthy: none)."""
    token = env.maas_token(FREE)
    statuses = [env.chat(token, max_tokens=1).status_code for _ in range(env.free_limit + 2)]
    assert set(statuses) <= {200, 429}, f"expected only 200 and 429, got {statuses}"
    return statuses.count(200) - env.free_limit


def second_user_after_first_used_the_limit(env: Env) -> int:
    first = env.maas_token(FREE)
    for _ in range(env.free_limit):
        env.chat(first, max_tokens=1)
    return env.chat(env.maas_token(FREE), max_tokens=1).status_code


def other_model_after_the_limit_at_one(env: Env) -> int:
    """A premium user (the tier that may call both models) spends its limit at one model."""
    token, limit = env.maas_token(PREMIUM), env.config.request_limits["premium"].limit
    statuses = [env.chat(token, max_tokens=1).status_code for _ in range(limit)]
    assert statuses == [200] * limit, f"expected {limit} admissions at one model, got {statuses}"
    return env.chat(token, model=PREMIUM_MODEL, max_tokens=1).status_code


def allowed_request_after_a_limit_of_rbac_denials(env: Env) -> int:
    token = env.maas_token(FREE)
    denied = [env.chat(token, model=PREMIUM_MODEL).status_code for _ in range(env.free_limit)]
    assert denied == [403] * env.free_limit, f"expected RBAC denials, got {denied}"
    return env.chat(token, max_tokens=1).status_code


def status_once_the_window_has_passed(env: Env) -> int:
    """Limited, then polled (rejections count nothing) until admitted or well past the window."""
    token = env.maas_token(FREE)
    answers = until_first_429(env, token, most=env.free_limit * 3)
    assert answers[-1].status_code == 429, f"expected to get limited, got {answers[-1]}"
    polling = Retrying(
        stop=stop_after_delay(SHORT_WINDOW_S * 2.5),
        wait=wait_fixed(0.2),
        retry=retry_if_result(lambda status: status == 429),
        retry_error_callback=lambda state: state.outcome.result(),
    )
    return polling(lambda: env.chat(token, max_tokens=1).status_code)


def spend_the_token_budget(env: Env, token: str, prompt: str, max_tokens: int) -> None:
    """Spend the free token budget (by `usage.total_tokens`) within the request limit.

    With ignore_eos every reply is its whole allowance: v0.5.1 draws most lengths far below the
    bound, which could leave the budget unspent within the requests the limit allows.
    """
    budget = env.config.token_limits["free"].limit
    used = 0
    for _ in range(env.free_limit - 1):
        resp = env.chat(token, prompt=prompt, max_tokens=max_tokens, ignore_eos=True)
        assert resp.status_code == 200, f"expected admission at {used}/{budget}, got {resp}"
        used += resp.json()["usage"]["total_tokens"]
        if used >= budget:
            break
    assert used >= budget, f"expected to spend the budget {budget} in time, spent {used}"


def status_after_the_token_budget(env: Env, prompt: str, max_tokens: int) -> int:
    """Spend the free token budget, then ask once more."""
    token = env.maas_token(FREE)
    spend_the_token_budget(env, token, prompt, max_tokens)
    return env.chat(token, max_tokens=1).status_code


def status_after_big_prompts(env: Env) -> int:
    budget = env.config.token_limits["free"].limit
    return status_after_the_token_budget(env, "word " * (budget * 6 // 10), max_tokens=1)


def status_after_big_completions(env: Env) -> int:
    return status_after_the_token_budget(env, "hi", max_tokens=1000)


def second_user_after_first_spent_the_token_budget(env: Env) -> int:
    spend_the_token_budget(env, env.maas_token(FREE), "hi", max_tokens=1000)
    return env.chat(env.maas_token(FREE), max_tokens=1).status_code


def token_audience(env: Env) -> Any:
    return claims(env.maas_token(FREE))["aud"]


def token_lifetime_for_1h(env: Env) -> int:
    minted = claims(env.maas_token(FREE, expiration="1h"))
    return minted["exp"] - minted["iat"]


def premium_token_namespace(env: Env) -> str:
    return claims(env.maas_token(PREMIUM))["sub"].split(":")[2]


def jwks_verifies_and_model_accepts(env: Env) -> tuple[bool, int]:
    token = env.maas_token(FREE)
    discovery = env.http.get(f"{env.urls.apiserver}/.well-known/openid-configuration").json()
    published = jwt.PyJWKSet.from_dict(env.http.get(discovery["jwks_uri"]).json())
    verified = False
    for key in published.keys:
        try:
            jwt.decode(token, key, algorithms=["RS256"], options={"verify_aud": False})
        except jwt.InvalidSignatureError:
            continue
        verified = True
    return verified, env.chat(token, max_tokens=1).status_code


def revocation_then_old_token(env: Env) -> tuple[int, int]:
    identity = env.user_token(FREE)
    minted = env.mint(identity)
    assert minted.status_code == 201, f"expected 201 minting, got {minted.status_code}"
    revoked = env.http.delete(f"{env.urls.gateway}/maas-api/v1/tokens", headers=bearer(identity))
    old = env.chat(minted.json()["token"], max_tokens=1)
    return revoked.status_code, old.status_code


def other_users_token_after_a_revocation(env: Env) -> int:
    others = env.maas_token(FREE)
    identity = env.user_token(FREE)
    assert env.mint(identity).status_code == 201, "expected the revoking user to mint first"
    revoked = env.http.delete(f"{env.urls.gateway}/maas-api/v1/tokens", headers=bearer(identity))
    assert revoked.status_code == 204, f"expected 204 revoking, got {revoked.status_code}"
    return env.chat(others, max_tokens=1).status_code


def other_users_token_at_once_and_once_settled(env: Env) -> tuple[int, int]:
    """Another user's token at maas-api (no limit counts it) right after a revocation, then
    after watching it for longer than a late revocation takes (the first status other than
    200, or 200)."""
    others = env.maas_token(FREE)
    identity = env.user_token(FREE)
    assert env.mint(identity).status_code == 201, "expected the revoking user to mint first"
    revoked = env.http.delete(f"{env.urls.gateway}/maas-api/v1/tokens", headers=bearer(identity))
    assert revoked.status_code == 204, f"expected 204 revoking, got {revoked.status_code}"

    def listing() -> int:
        return env.http.get(
            f"{env.urls.gateway}/maas-api/v1/models", headers=bearer(others)
        ).status_code

    at_once = listing()
    watching = Retrying(
        stop=stop_after_delay(LATE_REVOCATION_WATCH_S),
        wait=wait_fixed(0.1),
        retry=retry_if_result(lambda status: status == 200),
        retry_error_callback=lambda state: state.outcome.result(),
    )
    return at_once, watching(listing)


def mint_reply(env: Env, expiration: str) -> tuple[int, Any]:
    """The status and the reply's `expiration` (201) or `error` (otherwise)."""
    resp = env.mint(env.user_token(FREE), expiration)
    return resp.status_code, resp.json().get("expiration" if resp.status_code == 201 else "error")


def granted_for_1d(env: Env) -> tuple[int, Any]:
    """The status and the granted `expiration` (None when refused)."""
    resp = env.mint(env.user_token(FREE), "1d")
    return resp.status_code, resp.json().get("expiration")


def model_request_without_credential(env: Env) -> int:
    return env.chat(None, max_tokens=1).status_code


def forged_signature(env: Env) -> int:
    """A real token's claims signed by a key the cluster never had."""
    genuine = env.maas_token(FREE)
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = jwt.get_unverified_header(genuine)["kid"]
    forged = jwt.encode(claims(genuine), forger, algorithm="RS256", headers={"kid": kid})
    return env.chat(forged, max_tokens=1).status_code


def free_tier_at_premium_model(env: Env) -> int:
    return env.chat(env.maas_token(FREE), model=PREMIUM_MODEL, max_tokens=1).status_code


def reason_of_an_rbac_403(env: Env) -> tuple[int, str | None]:
    resp = env.chat(env.maas_token(FREE), model=PREMIUM_MODEL, max_tokens=1)
    return resp.status_code, resp.headers.get("x-ext-auth-reason")


def enterprise_tier_at_premium_model(env: Env) -> int:
    return env.chat(env.maas_token(ENTERPRISE), model=PREMIUM_MODEL, max_tokens=1).status_code


def models_without_url(env: Env) -> list[str]:
    return sorted(m["id"] for m in env.models() if "url" not in m)


def models_listed_off_the_gateway(env: Env) -> list[str]:
    """Ids whose listed url does not go through the gateway users reach."""
    return sorted(m["id"] for m in env.models() if not m["url"].startswith(env.urls.gateway + "/"))


def models_not_ready(env: Env) -> list[str]:
    return sorted(m["id"] for m in env.models() if m.get("ready") is not True)


def model_ids(env: Env) -> list[str]:
    return sorted(m["id"] for m in env.models())


def tier_of_free_premium_and_enterprise_groups(env: Env) -> Any:
    groups = ["system:authenticated", PREMIUM, "enterprise-group"]
    resp = env.http.post(f"{env.urls.maas_api}/v1/tiers/lookup", json={"groups": groups})
    assert resp.status_code == 200, f"expected 200 from the lookup, got {resp.status_code}"
    return resp.json()["tier"]


def answer_has_usage(env: Env) -> bool:
    resp = env.chat(env.maas_token(FREE), max_tokens=3)
    assert resp.status_code == 200, f"expected 200, got {resp.status_code}"
    return "usage" in resp.json()


def usage_total_is_the_sum(env: Env) -> bool:
    resp = env.chat(env.maas_token(FREE), max_tokens=3)
    usage = resp.json()["usage"]
    return usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def stream_ends_with_done(env: Env) -> bool:
    resp = env.chat(env.maas_token(FREE), max_tokens=3, stream=True)
    assert resp.status_code == 200, f"expected 200, got {resp.status_code}"
    events = [line[5:].strip() for line in resp.text.splitlines() if line.startswith("data:")]
    assert len(events) > 2, f"expected a stream of events, got {events}"
    return events[-1] == "[DONE]"


def limited_request_reached_the_model(env: Env) -> tuple[int, bool]:
    token, ids = env.maas_token(FREE), []
    status = 0
    for _ in range(env.free_limit + 1):
        ids.append(uuid.uuid4().hex)
        status = env.chat(token, max_tokens=1, headers={REQUEST_ID: ids[-1]}).status_code
        if status == 429:
            break
    served = env.http.get(f"{env.urls.models[MODEL]}/_local/served").json()["ids"]
    return status, ids[-1] in served


def served_count(env: Env) -> int:
    return env.http.get(f"{env.urls.models[MODEL]}/_local/served").json()["count"]


def admitted_tagged_and_limited_kept_out(env: Env) -> tuple[bool, bool]:
    """(the admitted request's id reached the model, the limited request reached it at all)."""
    token, request_id = env.maas_token(FREE), uuid.uuid4().hex
    assert env.chat(token, max_tokens=1, headers={REQUEST_ID: request_id}).status_code == 200
    answers = until_first_429(env, token, most=env.free_limit + 1)
    assert answers[-1].status_code == 429, f"expected to get limited, got {answers[-1]}"
    before = served_count(env)
    assert env.chat(token, max_tokens=1).status_code == 429
    served = env.http.get(f"{env.urls.models[MODEL]}/_local/served").json()["ids"]
    return request_id in served, served_count(env) > before


def default_grant_and_token_lifetime(env: Env) -> tuple[str, int]:
    resp = env.http.post(
        f"{env.urls.gateway}/maas-api/v1/tokens", headers=bearer(env.user_token(FREE)), json={}
    )
    assert resp.status_code == 201, f"expected 201 minting, got {resp.status_code} {resp.text}"
    minted = claims(resp.json()["token"])
    return resp.json()["expiration"], minted["exp"] - minted["iat"]


def expires_at_minus_exp(env: Env) -> int:
    resp = env.mint(env.user_token(FREE))
    assert resp.status_code == 201, f"expected 201 minting, got {resp.status_code} {resp.text}"
    return resp.json()["expiresAt"] - claims(resp.json()["token"])["exp"]


def stream_data(resp: httpx.Response) -> list[str]:
    assert resp.status_code == 200, f"expected 200, got {resp.status_code}"
    return [line[5:].strip() for line in resp.text.splitlines() if line.startswith("data:")]


def stream_has_role_text_and_finish(env: Env) -> bool:
    events = stream_data(env.chat(env.maas_token(FREE), max_tokens=3, stream=True))
    choices = [c["choices"][0] for c in map(json.loads, events[:-1]) if c["choices"]]
    return (
        bool(choices)
        and choices[0]["delta"].get("role") == "assistant"
        and any(c["delta"].get("content") for c in choices)
        and choices[-1]["finish_reason"] in ("stop", "length")
    )


def prompt_counted_and_total_the_sum(env: Env) -> tuple[bool, bool]:
    """(usage.prompt_tokens > 0 for the prompt "hi", total = prompt + completion)."""
    resp = env.chat(env.maas_token(FREE), max_tokens=3)
    assert resp.status_code == 200, f"expected 200, got {resp.status_code}"
    usage = resp.json()["usage"]
    prompt, completion = usage["prompt_tokens"], usage["completion_tokens"]
    return prompt > 0, usage["total_tokens"] == prompt + completion


def answer_tokens_and_text(env: Env) -> tuple[bool, bool]:
    """(completion_tokens > 0, the answer has text)."""
    resp = env.chat(env.maas_token(FREE), max_tokens=3)
    assert resp.status_code == 200, f"expected 200, got {resp.status_code}"
    body = resp.json()
    return body["usage"]["completion_tokens"] > 0, bool(body["choices"][0]["message"]["content"])


def status_without_max_tokens(env: Env) -> int:
    return env.chat(env.maas_token(FREE)).status_code


def answer_cut_at_max_completion_tokens(env: Env) -> bool:
    """With max_completion_tokens 1 and a larger max_tokens: one token, finish_reason length.

    Deterministic both ways: drawn up to max_tokens, a one-token answer says stop.
    """
    resp = env.chat(env.maas_token(FREE), max_completion_tokens=1, max_tokens=50)
    assert resp.status_code == 200, f"expected 200, got {resp.status_code}"
    body = resp.json()
    answer = (body["usage"]["completion_tokens"], body["choices"][0]["finish_reason"])
    return answer == (1, "length")


LOOKUP_TOOL = {
    "type": "function",
    "function": {
        "name": "lookup",
        "parameters": {
            "type": "object",
            "properties": {"term": {"type": "string"}},
            "required": ["term"],
        },
    },
}


def tool_calls_for_required(env: Env) -> tuple[str, bool]:
    """(finish_reason, whether the message has tool_calls) for tool_choice "required".

    Deterministic both ways: ignore_eos makes a text reply the whole allowance, cut (length).
    """
    token = env.maas_token(FREE)
    resp = env.chat(
        token, tools=[LOOKUP_TOOL], tool_choice="required", max_tokens=3, ignore_eos=True
    )
    assert resp.status_code == 200, f"expected 200, got {resp.status_code} {resp.text}"
    choice = resp.json()["choices"][0]
    return choice["finish_reason"], bool(choice["message"].get("tool_calls"))


def short_windows(config: StackConfig) -> StackConfig:
    """Request windows of one second, so a window's end can be waited for."""
    limits = {t: Limit(lim.limit, SHORT_WINDOW_S) for t, lim in config.request_limits.items()}
    return dataclasses.replace(config, request_limits=limits)


@dataclass(frozen=True)
class Case:
    probe: Callable[[Env], Any]
    kept: Any
    """What the healthy stack shows."""
    broken: Any
    """What the stack with the fault shows."""
    tweak: Callable[[StackConfig], StackConfig] | None = None


CASES: dict[str, Case] = {
    "rate-limit-off": Case(requests_admitted_past_the_limit, 0, 2),
    "rate-limit-off-by-one": Case(requests_admitted_past_the_limit, 0, 1),
    "rate-limit-per-tier": Case(second_user_after_first_used_the_limit, 200, 429),
    "rbac-denials-count": Case(allowed_request_after_a_limit_of_rbac_denials, 200, 429),
    "rate-window-never-resets": Case(status_once_the_window_has_passed, 200, 429, short_windows),
    "token-limit-off": Case(status_after_big_prompts, 429, 200),
    "token-limit-prompt-only": Case(status_after_big_completions, 429, 200),
    "token-wrong-audience": Case(token_audience, [f"{INSTANCE}-sa"], [INSTANCE]),
    "token-expiration-ignored": Case(token_lifetime_for_1h, 3600, 4 * 3600),
    "token-wrong-tier-namespace": Case(
        premium_token_namespace, f"{INSTANCE}-tier-premium", f"{INSTANCE}-tier-free"
    ),
    "token-unpublished-key": Case(jwks_verifies_and_model_accepts, (True, 200), (False, 200)),
    "revocation-noop": Case(revocation_then_old_token, (204, 401), (204, 200)),
    "revocation-kills-others": Case(other_users_token_after_a_revocation, 200, 401),
    "expiration-minimum-unchecked": Case(
        lambda env: mint_reply(env, "5m"),
        (400, "token expiration must be at least 10 minutes"),
        (500, "Failed to generate token"),  # the API server refuses the short TokenRequest
    ),
    "expiration-days-accepted": Case(granted_for_1d, (400, None), (201, "24h0m0s")),
    "anonymous-model-access": Case(model_request_without_credential, 401, 200),
    "signature-unverified": Case(forged_signature, 401, 200),
    "rbac-off": Case(free_tier_at_premium_model, 403, 200),
    "models-without-url": Case(models_without_url, [], MODEL_IDS),
    "models-not-ready": Case(models_not_ready, [], MODEL_IDS),
    "models-empty": Case(model_ids, MODEL_IDS, []),
    "tier-lookup-lowest": Case(tier_of_free_premium_and_enterprise_groups, "enterprise", "free"),
    "usage-missing": Case(answer_has_usage, True, False),
    "usage-inconsistent": Case(usage_total_is_the_sum, True, False),
    "stream-without-done": Case(stream_ends_with_done, True, False),
    "denied-requests-reach-model": Case(
        limited_request_reached_the_model, (429, False), (429, True)
    ),
    "rate-limit-per-model": Case(other_model_after_the_limit_at_one, 429, 200),
    "token-limit-per-tier": Case(second_user_after_first_spent_the_token_budget, 200, 429),
    "models-url-wrong-host": Case(models_listed_off_the_gateway, [], MODEL_IDS),
    "denied-requests-reach-model-untagged": Case(
        admitted_tagged_and_limited_kept_out, (True, False), (False, True)
    ),
    "default-grant-short": Case(
        default_grant_and_token_lifetime, ("4h0m0s", 14400), ("4h0m0s", 3600)
    ),
    "token-extra-audience": Case(
        token_audience, [f"{INSTANCE}-sa"], [f"{INSTANCE}-sa", "https://kubernetes.default.svc"]
    ),
    "expires-at-not-exp": Case(expires_at_minus_exp, 0, 60),
    "stream-only-done": Case(stream_has_role_text_and_finish, True, False),
    "prompt-tokens-zero": Case(prompt_counted_and_total_the_sum, (True, True), (False, True)),
    "empty-content": Case(answer_tokens_and_text, (True, True), (True, False)),
    "no-max-tokens-500": Case(status_without_max_tokens, 200, 500),
    "max-completion-tokens-ignored": Case(answer_cut_at_max_completion_tokens, True, False),
    "rbac-reason-wrong": Case(
        reason_of_an_rbac_403, (403, "not authorized: unknown reason"), (403, "not authenticated")
    ),
    "rbac-highest-tier-denied": Case(enterprise_tier_at_premium_model, 200, 403),
    "revocation-kills-others-late": Case(
        other_users_token_at_once_and_once_settled, (200, 200), (200, 401)
    ),
    "tool-calls-ignored": Case(tool_calls_for_required, ("tool_calls", True), ("length", False)),
}


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as http:
        yield http


@pytest.fixture
def healthy(
    request: pytest.FixtureRequest, stack_config: StackConfig, client: httpx.Client
) -> Iterator[Env]:
    """The session's healthy stack, or a healthy twin when the case tweaks the configuration."""
    case = CASES[request.param]
    if case.tweak is None:
        yield Env(request.getfixturevalue("stack"), stack_config, client)
        return
    config = case.tweak(stack_config)
    with running_stack(config) as urls:
        yield Env(urls, config, client)


@pytest.fixture
def faulty(request: pytest.FixtureRequest, client: httpx.Client) -> Iterator[Env]:
    """A stack started with only the case's fault."""
    config = load_config(E2E_OVERLAY, faults=frozenset({request.param}))
    tweak = CASES[request.param].tweak
    config = tweak(config) if tweak else config
    with running_stack(config) as urls:
        yield Env(urls, config, client)


# --- the catalogue's faults ---------------------------------------------------------------------


def test_every_fault_has_a_case_in_catalogue_order() -> None:
    assert list(CASES) == list(CATALOGUE), (
        f"expected one case per fault in catalogue order {list(CATALOGUE)}, got {list(CASES)}"
    )


@pytest.mark.parametrize("healthy", list(CASES), indirect=True)
def test_healthy_stack_keeps_the_promise(healthy: Env, request: pytest.FixtureRequest) -> None:
    name = request.node.callspec.params["healthy"]
    observed = CASES[name].probe(healthy)
    assert observed == CASES[name].kept, (
        f"healthy stack, promise of {name} ({CATALOGUE[name]}): "
        f"expected {CASES[name].kept!r}, got {observed!r}"
    )


@pytest.mark.parametrize("faulty", list(CASES), indirect=True)
def test_fault_breaks_the_promise_it_names(faulty: Env, request: pytest.FixtureRequest) -> None:
    name = request.node.callspec.params["faulty"]
    observed = CASES[name].probe(faulty)
    assert observed == CASES[name].broken, (
        f"with {name} ({CATALOGUE[name]}): expected {CASES[name].broken!r}, got {observed!r}"
    )


# --- naming faults --------------------------------------------------------------------------------


def test_validate_returns_known_names_as_a_frozenset() -> None:
    chosen = validate(["rbac-off", "rate-limit-off", "rbac-off"])
    assert chosen == frozenset({"rbac-off", "rate-limit-off"}), f"got {chosen!r}"


def test_validate_refuses_an_unknown_name_listing_the_catalogue() -> None:
    with pytest.raises(UnknownFault) as refused:
        validate(["rate-limit-off", "nope"])
    message = str(refused.value)
    missing = [name for name in ("nope", *CATALOGUE) if name not in message]
    assert not missing, f"expected the message to name {missing}, got {message!r}"
    assert isinstance(refused.value, ValueError), "expected UnknownFault to be a ValueError"


def test_load_config_refuses_an_unknown_fault() -> None:
    with pytest.raises(UnknownFault, match="nope"):
        load_config(E2E_OVERLAY, faults=frozenset({"nope"}))


def _maas_local(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "maas_local", *args],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


def test_faults_command_prints_one_line_per_fault_name_first() -> None:
    done = _maas_local("faults")
    assert done.returncode == 0, f"expected exit 0, got {done.returncode}: {done.stderr}"
    lines = done.stdout.splitlines()
    expected = [(name, promise) for name, promise in CATALOGUE.items()]
    printed = [(line.split()[0], " ".join(line.split()[1:])) for line in lines if line.strip()]
    assert printed == expected, f"expected `name  promise` lines {expected}, got {lines}"


def test_up_with_an_unknown_fault_exits_2_at_once_listing_the_catalogue() -> None:
    start = time.monotonic()
    done = _maas_local("up", "--port", "0", "--api-port", "0", "--fault", "nope")
    took = time.monotonic() - start
    assert done.returncode == 2, f"expected exit 2, got {done.returncode}: {done.stderr}"
    missing = [name for name in ("nope", *CATALOGUE) if name not in done.stderr]
    assert not missing, f"expected stderr to name {missing}, got {done.stderr!r}"
    assert took < 5, f"expected to stop at once, took {took:.1f}s"


def test_up_banner_names_the_active_faults(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    command = [
        sys.executable, "-m", "maas_local", "up", "--port", "0", "--api-port", "0",
        "--manifests", str(E2E_OVERLAY), "--ready-file", str(ready),
        "--fault", "rbac-off", "--fault", "rate-limit-off",
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        waiting = Retrying(
            stop=stop_after_delay(CLI_TIMEOUT_S),
            wait=wait_fixed(0.05),
            retry=retry_if_result(lambda up: not up and proc.poll() is None),
            retry_error_callback=lambda state: state.outcome.result(),
        )
        assert waiting(ready.exists), f"expected the stack to come up, exit {proc.poll()}"
        info = json.loads(ready.read_text())
    finally:
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=CLI_TIMEOUT_S)
    fault_lines = [line.split()[1].rstrip(":") for line in out.splitlines() if "FAULTS" in line]
    assert fault_lines == ["rate-limit-off", "rbac-off"], (
        f"expected the banner to name both faults in catalogue order, got {out!r} {err!r}"
    )
    assert info["faults"] == ["rate-limit-off", "rbac-off"], f"ready file: {info}"
