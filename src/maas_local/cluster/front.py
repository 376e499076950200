"""The gateway's socket of `maas-local cluster`, open from start to stop, whatever runs behind it.

The data plane restarts its components when what they were made from changes in the API server.
It used to close the gateway's socket for the restart, and a client that connected in that moment
got `Connection refused` (in CI: the first tests of a run that had just taken over an interrupted
run's objects), which a real Gateway never answers while it is reconfigured. Here the socket and
the server on it live as long as the data plane and only the gateway app behind them is replaced:
a request that arrives during a restart waits for the new app, those in flight are finished by the
old app before its clients close, and while no stack serves the answer is a 503 that says why.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Router
from starlette.types import Receive, Scope, Send

DRAIN_S = 5.0
"""How long the requests an app has in flight may take to finish before its clients close."""
STEP_S = DRAIN_S + 30.0
"""Bound on one change of app (drain, then the old app's lifespan ends and the new one's starts)."""


class GatewayFront:
    """The ASGI app on the gateway's socket: each request goes to the gateway app of the moment.

    `hold`, `serve` and `refuse` are called from the data plane's thread and run on the server's
    event loop, where the requests are, so the state needs no lock.
    """

    def __init__(self, problem: Callable[[], str]) -> None:
        self._problem = problem  # why no stack serves, for the 503
        self._app: Starlette | None = None
        self._app_lifespan: contextlib.AsyncExitStack | None = None
        self._open = asyncio.Event()  # set: requests pass, to the app or to the 503
        self._open.set()
        self._idle = asyncio.Event()  # set: no request is with the app
        self._idle.set()
        self._active = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._router = Router(lifespan=self._lifespan)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._router.lifespan(scope, receive, send)
            return
        await self._open.wait()
        app = self._app
        if app is None:
            reply = f"maas-local cluster serves no stack: {self._problem()}\n"
            await PlainTextResponse(reply, status_code=503)(scope, receive, send)
            return
        self._active += 1
        self._idle.clear()
        try:
            await app(scope, receive, send)
        finally:
            self._active -= 1
            if not self._active:
                self._idle.set()

    def hold(self) -> None:
        """From now on requests wait; returns once those in flight are done (or `DRAIN_S`
        passed) and the app's lifespan has ended, so what the app calls may be stopped."""
        self._run(self._hold)

    def serve(self, app: Starlette) -> None:
        """Start `app`'s lifespan and give it every request, the waiting ones first."""

        async def step() -> None:
            await self._hold()
            lifespan = contextlib.AsyncExitStack()
            await lifespan.enter_async_context(app.router.lifespan_context(app))
            self._app, self._app_lifespan = app, lifespan
            self._open.set()

        self._run(step)

    def refuse(self) -> None:
        """Answer every request, the waiting ones too, with a 503 naming the problem."""

        async def step() -> None:
            await self._hold()
            self._open.set()

        self._run(step)

    async def _hold(self) -> None:
        self._open.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), DRAIN_S)
        await self._end_app()

    async def _end_app(self) -> None:
        lifespan, self._app, self._app_lifespan = self._app_lifespan, None, None
        if lifespan is not None:
            await lifespan.aclose()

    @contextlib.asynccontextmanager
    async def _lifespan(self, _: object) -> AsyncIterator[None]:
        self._loop = asyncio.get_running_loop()
        try:
            yield
        finally:
            self._loop = None
            await self._end_app()

    def _run(self, step: Callable[[], Coroutine[Any, Any, None]]) -> None:
        if self._loop is None:
            raise RuntimeError("the gateway's server is not running")
        asyncio.run_coroutine_threadsafe(step(), self._loop).result(STEP_S)
