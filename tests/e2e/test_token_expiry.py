"""A MaaS token stops working when it expires (slow: waits out the shortest grant, ten minutes;
run with --maas-slow)."""

from __future__ import annotations

import time

import pytest
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed
from tests.fixtures.identities import IssueToken, NewIdentity
from tests.fixtures.models import ModelRef

from maas_e2e.api import MaasApi
from maas_e2e.claims import decode_header_and_claims
from maas_e2e.durations import MINIMUM_GRANT_SECONDS, go_duration_string

pytestmark = [pytest.mark.e2e, pytest.mark.rejections, pytest.mark.slow]

POLL_S = 5.0
CLOCK_SKEW_S = 30.0
"""The runner's clock against the issuer's: `exp` is the issuer's."""
LATE_S = 60.0
"""How long after `exp` the refusal may still be seen (polling, clock skew between hosts)."""


def test_an_expired_token_is_refused(
    api: MaasApi,
    model: ModelRef,
    new_identity: NewIdentity,
    issue_token: IssueToken,
    lowest_tier: str,
) -> None:
    token = issue_token(new_identity(lowest_tier), go_duration_string(MINIMUM_GRANT_SECONDS))
    exp = decode_header_and_claims(token)[1]["exp"]
    polls: list[tuple[float, int]] = []

    def poll() -> int:
        # The maas-api route: authenticated like the model routes, but never rate limited.
        status = api.list_models(token).status_code
        polls.append((time.time(), status))
        return status

    retrying = Retrying(
        stop=stop_after_delay(MINIMUM_GRANT_SECONDS + LATE_S),
        wait=wait_fixed(POLL_S),
        retry=retry_if_result(lambda status: status == 200),
        retry_error_callback=lambda state: state.outcome.result(),
    )
    final = retrying(poll)
    assert final == 401, f"the token still answered {final} {time.time() - exp:.0f}s after exp"
    refused_at = polls[-1][0]
    assert refused_at >= exp - CLOCK_SKEW_S, (
        f"refused {exp - refused_at:.0f}s before its exp (allowed skew {CLOCK_SKEW_S:.0f}s)"
    )
    at_model = api.chat(model.url, token, model=model.name, messages=[], max_tokens=1)
    assert at_model.status_code == 401, f"expired token at the model: got {at_model.status_code}"
