"""The MaaS HTTP API as the tests speak it: one method per call a user makes through the gateway.

Methods return the raw `httpx.Response`: each test asserts on the status and body it cares about,
with the exchange recorded by the client it was given. Each call is an Allure step named after
what the user does, so the report reads as the story of the test with its exchanges inside.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import allure
import httpx

UNSET: Any = object()


def bearer(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


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
        self, credential: str | None, body: Any = UNSET, *, raw: bytes | None = None
    ) -> httpx.Response:
        """POST /maas-api/v1/tokens; `body` as JSON, or `raw` bytes sent as they are."""
        headers = {"Content-Type": "application/json", **bearer(credential)}
        if raw is not None:
            content = raw
        else:
            content = json.dumps({"expiration": "1h"} if body is UNSET else body).encode()
        with allure.step("mint a MaaS token: POST /maas-api/v1/tokens"):
            return self.client.post(
                f"{self.gateway_url}/maas-api/v1/tokens", headers=headers, content=content
            )

    def revoke_tokens(self, credential: str | None) -> httpx.Response:
        with allure.step("revoke the caller's MaaS tokens: DELETE /maas-api/v1/tokens"):
            return self.client.delete(
                f"{self.gateway_url}/maas-api/v1/tokens", headers=bearer(credential)
            )

    def list_models(self, token: str | None, *, via: str = "/v1/models") -> httpx.Response:
        """GET the model list at one of the gateway paths that reach maas-api."""
        with allure.step(f"discover models: GET {via}"):
            return self.client.get(f"{self.gateway_url}{via}", headers=bearer(token))

    def tier_lookup(self, credential: str | None, groups: list[str]) -> httpx.Response:
        with allure.step("look up the tier of groups: POST /maas-api/v1/tiers/lookup"):
            return self.client.post(
                f"{self.gateway_url}/maas-api/v1/tiers/lookup",
                headers=bearer(credential),
                json={"groups": groups},
            )

    def chat(
        self,
        model_url: str,
        token: str | None,
        *,
        headers: dict[str, str] | None = None,
        **body: Any,
    ) -> httpx.Response:
        with allure.step(f"call the model: POST {_path(model_url)}/v1/chat/completions"):
            return self.client.post(
                f"{model_url}/v1/chat/completions",
                headers={**bearer(token), **(headers or {})},
                json=body,
            )

    def completion(self, model_url: str, token: str | None, **body: Any) -> httpx.Response:
        with allure.step(f"call the model: POST {_path(model_url)}/v1/completions"):
            return self.client.post(f"{model_url}/v1/completions", headers=bearer(token), json=body)

    def stream_chat(self, model_url: str, token: str | None, **body: Any) -> tuple[int, list[str]]:
        """Status and the `data:` payloads of a streamed chat completion, in order."""
        with (
            allure.step(f"call the model, streaming: POST {_path(model_url)}/v1/chat/completions"),
            self.client.stream(
                "POST",
                f"{model_url}/v1/chat/completions",
                headers=bearer(token),
                json={**body, "stream": True},
            ) as resp,
        ):
            events = [
                line.removeprefix("data:").strip()
                for line in resp.iter_lines()
                if line.startswith("data:")
            ]
            return resp.status_code, events


def _path(url: str) -> str:
    """The path of a model URL: what a reader tells models apart by."""
    return urlsplit(url).path.rstrip("/")
