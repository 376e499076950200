"""Which tier a set of groups belongs to, as maas-api's tier mapper decides it."""

from __future__ import annotations

from collections.abc import Sequence

from maas_local.config import Tier
from maas_local.maas_api.naming import tier_group


class TierNotFoundError(LookupError):
    """None of the groups is in any tier; the message is maas-api's own."""

    def __init__(self, groups: Sequence[str]) -> None:
        super().__init__(f"group groups [{', '.join(groups)}] not found in any tier")


class TierResolver:
    """Tiers from the ConfigMap, each also holding its tier namespace's ServiceAccount group.

    The implicit group is what maps a minted MaaS token (a ServiceAccount of
    `<instance>-tier-<tier>`) back to the tier it was minted for.
    """

    def __init__(
        self, tiers: Sequence[Tier], instance: str, faults: frozenset[str] = frozenset()
    ) -> None:
        # Highest level first (`tier-lookup-lowest`: the sort's direction flipped); a stable
        # sort keeps ConfigMap order between equal levels.
        highest_first = "tier-lookup-lowest" not in faults
        ordered = sorted(tiers, key=lambda t: t.level, reverse=highest_first)
        self._tiers = [(t, {*t.groups, tier_group(instance, t.name)}) for t in ordered]

    def tier_for(self, groups: Sequence[str]) -> Tier:
        """The highest-level tier holding any of `groups`; raises TierNotFoundError."""
        for tier, members in self._tiers:
            if any(g in members for g in groups):
                return tier
        raise TierNotFoundError(groups)

    def lowest(self) -> Tier:
        """The tier of the lowest level, the one everybody authenticated gets by default."""
        return min((tier for tier, _ in self._tiers), key=lambda t: t.level)
