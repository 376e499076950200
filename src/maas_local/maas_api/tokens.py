"""POST and DELETE /v1/tokens: mint a MaaS token for the caller, or revoke all of theirs."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from maas_local.maas_api.auth import Unauthenticated, authenticate
from maas_local.maas_api.body import BodyError, decode_field
from maas_local.maas_api.expiration import (
    ExpirationError,
    NegativeExpirationError,
    format_go_duration,
    requested_expiration,
)
from maas_local.maas_api.issuer import IssuerError, TokenIssuer
from maas_local.maas_api.kube import KubeClient
from maas_local.maas_api.replies import JSON, error

log = logging.getLogger(__name__)


class TokenHandlers:
    def __init__(
        self, kube: KubeClient, issuer: TokenIssuer, faults: frozenset[str] = frozenset()
    ) -> None:
        self._kube = kube
        self._issuer = issuer
        self._faults = faults

    async def issue(self, request: Request) -> Response:
        """Authenticate first, then read the body, as maas-api's middleware chain does."""
        try:
            caller = await authenticate(request, self._kube)
        except Unauthenticated as exc:
            return error(401, str(exc))
        try:
            values = decode_field(await request.body(), "token.Request", "expiration")
            expiration = requested_expiration(values, self._faults)
        except NegativeExpirationError as exc:
            body = {"error": str(exc), "expiration": format_go_duration(exc.expiration)}
            return JSON(body, status_code=400)
        except (BodyError, ExpirationError) as exc:
            return error(400, str(exc))
        try:
            issued = await self._issuer.issue(caller, expiration)
        except IssuerError as exc:
            log.warning("Failed to generate token: %s", exc)
            return error(500, "Failed to generate token")
        body = {
            "token": issued.token,
            "expiration": format_go_duration(issued.expiration),
            "expiresAt": issued.expires_at,
        }
        return JSON(body, status_code=201)

    async def revoke(self, request: Request) -> Response:
        try:
            caller = await authenticate(request, self._kube)
        except Unauthenticated as exc:
            return error(401, str(exc))
        try:
            await self._issuer.revoke(caller)
        except IssuerError as exc:
            log.warning("Failed to revoke tokens: %s", exc)
            return error(500, "Failed to revoke tokens")
        return Response(status_code=204)
