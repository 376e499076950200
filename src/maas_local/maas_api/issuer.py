"""Minting and revoking MaaS tokens: ServiceAccount tokens in the caller's tier namespace.

Every step is idempotent and treats AlreadyExists as success, so concurrent first requests of
one user (or of one tier) never fail on each other's creations.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from maas_local.maas_api.auth import Caller
from maas_local.maas_api.expiration import DEFAULT_EXPIRATION, HOUR, token_seconds
from maas_local.maas_api.kube import ApiError, KubeClient
from maas_local.maas_api.naming import (
    InvalidUsernameError,
    service_account_name,
    tier_namespace,
)
from maas_local.maas_api.tiers import TierNotFoundError, TierResolver

LATE_REVOCATION_S = 1.0
"""How long after a revocation `revocation-kills-others-late` strikes: well inside the suite's
local settling time, and late enough that a check made right after the 204 still passes."""

log = logging.getLogger(__name__)


class IssuerError(Exception):
    """Minting or revoking failed; the message is for the log, the client gets a fixed 500."""


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expiration: int
    """The requested duration in nanoseconds (what the reply's `expiration` shows)."""
    expires_at: int
    """The TokenRequest's expirationTimestamp, unix seconds."""


@dataclass(frozen=True)
class _Account:
    tier: str
    namespace: str
    name: str


class TokenIssuer:
    def __init__(
        self,
        kube: KubeClient,
        tiers: TierResolver,
        instance: str,
        faults: frozenset[str] = frozenset(),
    ) -> None:
        self._kube = kube
        self._tiers = tiers
        self._instance = instance
        self._faults = faults
        self._late: set[asyncio.Task[None]] = set()
        """`revocation-kills-others-late`'s pending clean-ups (a task needs a reference)."""

    @property
    def audience(self) -> str:
        """MaaS tokens are for the gateway's model routes, not for the API server."""
        if "token-wrong-audience" in self._faults:
            return self._instance  # the regression: the `-sa` suffix dropped
        return f"{self._instance}-sa"

    async def issue(self, caller: Caller, expiration: int) -> IssuedToken:
        account = self._account(caller)
        try:
            await self._ensure_namespace(account)
            await self._ensure_service_account(account)
            status = await self._kube.request_token(
                account.namespace, account.name, self._audiences(), self._seconds(expiration)
            )
        except ApiError as exc:
            raise IssuerError(f"token for {caller.username} in {account.namespace}: {exc}") from exc
        token, stamp = status.get("token"), status.get("expirationTimestamp")
        if not isinstance(token, str) or not token or not isinstance(stamp, str):
            raise IssuerError(f"TokenRequest reply without token or expirationTimestamp: {status}")
        expires_at = _unix_seconds(stamp)
        if "expires-at-not-exp" in self._faults:
            expires_at += 60  # the regression: the reply's expiry rounded up a minute
        return IssuedToken(token, expiration, expires_at)

    def _audiences(self) -> list[str]:
        if "token-extra-audience" in self._faults:
            # The regression: the API server's own audience kept beside the gateway's.
            return [self.audience, "https://kubernetes.default.svc"]
        return [self.audience]

    def _seconds(self, expiration: int) -> int:
        """The TokenRequest's expirationSeconds for a grant of `expiration` nanoseconds."""
        if "token-expiration-ignored" in self._faults:
            return token_seconds(DEFAULT_EXPIRATION)  # the regression: always the default
        if "default-grant-short" in self._faults and expiration == DEFAULT_EXPIRATION:
            return token_seconds(HOUR)  # the regression: the default's seconds written as 1h
        return token_seconds(expiration)

    async def revoke(self, caller: Caller) -> None:
        """Delete and re-create the caller's ServiceAccount: its new UID voids every old token."""
        account = self._account(caller)
        try:
            try:
                await self._kube.get_service_account(account.namespace, account.name)
            except ApiError as exc:
                if exc.not_found:
                    return
                raise
            if "revocation-noop" in self._faults:
                return  # the regression: the account is found but never replaced
            for victim in await self._revoked_accounts(account):
                await self._replace(victim)
        except ApiError as exc:
            raise IssuerError(f"revoking {caller.username} in {account.namespace}: {exc}") from exc
        if "revocation-kills-others-late" in self._faults:
            # The regression: a clean-up pass after the reply re-creates the tier's accounts
            # (those there at revocation time: accounts made since are not its victims).
            selector = {"maas.opendatahub.io/instance": self._instance}
            try:
                names = await self._kube.list_service_accounts(account.namespace, selector)
            except ApiError as exc:
                raise IssuerError(f"listing {account.namespace}: {exc}") from exc
            others = [_Account(account.tier, account.namespace, n) for n in names]
            others = [other for other in others if other.name != account.name]
            task = asyncio.get_running_loop().create_task(self._replace_later(others))
            self._late.add(task)
            task.add_done_callback(self._late.discard)

    async def _replace(self, account: _Account) -> None:
        try:
            await self._kube.delete_service_account(account.namespace, account.name)
        except ApiError as exc:
            if not exc.not_found:
                raise
        await self._ensure_service_account(account)

    async def _replace_later(self, accounts: list[_Account]) -> None:
        """`revocation-kills-others-late`: a moment after the caller's revocation, the other
        MaaS accounts its tier namespace had are replaced too (their tokens die with them), all
        at once: a namespace holding a whole suite run's users must not spread the strike past
        the moment it is due."""
        await asyncio.sleep(LATE_REVOCATION_S)
        outcomes = await asyncio.gather(
            *(self._replace(account) for account in accounts), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, ApiError):
                log.warning("late clean-up failed: %s", outcome)
            elif isinstance(outcome, BaseException):
                raise outcome

    async def _revoked_accounts(self, account: _Account) -> list[_Account]:
        """The accounts to re-create: the caller's alone.

        Under `revocation-kills-others`, every MaaS account of the caller's tier namespace (a
        label selector that forgot to name the user).
        """
        if "revocation-kills-others" not in self._faults:
            return [account]
        selector = {"maas.opendatahub.io/instance": self._instance}
        names = await self._kube.list_service_accounts(account.namespace, selector)
        return [_Account(account.tier, account.namespace, name) for name in names]

    def _account(self, caller: Caller) -> _Account:
        try:
            tier = self._tiers.tier_for(caller.groups).name
            name = service_account_name(caller.username)
        except (TierNotFoundError, InvalidUsernameError) as exc:
            raise IssuerError(f"user {caller.username!r}: {exc}") from exc
        if "token-wrong-tier-namespace" in self._faults:
            tier = self._tiers.lowest().name  # the regression: the default tier, always
        return _Account(tier, tier_namespace(self._instance, tier), name)

    async def _ensure_namespace(self, account: _Account) -> None:
        labels = {**self._labels(account.tier), "maas.opendatahub.io/tier-namespace": "true"}
        try:
            await self._kube.create_namespace(account.namespace, labels)
        except ApiError as exc:
            if not exc.already_exists:
                raise

    async def _ensure_service_account(self, account: _Account) -> None:
        try:
            await self._kube.create_service_account(
                account.namespace, account.name, self._labels(account.tier)
            )
        except ApiError as exc:
            if not exc.already_exists:
                raise

    def _labels(self, tier: str) -> dict[str, str]:
        return {
            "app.kubernetes.io/component": "token-issuer",
            "app.kubernetes.io/part-of": "maas-api",
            "maas.opendatahub.io/instance": self._instance,
            "maas.opendatahub.io/tier": tier,
        }


def _unix_seconds(stamp: str) -> int:
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        raise IssuerError(f"expirationTimestamp {stamp!r} is not RFC 3339") from None
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())
