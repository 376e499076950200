"""Every reply the gateway makes itself, byte for byte as Envoy, Authorino and Limitador send it.

The suite compares statuses, headers and bodies with a cluster's, so these live in one place.
"""

from __future__ import annotations

from starlette.responses import Response

CREDENTIAL_NOT_FOUND = "credential not found"
NOT_AUTHENTICATED = "not authenticated"
NOT_AUTHORIZED = "not authorized: "
"""Authorino's reason for a `kubernetesSubjectAccessReview` denial, before the review's own
`status.reason` (pkg/evaluators/authorization/kubernetes_authz.go)."""
UNKNOWN_REASON = "unknown reason"
"""What Authorino says after NOT_AUTHORIZED when the review gives no reason (plain RBAC)."""


class Denied(Exception):
    """A policy stopped the request; ``reply`` is what the client gets instead of the backend."""

    def __init__(self, reply: Response) -> None:
        super().__init__(reply.status_code)
        self.reply = reply


def _plain(status: int, text: str) -> Response:
    # Set the header directly: Starlette's media_type would append "; charset=utf-8".
    return Response(text, status_code=status, headers={"content-type": "text/plain"})


def no_route() -> Response:
    """Envoy when no HTTPRoute matches: 404 with an empty body."""
    return Response(status_code=404)


def unauthenticated(rule: str, reason: str) -> Response:
    """Authorino when every identity rule failed; the realm names the AuthPolicy's rule."""
    return Response(
        status_code=401,
        headers={"www-authenticate": f'Bearer realm="{rule}"', "x-ext-auth-reason": reason},
    )


def forbidden(reason: str) -> Response:
    """Authorino when an authorization rule denied (no custom denyWith in the AuthPolicy)."""
    return Response(status_code=403, headers={"x-ext-auth-reason": reason})


def too_many_requests() -> Response:
    """Limitador's denial through the wasm-shim, without the draft rate-limit headers (default)."""
    return _plain(429, "Too Many Requests\n")


def no_healthy_upstream() -> Response:
    """Envoy when the backend cannot be reached."""
    return _plain(503, "no healthy upstream")


def upstream_reset() -> Response:
    """Envoy when the backend dropped the connection before answering."""
    return _plain(
        503,
        "upstream connect error or disconnect/reset before headers. "
        "reset reason: connection termination",
    )


def upstream_timeout() -> Response:
    """Envoy when the backend did not answer in time."""
    return _plain(504, "upstream request timeout")


def bad_request() -> Response:
    """Envoy for a request it cannot forward (a target it cannot parse, a vanished client)."""
    return Response(status_code=400)
