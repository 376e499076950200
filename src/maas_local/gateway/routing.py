"""Which route a request hits and the path the backend sees, as Envoy programs HTTPRoutes.

Two kinds of route: the maas-api HTTPRoute (`maas-api-route`, prefixes from the manifests) and
one route per model, `/<namespace>/<name>`, whose prefix KServe replaces with `/`. Gateway API
`PathPrefix` matches whole path segments, and the longest matching prefix wins.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from maas_local.config import StackConfig


class RouteKind(enum.Enum):
    MAAS_API = "maas-api"
    MODEL = "model"


@dataclass(frozen=True)
class Route:
    kind: RouteKind
    prefix: str
    replace_prefix: str | None
    upstream: str

    def matches(self, path: str) -> bool:
        """`/maas-api` matches `/maas-api` and `/maas-api/...`, never `/maas-apix`."""
        return self.prefix == "/" or path == self.prefix or path.startswith(self.prefix + "/")

    def rewrite(self, path: str) -> str:
        """The path after `ReplacePrefixMatch`: `/maas-api/v1/tokens` -> `/v1/tokens`."""
        if self.replace_prefix is None:
            return path
        rest = path if self.prefix == "/" else path[len(self.prefix) :]
        rewritten = self.replace_prefix.rstrip("/") + rest
        return rewritten if rewritten.startswith("/") else "/" + rewritten


def build_routes(
    config: StackConfig, maas_api_url: str, model_urls: dict[tuple[str, str], str]
) -> tuple[Route, ...]:
    """Every route of the gateway, longest prefix first so that the first match wins."""
    routes = [
        Route(RouteKind.MAAS_API, _normalized(prefix), replace, maas_api_url)
        for prefix, replace in config.maas_api_prefixes
    ]
    routes += [
        Route(RouteKind.MODEL, f"/{namespace}/{name}", "/", url)
        for (namespace, name), url in model_urls.items()
    ]
    return tuple(sorted(routes, key=lambda r: len(r.prefix), reverse=True))


def match(routes: tuple[Route, ...], path: str) -> Route | None:
    return next((route for route in routes if route.matches(path)), None)


def _normalized(prefix: str) -> str:
    # Gateway API ignores a trailing slash on a PathPrefix value.
    return prefix.rstrip("/") or "/"
