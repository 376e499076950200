"""DELETE /maas-api/v1/tokens revokes every earlier token of the caller, and only those."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed
from tests.fixtures.identities import IssueToken, NewIdentity
from tests.fixtures.models import ModelRef

from maas_e2e.api import MaasApi
from maas_e2e.checks import assert_authorino_401

pytestmark = [pytest.mark.e2e, pytest.mark.revocation]

PROMPT = [{"role": "user", "content": "hello"}]
REVOKED_WITHIN_S = 15.0
"""kube-apiserver checks a token's ServiceAccount in an informer cache: a re-created account
may take a moment to reach it. Locally the refusal is immediate."""


def call(api: MaasApi, model: ModelRef, token: str) -> int:
    return api.chat(model.url, token, model=model.name, messages=PROMPT, max_tokens=1).status_code


def status_once_settled(probe: Callable[[], int]) -> int:
    """The probe's status once it is a 401, or its last status at the deadline."""
    retrying = Retrying(
        stop=stop_after_delay(REVOKED_WITHIN_S),
        wait=wait_fixed(0.5),
        retry=retry_if_result(lambda status: status != 401),
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
    new_identity: NewIdentity,
    issue_token: IssueToken,
    model: ModelRef,
    lowest_tier: str,
) -> None:
    identity = new_identity(lowest_tier)
    tokens = [issue_token(identity), issue_token(identity)]
    assert api.revoke_tokens(identity.token).status_code == 204
    statuses = [status_once_settled(lambda t=t: call(api, model, t)) for t in tokens]
    assert statuses == [401, 401], f"revoked tokens at the model: expected 401s, got {statuses}"


def test_revoked_tokens_are_refused_at_maas_api(
    api: MaasApi, new_identity: NewIdentity, issue_token: IssueToken, lowest_tier: str
) -> None:
    identity = new_identity(lowest_tier)
    token = issue_token(identity)
    assert api.revoke_tokens(identity.token).status_code == 204
    status = status_once_settled(lambda: api.list_models(token).status_code)
    assert status == 401, f"revoked token at GET /v1/models: expected 401, got {status}"


def test_a_token_minted_after_revocation_works(
    api: MaasApi,
    new_identity: NewIdentity,
    issue_token: IssueToken,
    model: ModelRef,
    lowest_tier: str,
) -> None:
    identity = new_identity(lowest_tier)
    issue_token(identity)
    assert api.revoke_tokens(identity.token).status_code == 204
    fresh = issue_token(identity)
    status = call(api, model, fresh)
    assert status == 200, f"token minted after revocation: expected 200, got {status}"


def test_revocation_leaves_other_users_tokens_working(
    api: MaasApi,
    new_identity: NewIdentity,
    issue_token: IssueToken,
    model: ModelRef,
    lowest_tier: str,
) -> None:
    revoker, bystander = new_identity(lowest_tier), new_identity(lowest_tier)
    issue_token(revoker)
    kept = issue_token(bystander)
    assert api.revoke_tokens(revoker.token).status_code == 204
    status = call(api, model, kept)
    assert status == 200, f"another user's token after a revocation: expected 200, got {status}"


def test_revocation_without_an_identity_is_401(api: MaasApi) -> None:
    assert_authorino_401(api.revoke_tokens(None), "credential not found")
