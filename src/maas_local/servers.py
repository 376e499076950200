"""Run several ASGI apps as separate uvicorn servers on loopback, in one event loop.

Each component of the stack is its own HTTP server, as on a cluster, so components talk to each
other over real sockets. Sockets are bound before any app is built: a port in use fails fast with
a clear message, and apps can be told each other's URLs (ephemeral ports included) up front.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import uvicorn

LOOPBACK = "127.0.0.1"
MAX_HEADER_BYTES = 1 << 20
"""Go's net/http default (maas-api, kube-apiserver), far above Envoy's 60 KiB. h11's own 16 KiB
applies to a header block still arriving, so a legal 20 KB bearer token got a 400 or a reset
depending on how TCP split it."""


class PortInUseError(RuntimeError):
    """A requested port could not be bound."""


def bind(port: int = 0, host: str = LOOPBACK) -> socket.socket:
    """Bind a listening TCP socket; ``port=0`` picks a free one."""
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on such sockets, and without it
    # every response waits on Nagle + delayed ACK (~40 ms a request).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(
                f"port {port} on {host} is already in use; pick another with --port "
                "or stop what is listening there"
            ) from None
        raise
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


@dataclass
class Component:
    """One named server of the stack: its socket and the ASGI app serving it."""

    name: str
    sock: socket.socket
    app: Callable | None = None

    @property
    def url(self) -> str:
        return url_of(self.sock)


@dataclass
class ServerGroup:
    """Serves a set of components until stopped; usable from a background thread or foreground."""

    components: list[Component]
    _servers: list[uvicorn.Server] = field(default_factory=list)

    def _build(self) -> None:
        self._servers = []
        for comp in self.components:
            if comp.app is None:
                raise RuntimeError(f"component {comp.name} has no app")
            config = uvicorn.Config(
                comp.app,
                log_level="warning",
                access_log=False,
                lifespan="on",
                timeout_graceful_shutdown=2,
                h11_max_incomplete_event_size=MAX_HEADER_BYTES,
            )
            server = uvicorn.Server(config)
            # One group-wide stop instead of each server grabbing SIGINT for itself.
            server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
            self._servers.append(server)

    async def serve(self) -> None:
        """Serve every component until :meth:`stop` (or a signal in the foreground)."""
        self._build()
        try:
            pairs = zip(self._servers, self.components, strict=True)
            await asyncio.gather(*(srv.serve(sockets=[c.sock]) for srv, c in pairs))
        finally:
            for comp in self.components:
                comp.sock.close()

    @property
    def started(self) -> bool:
        return bool(self._servers) and all(s.started for s in self._servers)

    def stop(self) -> None:
        for srv in self._servers:
            srv.should_exit = True


@contextlib.contextmanager
def serve_in_thread(group: ServerGroup, timeout: float = 10.0) -> Iterator[ServerGroup]:
    """Serve ``group`` on a daemon thread for tests and embedding; stop it on exit."""
    ready = threading.Event()
    failure: list[BaseException] = []

    async def runner() -> None:
        task = asyncio.ensure_future(group.serve())
        while not task.done() and not group.started:
            await asyncio.sleep(0.005)
        ready.set()
        await task

    def target() -> None:
        try:
            asyncio.run(runner())
        except BaseException as exc:  # surfaced to the caller below
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=target, name="maas-local", daemon=True)
    thread.start()
    if not ready.wait(timeout):
        group.stop()
        raise TimeoutError(f"maas-local components did not start within {timeout}s")
    if failure:
        raise RuntimeError("maas-local failed to start") from failure[0]
    try:
        yield group
    finally:
        group.stop()
        thread.join(timeout)
