"""The embedded maas-api: the HTTP contract of maas-api with the SA-token provider.

It keeps no state of its own: identities, tier namespaces, ServiceAccounts and tokens all live
in the apiserver, reached over HTTP as the real maas-api reaches kube-apiserver.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from maas_local.apiserver_connection import ApiServerConnection
from maas_local.config import StackConfig
from maas_local.maas_api.issuer import TokenIssuer
from maas_local.maas_api.kube import KubeClient
from maas_local.maas_api.lookup import TierLookupHandler
from maas_local.maas_api.models import ModelsHandler
from maas_local.maas_api.replies import JSON
from maas_local.maas_api.tiers import TierResolver
from maas_local.maas_api.tokens import TokenHandlers

APISERVER_TIMEOUT_S = 5.0
"""A stuck apiserver turns into the contract's 500 (or 401) well before a client gives up."""


def build_app(
    config: StackConfig, *, apiserver_url: str, apiserver: ApiServerConnection | None = None
) -> Starlette:
    """maas-api for `config.instance`, talking to the apiserver at `apiserver_url` (with the
    credentials of `apiserver` where it wants them)."""
    connection = apiserver or ApiServerConnection(apiserver_url)
    http = httpx.AsyncClient(
        base_url=connection.url, timeout=APISERVER_TIMEOUT_S, **connection.client_options()
    )
    kube = KubeClient(http)
    tiers = TierResolver(config.tiers, config.instance, config.faults)
    issuer = TokenIssuer(kube, tiers, config.instance, config.faults)
    tokens = TokenHandlers(kube, issuer, config.faults)
    models = ModelsHandler(kube, config.maas_api_namespace, config.maas_api.model_id, config.faults)
    lookup = TierLookupHandler(tiers)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await http.aclose()

    return Starlette(
        routes=[
            Route("/v1/tokens", tokens.issue, methods=["POST"]),
            Route("/v1/tokens", tokens.revoke, methods=["DELETE"]),
            Route("/models", models.list_models, methods=["GET"]),
            Route("/v1/models", models.list_llms, methods=["GET"]),
            Route("/v1/tiers/lookup", lookup.lookup, methods=["POST"]),
            Route("/health", _health, methods=["GET"]),
        ],
        exception_handlers={404: _not_found, 405: _not_found},
        lifespan=lifespan,
    )


async def _health(_: Request) -> Response:
    return JSON({"status": "healthy"})


async def _not_found(_: Request, exc: Exception) -> Response:
    """gin answers unknown paths and unrouted methods alike with a plain 404."""
    return PlainTextResponse("404 page not found", status_code=404)
