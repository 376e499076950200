"""A MaaS token stops working when it expires (slow: waits out the shortest grant, ten minutes;
run with --maas-slow)."""

from __future__ import annotations

import time

import pytest

from maas_e2e.api import MaasApi
from maas_e2e.claims import decode_header_and_claims
from maas_e2e.durations import MINIMUM_GRANT_SECONDS, go_duration_string
from maas_e2e.model import Model
from maas_e2e.polling import poll
from maas_e2e.users import IssueToken, NewIdentity

pytestmark = [pytest.mark.e2e, pytest.mark.rejections, pytest.mark.slow]

POLL_S = 5.0
CLOCK_SKEW_S = 30.0
"""The runner's clock against the issuer's: `exp` is the issuer's."""
LATE_S = 60.0
"""How long after `exp` the refusal may still be seen (polling, clock skew between hosts)."""


def test_an_expired_token_is_refused(
    api: MaasApi,
    model: Model,
    new_identity: NewIdentity,
    issue_token: IssueToken,
    lowest_tier: str,
) -> None:
    token = issue_token(new_identity(lowest_tier), go_duration_string(MINIMUM_GRANT_SECONDS))
    exp = decode_header_and_claims(token.token)[1]["exp"]
    started = time.time()
    # The maas-api route: authenticated like the model routes, but never rate limited.
    seen = poll(
        lambda: api.list_models(token).status_code,
        lambda status: status != 200,
        within=MINIMUM_GRANT_SECONDS + LATE_S,
        every=POLL_S,
    )
    assert seen.last == 401, (
        f"the token still answered {seen.last} {time.time() - exp:.0f}s after exp "
        f"(polls: {seen.history()})"
    )
    refused_at = started + seen.at
    assert refused_at >= exp - CLOCK_SKEW_S, (
        f"refused {exp - refused_at:.0f}s before its exp (allowed skew {CLOCK_SKEW_S:.0f}s)"
    )
    at_model = model.chat(token, messages=[], max_tokens=1)
    assert at_model.status_code == 401, f"expired token at the model: got {at_model.status_code}"
