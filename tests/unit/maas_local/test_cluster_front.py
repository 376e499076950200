"""The gateway's socket of `maas-local cluster` stays open while the app behind it is replaced.

A restart of the data plane used to close the socket, and a test that connected in that moment
got `Connection refused`. These tests swap plain apps behind a `GatewayFront` on a real socket,
with every request on a new connection (where a closed socket would show), and need no build.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from maas_local.cluster.front import GatewayFront
from maas_local.servers import Component, ServerGroup, bind, serve_in_thread

WAIT_S = 10.0


class App:
    """A Starlette app named `name` that writes its lifespan and its answers to `events`; its
    lifespan's start waits for `started` and `/slow` waits for `release` (both set by default)."""

    def __init__(self, name: str, events: list[str]) -> None:
        self.name, self.events = name, events
        self.starting, self.started = threading.Event(), threading.Event()
        self.busy, self.release = threading.Event(), threading.Event()
        self.started.set()
        self.release.set()
        self.app = Starlette(routes=[Route("/{path:path}", self.answer)], lifespan=self.lifespan)

    @contextlib.asynccontextmanager
    async def lifespan(self, _: Starlette) -> AsyncIterator[None]:
        self.starting.set()
        await asyncio.to_thread(self.started.wait, WAIT_S)
        self.events.append(f"{self.name} started")
        yield
        self.events.append(f"{self.name} ended")

    async def answer(self, request: Request) -> PlainTextResponse:
        if request.url.path == "/slow":
            self.busy.set()
            await asyncio.to_thread(self.release.wait, WAIT_S)
        self.events.append(f"{self.name} answered {request.url.path}")
        return PlainTextResponse(self.name)


@pytest.fixture
def front() -> Iterator[tuple[GatewayFront, str]]:
    gateway = GatewayFront(lambda: "the API server holds no complete stack yet")
    component = Component("gateway", bind(0), gateway)
    with serve_in_thread(ServerGroup([component])):
        yield gateway, component.url


def get(url: str) -> httpx.Response:
    """One request on a connection of its own."""
    return httpx.get(url, timeout=WAIT_S)


def test_without_an_app_the_socket_answers_503_with_the_problem(
    front: tuple[GatewayFront, str],
) -> None:
    gateway, url = front
    events: list[str] = []
    before = get(f"{url}/v1/models")
    assert before.status_code == 503, before.text
    assert before.text == (
        "maas-local cluster serves no stack: the API server holds no complete stack yet\n"
    )
    gateway.serve(App("a", events).app)
    assert get(f"{url}/v1/models").text == "a"
    gateway.refuse()
    assert get(f"{url}/v1/models").status_code == 503
    assert events == ["a started", "a answered /v1/models", "a ended"]


def test_a_request_during_a_swap_waits_for_the_new_app_and_the_old_one_finishes_its_own(
    front: tuple[GatewayFront, str],
) -> None:
    gateway, url = front
    events: list[str] = []
    old, new = App("old", events), App("new", events)
    old.release.clear()
    new.started.clear()
    gateway.serve(old.app)
    with ThreadPoolExecutor(3) as pool:
        in_flight = pool.submit(get, f"{url}/slow")
        assert old.busy.wait(WAIT_S), "the old app never got /slow"
        swap = pool.submit(gateway.serve, new.app)
        old.release.set()
        # The new app's lifespan is starting: the old one has ended; the socket is still open.
        assert new.starting.wait(WAIT_S), f"the new app never started: {events}"
        during = pool.submit(get, f"{url}/v1/models")
        new.started.set()
        swap.result(WAIT_S)
        assert during.result(WAIT_S).text == "new", events
        assert in_flight.result(WAIT_S).text == "old", events
    assert events == [
        "old started",
        "old answered /slow",
        "old ended",
        "new started",
        "new answered /v1/models",
    ]
