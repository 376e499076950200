"""DELETE /maas-api/v1/tokens revokes every earlier token of the caller, and only those.

A revocation may take the target's `revocation_settle_s` to spread. The waits poll
GET /maas-api/v1/models: authenticated like a model request but counted by no limit, so it can
be repeated; a model request counts against the rate limit, so it is sent once, after the wait.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from maas_e2e.api import MaasApi
from maas_e2e.auth import Bearer
from maas_e2e.checks import assert_authorino_401
from maas_e2e.model import Model
from maas_e2e.polling import Polled, poll
from maas_e2e.targets.base import Identity, Target
from maas_e2e.users import IssueToken, NewIdentity

pytestmark = [pytest.mark.e2e, pytest.mark.revocation]

POLL_EVERY_S = 0.25


@dataclass(frozen=True)
class User:
    """A fresh lowest-tier user who mints and revokes MaaS tokens, and watches them."""

    api: MaasApi
    target: Target
    identity: Identity
    issue_token: IssueToken

    def mint(self) -> Bearer:
        return self.issue_token(self.identity)

    def revoke(self) -> httpx.Response:
        return self.api.revoke_tokens(self.identity)

    def revoked(self, count: int) -> list[Bearer]:
        """`count` tokens, then a revocation of all of them (its 204 asserted)."""
        tokens = [self.mint() for _ in range(count)]
        resp = self.revoke()
        assert resp.status_code == 204, f"revocation: expected 204, got {resp.status_code}"
        return tokens

    def watch(self, token: Bearer, *, until: int) -> Polled[int]:
        """The token's status at GET /maas-api/v1/models, asked until it is `until` or the
        revocation has had its time to spread (the target's `revocation_settle_s`)."""
        return poll(
            lambda: self.api.list_models(token, via="/maas-api/v1/models").status_code,
            lambda status: status == until,
            within=self.target.revocation_settle_s,
            every=POLL_EVERY_S,
        )


@pytest.fixture
def new_user(
    api: MaasApi,
    target: Target,
    new_identity: NewIdentity,
    issue_token: IssueToken,
    lowest_tier: str,
) -> Callable[[], User]:
    return lambda: User(api, target, new_identity(lowest_tier), issue_token)


def test_revocation_answers_204_with_no_body(new_user: Callable[[], User]) -> None:
    user = new_user()
    user.mint()
    resp = user.revoke()
    assert resp.status_code == 204, f"expected 204, got {resp.status_code}: {resp.text[:200]}"
    assert resp.content == b"", f"204 with a body: {resp.text[:200]}"


def test_revoked_tokens_are_refused_at_the_model(
    new_user: Callable[[], User], model: Model
) -> None:
    user = new_user()
    tokens = user.revoked(2)
    for token in tokens:  # wait, without counting, until the revocation has spread
        user.watch(token, until=401)
    statuses = [model.chat(token, max_tokens=1).status_code for token in tokens]
    assert statuses == [401, 401], f"revoked tokens at the model: expected 401s, got {statuses}"


def test_revoked_tokens_are_refused_at_maas_api(new_user: Callable[[], User]) -> None:
    user = new_user()
    [token] = user.revoked(1)
    seen = user.watch(token, until=401)
    assert seen.done, (
        f"revoked token at GET /maas-api/v1/models after the revocation: expected 401 in time, "
        f"got {seen.history()}"
    )


def test_a_token_minted_after_revocation_works(new_user: Callable[[], User], model: Model) -> None:
    user = new_user()
    user.revoked(1)
    fresh = user.mint()
    seen = user.watch(fresh, until=200)
    assert seen.done, (
        f"token minted after revocation at GET /maas-api/v1/models: expected 200 in time, "
        f"got {seen.history()}"
    )
    status = model.chat(fresh, max_tokens=1).status_code
    assert status == 200, f"token minted after revocation at the model: expected 200, got {status}"


def test_revocation_leaves_other_users_tokens_working(
    new_user: Callable[[], User], model: Model
) -> None:
    """Watched for as long as the revocation may take to spread: a revocation that reaches
    other users late is as wrong as one that reaches them at once."""
    bystander = new_user()
    kept = bystander.mint()
    new_user().revoked(1)
    seen = bystander.watch(kept, until=401)
    assert {s.value for s in seen.seen} == {200}, (
        f"another user's token at GET /maas-api/v1/models while the revocation spreads: "
        f"expected 200 throughout, got {seen.history(len(seen.seen))}"
    )
    status = model.chat(kept, max_tokens=1).status_code
    assert status == 200, f"another user's token at the model after a revocation: got {status}"


def test_revocation_without_an_identity_is_401(api: MaasApi) -> None:
    assert_authorino_401(api.revoke_tokens(None), "credential not found")
