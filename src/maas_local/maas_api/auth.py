"""Who is calling POST/DELETE /v1/tokens: maas-api's ExtractUserInfo middleware.

maas-api authenticates the caller itself with a TokenReview (no audiences, so the cluster's own
identity tokens pass); behind the gateway Authorino has already refused bad credentials, so
these four 401 replies are only seen when maas-api is called directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from maas_local.maas_api.kube import ApiError, KubeClient

BEARER = "Bearer "


@dataclass(frozen=True)
class Caller:
    username: str
    groups: tuple[str, ...]


class Unauthenticated(Exception):
    """The 401 reply's `error` message."""


async def authenticate(request: Request, kube: KubeClient) -> Caller:
    """The caller behind the bearer token, or Unauthenticated with maas-api's message."""
    header = request.headers.get("authorization", "")
    if not header:
        raise Unauthenticated("Authorization header required")
    if not header.startswith(BEARER):
        raise Unauthenticated("Invalid authorization format. Use: Authorization: Bearer <token>")
    token = header.removeprefix(BEARER)
    if not token:
        raise Unauthenticated("validation failed")
    try:
        status = await kube.token_review(token)
    except ApiError:
        raise Unauthenticated("validation failed") from None
    user = status.get("user")
    if not status.get("authenticated") or not isinstance(user, dict):
        raise Unauthenticated("not authenticated")
    groups = user.get("groups")
    return Caller(
        username=str(user.get("username") or ""),
        groups=tuple(g for g in groups if isinstance(g, str)) if isinstance(groups, list) else (),
    )
