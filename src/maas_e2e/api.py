"""maas-api as the tests speak it: one method per call a user makes through the gateway.

Methods return the raw `httpx.Response`: each test asserts on the status and body it cares about,
with the exchange recorded by the client it was given. Each call is an Allure step named after
what the user does, so the report reads as the story of the test with its exchanges inside; a
token maas-api mints is attached there too, decoded (never the token itself).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import allure
import httpx

from maas_e2e.reporting.attach import attach_jwt

UNSET: Any = object()
GREETING = [{"role": "user", "content": "Say something short."}]
"""The chat every request sends where what is said does not matter. A few tokens, not one: the
checks that measure a prompt (the model's context, usage) must see it counted as a sum."""


def rebase(url: str, gateway_url: str) -> str:
    """A discovered model URL sent through `gateway_url`: its path kept, scheme/host/port taken."""
    model, gateway = urlsplit(url), urlsplit(gateway_url)
    path = gateway.path.rstrip("/") + model.path
    return urlunsplit((gateway.scheme, gateway.netloc, path, model.query, ""))


@dataclass
class MaasApi:
    client: httpx.Client
    gateway_url: str

    def issue_token(
        self, credential: httpx.Auth | None, body: Any = UNSET, *, raw: bytes | None = None
    ) -> httpx.Response:
        """POST /maas-api/v1/tokens; `body` as JSON, or `raw` bytes sent as they are."""
        if raw is not None:
            content = raw
        else:
            content = json.dumps({"expiration": "1h"} if body is UNSET else body).encode()
        with allure.step("mint a MaaS token: POST /maas-api/v1/tokens"):
            resp = self.client.post(
                f"{self.gateway_url}/maas-api/v1/tokens",
                headers={"Content-Type": "application/json"},
                content=content,
                auth=credential,
            )
            if resp.status_code == 201:
                _attach_minted(resp, credential)
            return resp

    def revoke_tokens(self, credential: httpx.Auth | None) -> httpx.Response:
        with allure.step("revoke the caller's MaaS tokens: DELETE /maas-api/v1/tokens"):
            return self.client.delete(f"{self.gateway_url}/maas-api/v1/tokens", auth=credential)

    def list_models(self, token: httpx.Auth | None, *, via: str = "/v1/models") -> httpx.Response:
        """GET the model list at one of the gateway paths that reach maas-api."""
        with allure.step(f"discover models: GET {via}"):
            return self.client.get(f"{self.gateway_url}{via}", auth=token)

    def tier_lookup(self, credential: httpx.Auth | None, groups: list[str]) -> httpx.Response:
        with allure.step("look up the tier of groups: POST /maas-api/v1/tiers/lookup"):
            return self.client.post(
                f"{self.gateway_url}/maas-api/v1/tiers/lookup",
                json={"groups": groups},
                auth=credential,
            )


def _attach_minted(resp: httpx.Response, credential: httpx.Auth | None) -> None:
    try:
        token = resp.json()["token"]
    except (ValueError, KeyError, TypeError):
        return  # the test asserting on this reply says what is wrong with it
    whose = getattr(credential, "username", "the caller")
    attach_jwt(str(token), f"MaaS token minted for {whose}: decoded header and claims")
