"""POST /v1/tiers/lookup: the tier of a set of groups, asked by the gateway's AuthPolicy."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from maas_local.maas_api.body import BodyError, decode_fields, go_kind
from maas_local.maas_api.replies import JSON
from maas_local.maas_api.tiers import TierNotFoundError, TierResolver

_FIELD = "Go struct field LookupRequest.groups"


class TierLookupHandler:
    def __init__(self, tiers: TierResolver) -> None:
        self._tiers = tiers

    async def lookup(self, request: Request) -> Response:
        try:
            fields = decode_fields(await request.body(), "tier.LookupRequest", ("groups",))
            groups = _groups(fields.get("groups"))
        except BodyError as exc:
            body = {"error": "bad_request", "message": f"invalid request body: {exc}"}
            return JSON(body, status_code=400)
        try:
            tier = self._tiers.tier_for(groups)
        except TierNotFoundError as exc:
            return JSON({"error": "not_found", "message": str(exc)}, status_code=404)
        return JSON({"tier": tier.name})


def _groups(value: Any) -> list[str]:
    """`Groups []string` with gin's `binding:"required,min=1"`; JSON null items read as ""."""
    if value is None:
        raise BodyError(_validation("required"))
    if not isinstance(value, list):
        raise BodyError(f"json: cannot unmarshal {go_kind(value)} into {_FIELD} of type []string")
    for item in value:
        if item is not None and not isinstance(item, str):
            raise BodyError(f"json: cannot unmarshal {go_kind(item)} into {_FIELD} of type string")
    if not value:
        raise BodyError(_validation("min"))
    return ["" if item is None else item for item in value]


def _validation(tag: str) -> str:
    return (
        f"Key: 'LookupRequest.Groups' Error:Field validation for 'Groups' failed on the '{tag}' tag"
    )
