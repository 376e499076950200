"""The gateway's ASGI app: which policies apply to which route, in Kuadrant's order.

On the maas-api route (`/v1/models`, `/maas-api/...`) the route-level `maas-api-auth-policy`
overrides the gateway's AuthPolicy: the caller is only authenticated, with no tier, no RBAC and
no rate limit. On a model route the gateway's policies apply in the order the wasm-shim runs
them: Authorino (TokenReview, tier metadata, SubjectAccessReview), then Limitador's request
counter, then the token budget check, then the model; its answer's tokens are counted as they
pass back. A request Authorino denies never reaches Limitador and never counts.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute
from starlette.types import Receive, Scope, Send

from maas_local.apiserver_connection import ApiServerConnection
from maas_local.config import StackConfig
from maas_local.gateway import proxy, replies
from maas_local.gateway.authn import AuthRule, Identity, authenticate, credential
from maas_local.gateway.authz import authorize
from maas_local.gateway.ratelimit import RequestLimiter
from maas_local.gateway.replies import Denied
from maas_local.gateway.routing import Route, RouteKind, build_routes, match
from maas_local.gateway.tiercache import TierCache
from maas_local.gateway.tokenlimit import TokenLimiter

# The AuthPolicies' identity rule names, which Authorino's 401 gives as the realm.
MODEL_AUTH_RULE = "service-accounts"
MAAS_API_AUTH_RULE = "openshift-identities"

# Envoy's connect timeout is short; a model may take long to answer (streams stay open).
BACKEND_TIMEOUT = httpx.Timeout(300.0, connect=5.0)
API_TIMEOUT = httpx.Timeout(10.0, connect=5.0)

E2E_REQUEST_ID = b"x-e2e-request-id"


def build_app(
    config: StackConfig,
    *,
    apiserver_url: str,
    maas_api_url: str,
    tier_lookup_url: str,
    model_urls: dict[tuple[str, str], str],
    apiserver: ApiServerConnection | None = None,
) -> Starlette:
    """The gateway in front of maas-api and the models at `model_urls[(namespace, name)]`."""
    gateway = _Gateway(
        config,
        build_routes(config, maas_api_url, model_urls),
        apiserver=apiserver or ApiServerConnection(apiserver_url),
        tier_lookup_url=tier_lookup_url,
    )
    return Starlette(
        routes=[StarletteRoute("/{path:path}", gateway)],  # an ASGI endpoint: every method
        lifespan=gateway.lifespan,
    )


class _Gateway:
    def __init__(
        self,
        config: StackConfig,
        routes: tuple[Route, ...],
        *,
        apiserver: ApiServerConnection,
        tier_lookup_url: str,
    ) -> None:
        self.routes = routes
        self.faults = config.faults
        top = max(config.tiers, key=lambda tier: tier.level, default=None)
        self.highest_tier = top.name if top is not None else None
        self.apiserver = apiserver
        self.apiserver_url = apiserver.url
        self.model_rule = AuthRule(MODEL_AUTH_RULE, config.gateway_audiences)
        self.maas_api_rule = AuthRule(MAAS_API_AUTH_RULE, config.maas_api_audiences)
        self.tiers = TierCache(tier_lookup_url, config.tier_cache_ttl_seconds)
        self.requests = RequestLimiter(config.request_limits, config.faults)
        self.tokens = TokenLimiter(config.token_limits, config.faults)
        self.client: httpx.AsyncClient | None = None
        self.api: httpx.AsyncClient | None = None  # TokenReview and SubjectAccessReview

    @contextlib.asynccontextmanager
    async def lifespan(self, _: Starlette) -> AsyncIterator[None]:
        # trust_env=False: proxy variables of the environment must not divert loopback calls.
        async with (
            httpx.AsyncClient(
                timeout=BACKEND_TIMEOUT, trust_env=False, limits=httpx.Limits(max_connections=1000)
            ) as client,
            httpx.AsyncClient(timeout=API_TIMEOUT, **self.apiserver.client_options()) as api,
        ):
            self.client, self.api = client, api
            yield
            self.client = self.api = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if "denied-requests-reach-model-untagged" in self.faults:
            # The regression: the gateway strips request headers it does not know, the suite's
            # request id among them, so what reached a model can no longer be told apart.
            scope["headers"] = [(n, v) for n, v in scope["headers"] if n != E2E_REQUEST_ID]
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        route = match(self.routes, path)
        if route is None:
            return replies.no_route()
        try:
            if route.kind is RouteKind.MAAS_API:
                return await self._maas_api(request, route, path)
            return await self._model(request, route, path)
        except Denied as denied:
            return denied.reply

    async def _maas_api(self, request: Request, route: Route, path: str) -> Response:
        client = self._client()
        await authenticate(
            self._api(), self.apiserver_url, request.headers, self.maas_api_rule, self.faults
        )
        return await proxy.forward(client, request, route.upstream, route.rewrite(path))

    async def _model(self, request: Request, route: Route, path: str) -> Response:
        client = self._client()
        if "anonymous-model-access" in self.faults and credential(request.headers) is None:
            # The regression: the auth filter only runs for requests that carry a credential.
            return await proxy.forward(client, request, route.upstream, route.rewrite(path))
        identity = await authenticate(
            self._api(), self.apiserver_url, request.headers, self.model_rule, self.faults
        )
        tier = await self.tiers.tier_of(client, identity)
        userid, model = identity.userid, route.prefix.strip("/")
        if "rbac-denials-count" in self.faults:
            # The regression: Limitador counts before Authorino's verdict, so 403s use quota.
            admitted = self.requests.admit(tier, userid, model)
            await self._authorize(identity, path, tier)
        else:
            await self._authorize(identity, path, tier)
            admitted = self.requests.admit(tier, userid, model)
        if not admitted or not self.tokens.admit(tier, userid):
            return await self._too_many_requests(client, request, route, path)
        return await proxy.forward(
            client,
            request,
            route.upstream,
            route.rewrite(path),
            observe=lambda answer: self.tokens.meter(tier, userid, answer.headers),
        )

    async def _authorize(self, identity: Identity, path: str, tier: str) -> None:
        if "rbac-off" in self.faults:
            return  # the regression: the AuthPolicy lost its `tier-access` rule
        if "rbac-highest-tier-denied" in self.faults and tier == self.highest_tier:
            # The regression: the review's groups are cut to those of the tiers below the top
            # one, so the top tier's RoleBindings (to its namespace's group) never match.
            identity = dataclasses.replace(identity, groups=())
        await authorize(self._api(), self.apiserver_url, identity, path, self.faults)

    async def _too_many_requests(
        self, client: httpx.AsyncClient, request: Request, route: Route, path: str
    ) -> Response:
        """Limitador's denial; the request never reaches the model.

        Under `denied-requests-reach-model` it does (the rate-limit verdict is applied to the
        response instead of the request): the model answers and its answer is dropped unread.
        """
        if (
            "denied-requests-reach-model" in self.faults
            or "denied-requests-reach-model-untagged" in self.faults
        ):
            answer = await proxy.forward(client, request, route.upstream, route.rewrite(path))
            if answer.background is not None:
                await answer.background()  # closes the model's answer
        return replies.too_many_requests()

    def _client(self) -> httpx.AsyncClient:
        if self.client is None:
            raise RuntimeError("the gateway serves only while its lifespan runs")
        return self.client

    def _api(self) -> httpx.AsyncClient:
        if self.api is None:
            raise RuntimeError("the gateway serves only while its lifespan runs")
        return self.api
