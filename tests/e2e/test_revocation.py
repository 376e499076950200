"""DELETE /maas-api/v1/tokens revokes every earlier token of the caller, and only those."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed
from tests.fixtures.identities import IssueToken, NewIdentity
from tests.fixtures.models import ModelRef

from maas_e2e.api import MaasApi
from maas_e2e.checks import assert_authorino_401
from maas_e2e.targets.base import Target

pytestmark = [pytest.mark.e2e, pytest.mark.revocation]

PROMPT = [{"role": "user", "content": "hello"}]
POLL_EVERY_S = 0.25


def call(api: MaasApi, model: ModelRef, token: str) -> int:
    """One model request: it counts against the rate limit, so it is never retried."""
    return api.chat(model.url, token, model=model.name, messages=PROMPT, max_tokens=1).status_code


def at_maas_api(api: MaasApi, token: str) -> int:
    """GET /maas-api/v1/models: authenticated like a model request, counted by no limit, so it
    can be repeated while a revocation spreads."""
    return api.list_models(token, via="/maas-api/v1/models").status_code


def status_once(probe: Callable[[], int], status: int, within: float) -> int:
    """The probe's status once it is `status`, or its last status at the deadline."""
    retrying = Retrying(
        stop=stop_after_delay(within),
        wait=wait_fixed(POLL_EVERY_S),
        retry=retry_if_result(lambda seen: seen != status),
        retry_error_callback=lambda state: state.outcome.result(),
    )
    return retrying(probe)


def status_throughout(probe: Callable[[], int], status: int, during: float) -> int:
    """`status` if the probe answered nothing else for `during` seconds, else the first other."""
    retrying = Retrying(
        stop=stop_after_delay(during),
        wait=wait_fixed(POLL_EVERY_S),
        retry=retry_if_result(lambda seen: seen == status),
        retry_error_callback=lambda state: state.outcome.result(),
    )
    return retrying(probe)


def test_revocation_answers_204_with_no_body(
    api: MaasApi, new_identity: NewIdentity, issue_token: IssueToken, lowest_tier: str
) -> None:
    identity = new_identity(lowest_tier)
    issue_token(identity)
    resp = api.revoke_tokens(identity.token)
    assert resp.status_code == 204, f"expected 204, got {resp.status_code}: {resp.text[:200]}"
    assert resp.content == b"", f"204 with a body: {resp.text[:200]}"


def test_revoked_tokens_are_refused_at_the_model(
    api: MaasApi,
    target: Target,
    new_identity: NewIdentity,
    issue_token: IssueToken,
    model: ModelRef,
    lowest_tier: str,
) -> None:
    identity = new_identity(lowest_tier)
    tokens = [issue_token(identity), issue_token(identity)]
    assert api.revoke_tokens(identity.token).status_code == 204
    for token in tokens:  # wait, without counting, until the revocation has spread
        status_once(lambda t=token: at_maas_api(api, t), 401, target.revocation_settle_s)
    statuses = [call(api, model, token) for token in tokens]
    assert statuses == [401, 401], f"revoked tokens at the model: expected 401s, got {statuses}"


def test_revoked_tokens_are_refused_at_maas_api(
    api: MaasApi,
    target: Target,
    new_identity: NewIdentity,
    issue_token: IssueToken,
    lowest_tier: str,
) -> None:
    identity = new_identity(lowest_tier)
    token = issue_token(identity)
    assert api.revoke_tokens(identity.token).status_code == 204
    status = status_once(lambda: at_maas_api(api, token), 401, target.revocation_settle_s)
    assert status == 401, (
        f"revoked token at GET /maas-api/v1/models {target.revocation_settle_s:g}s after "
        f"the revocation: expected 401, got {status}"
    )


def test_a_token_minted_after_revocation_works(
    api: MaasApi,
    target: Target,
    new_identity: NewIdentity,
    issue_token: IssueToken,
    model: ModelRef,
    lowest_tier: str,
) -> None:
    identity = new_identity(lowest_tier)
    issue_token(identity)
    assert api.revoke_tokens(identity.token).status_code == 204
    fresh = issue_token(identity)
    accepted = status_once(lambda: at_maas_api(api, fresh), 200, target.revocation_settle_s)
    assert accepted == 200, (
        f"token minted after revocation at GET /maas-api/v1/models within "
        f"{target.revocation_settle_s:g}s: expected 200, got {accepted}"
    )
    status = call(api, model, fresh)
    assert status == 200, f"token minted after revocation at the model: expected 200, got {status}"


def test_revocation_leaves_other_users_tokens_working(
    api: MaasApi,
    target: Target,
    new_identity: NewIdentity,
    issue_token: IssueToken,
    model: ModelRef,
    lowest_tier: str,
) -> None:
    """Watched for as long as the revocation may take to spread: a revocation that reaches
    other users late is as wrong as one that reaches them at once."""
    revoker, bystander = new_identity(lowest_tier), new_identity(lowest_tier)
    issue_token(revoker)
    kept = issue_token(bystander)
    assert api.revoke_tokens(revoker.token).status_code == 204
    settle = target.revocation_settle_s
    held = status_throughout(lambda: at_maas_api(api, kept), 200, settle)
    assert held == 200, (
        f"another user's token at GET /maas-api/v1/models in the {settle:g}s after a "
        f"revocation: expected 200 throughout, got {held}"
    )
    status = call(api, model, kept)
    assert status == 200, (
        f"another user's token at the model {settle:g}s after a revocation: expected 200, "
        f"got {status}"
    )


def test_revocation_without_an_identity_is_401(api: MaasApi) -> None:
    assert_authorino_401(api.revoke_tokens(None), "credential not found")
