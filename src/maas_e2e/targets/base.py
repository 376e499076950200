"""What every target gives the tests: the gateway, fresh identities, the issuer's keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from maas_e2e.auth import Bearer


class TargetUnavailable(RuntimeError):
    """The target cannot be started or reached; the message says what to do."""


class IdentityUnavailable(TargetUnavailable):
    """The target has no way to make an identity of that tier (a stack the suite did not
    deploy, whose tier mapping has no group for it): the tests that need one skip."""


@dataclass(frozen=True, kw_only=True)
class Identity(Bearer):
    """A cluster identity (the `oc whoami -t` of one user) that maas-api will mint tokens for:
    sent as it is, it is that user's credential."""

    username: str
    tier: str


class Target(Protocol):
    name: str
    gateway_url: str
    # The Host header requests to the gateway carry where its listener only answers a hostname
    # (a cluster's Gateway with `hostname:`); None: the gateway URL's own host.
    gateway_host: str | None
    # How long a revocation may take to reach every check of the stack: kube-apiserver checks a
    # token's ServiceAccount through an informer cache, so a re-created account takes seconds
    # to reach it on a cluster and no time in the embedded stack. Revoked tokens get this long
    # to be refused, a token minted after a revocation this long to be accepted, and other
    # users' tokens must stay accepted for all of it (so it is also how long that check waits).
    revocation_settle_s: float

    def new_identity(self, tier: str, group: str, hint: str) -> Identity:
        """A user of `tier` no test has used before, so counters start from zero."""
        ...

    def fetch_issuer_keys(self) -> tuple[str, dict[str, Any]]:
        """(issuer, JWKS) as the issuer publishes them through OIDC discovery.

        A cluster's API server only answers discovery to authenticated callers, so each target
        fetches them its own way; the claims checks only need the result.
        """
        ...

    def served_request_ids(self) -> set[str] | None:
        """Request ids the models have served, or None where the target cannot tell."""
        ...

    def leak_check_note(self) -> str | None:
        """Where `served_request_ids` is None: what the target proved about denied requests
        instead (e.g. once at bring-up), for every test's report; None where it has nothing."""
        ...

    def close(self) -> None: ...
