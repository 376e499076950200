"""What every target gives the tests: the gateway, fresh identities, the issuer's keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Identity:
    """A cluster identity (the `oc whoami -t` of one user) that maas-api will mint tokens for."""

    username: str
    tier: str
    token: str = field(repr=False)


class Target(Protocol):
    name: str
    gateway_url: str

    def new_identity(self, tier: str, group: str, hint: str) -> Identity:
        """A user of `tier` no test has used before, so counters start from zero."""
        ...

    def issuer_url(self) -> str:
        """Base URL serving `/.well-known/openid-configuration` of the token issuer."""
        ...

    def served_request_ids(self) -> set[str] | None:
        """Request ids the models have served, or None where the target cannot tell."""
        ...

    def close(self) -> None: ...
