"""Tiers come from the tier ConfigMap: the highest level holding any of the groups wins."""

from __future__ import annotations

import pytest

from maas_e2e.api import MaasApi
from maas_e2e.claims import ClaimsChecker
from maas_e2e.expected import Expected
from maas_e2e.targets.base import Identity
from maas_e2e.users import NewIdentity, TokenFor

pytestmark = [pytest.mark.e2e, pytest.mark.tiers]


@pytest.fixture
def caller(new_identity: NewIdentity, lowest_tier: str) -> Identity:
    return new_identity(lowest_tier)


def lookup(api: MaasApi, caller: Identity, groups: list[str]) -> tuple[int, dict]:
    resp = api.tier_lookup(caller, groups)
    return resp.status_code, resp.json()


def test_each_group_of_a_tier_resolves_to_the_tier_it_maps_to(
    api: MaasApi, caller: Identity, expected: Expected, tier: str
) -> None:
    groups = (*expected.tier(tier).groups, expected.tier_group(tier))
    for group in groups:
        wanted = expected.tier_for_groups([group])
        status, body = lookup(api, caller, [group])
        assert (status, body) == (200, {"tier": wanted}), (
            f"group {group}: expected 200 {{'tier': {wanted!r}}}, got {status} {body}"
        )


def test_the_highest_level_wins_over_lower_ones(
    api: MaasApi, caller: Identity, expected: Expected
) -> None:
    groups = [expected.user_group(t) for t in expected.tier_names]
    wanted = expected.tier_for_groups(groups)
    for order in (groups, list(reversed(groups))):
        status, body = lookup(api, caller, order)
        assert (status, body) == (200, {"tier": wanted}), (
            f"groups {order}: expected tier {wanted!r}, got {status} {body}"
        )


def test_groups_in_no_tier_are_404(api: MaasApi, caller: Identity) -> None:
    groups = ["e2e-nobody-a", "e2e-nobody-b"]
    status, body = lookup(api, caller, groups)
    assert status == 404, f"expected 404, got {status} {body}"
    assert body == {
        "error": "not_found",
        "message": "group groups [e2e-nobody-a, e2e-nobody-b] not found in any tier",
    }


def test_an_empty_group_list_is_400(api: MaasApi, caller: Identity) -> None:
    status, body = lookup(api, caller, [])
    assert status == 400, f"expected 400, got {status} {body}"
    assert body.get("error") == "bad_request", f"body: {body}"


def test_a_minted_token_lands_in_the_tier_of_its_groups(
    token_for: TokenFor, checker: ClaimsChecker, expected: Expected, tier: str
) -> None:
    """Decided on verified claims only: a token the issuer's keys do not verify fails."""
    claims = checker.verify_signature(token_for(tier))
    namespace = claims.get("kubernetes.io", {}).get("namespace")
    assert namespace == expected.tier_namespace(tier), (
        f"{tier} user: expected token namespace {expected.tier_namespace(tier)}, got {namespace}"
    )
