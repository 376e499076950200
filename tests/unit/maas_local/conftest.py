"""Fixtures for the embedded stack's own tests: one real stack on loopback for the session."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from maas_local.config import StackConfig, load_config

if TYPE_CHECKING:
    from maas_local.stack import StackUrls

E2E_OVERLAY = Path(__file__).resolve().parents[3] / "manifests" / "e2e"


@pytest.fixture(scope="session")
def stack_config() -> StackConfig:
    return load_config(E2E_OVERLAY)


@pytest.fixture(scope="session")
def stack(stack_config: StackConfig) -> Iterator[StackUrls]:
    from maas_local.stack import running_stack  # the whole stack; component tests need less

    with running_stack(stack_config) as urls:
        yield urls


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


@pytest.fixture
def user_token(stack: StackUrls, http: httpx.Client) -> Callable[..., str]:
    """Mint the `oc whoami -t` of a fresh user with the given groups (unique name per call)."""

    def mint(*groups: str, username: str | None = None) -> str:
        name = username or f"user-{uuid.uuid4().hex[:10]}"
        resp = http.post(
            f"{stack.apiserver}/local/v1/users/{name}/token", json={"groups": list(groups)}
        )
        assert resp.status_code == 201, resp.text
        return resp.json()["token"]

    return mint


@pytest.fixture
def maas_token(
    stack: StackUrls, http: httpx.Client, user_token: Callable[..., str]
) -> Callable[..., str]:
    """A MaaS token minted through the gateway for a fresh user with the given groups."""

    def mint(*groups: str, expiration: str = "1h") -> str:
        resp = http.post(
            f"{stack.gateway}/maas-api/v1/tokens",
            headers={"Authorization": f"Bearer {user_token(*groups)}"},
            json={"expiration": expiration},
        )
        assert resp.status_code == 201, resp.text
        return resp.json()["token"]

    return mint
