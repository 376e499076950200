"""The recording client tags each request with its own id and records redacted exchanges."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from maas_e2e.recording import REQUEST_ID_HEADER, Recorder, request_id_of

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNlY3JldC1ieXRlcw"
SIGNATURE = JWT.rsplit(".", 1)[1]
OPENSHIFT = "sha256~Xk3q9v_2hT0p-LmN8rQwErTyUiOpAsDfGhJkLzXcVbN"


def _echo(request: httpx.Request) -> httpx.Response:
    """Answers with the id the server saw, like a server log line would show it."""
    if request.url.path == "/tokens":
        return httpx.Response(201, json={"token": JWT, "expiration": "4h0m0s"})
    if request.url.path == "/limited":
        return httpx.Response(429, text="Too Many Requests\n")
    if request.url.path == "/big":
        return httpx.Response(200, text="x" * 10_000)
    return httpx.Response(200, json={"seen_id": request.headers.get(REQUEST_ID_HEADER)})


@pytest.fixture
def recorder() -> Recorder:
    return Recorder(max_body_bytes=1024)


@pytest.fixture
def client(recorder: Recorder) -> Iterator[httpx.Client]:
    with recorder.client(transport=httpx.MockTransport(_echo), base_url="http://maas.test") as c:
        yield c


def test_each_request_carries_a_distinct_uuid4_id(recorder: Recorder, client: httpx.Client) -> None:
    seen = [client.get("/echo").json()["seen_id"] for _ in range(5)]
    assert len(set(seen)) == 5, seen
    assert all(uuid.UUID(value).version == 4 for value in seen), seen
    assert [e.request_id for e in recorder.exchanges] == seen


def test_caller_chosen_id_is_kept(client: httpx.Client) -> None:
    response = client.get("/echo", headers={REQUEST_ID_HEADER: "mine"})
    assert response.json()["seen_id"] == "mine"
    assert request_id_of(response) == "mine"


def test_exchange_records_request_and_response(recorder: Recorder, client: httpx.Client) -> None:
    response = client.post("/echo", json={"expiration": "4h"})
    [exchange] = recorder.exchanges
    assert (exchange.method, exchange.url, exchange.status) == (
        "POST",
        "http://maas.test/echo",
        200,
    )
    assert json.loads(exchange.request_body) == {"expiration": "4h"}
    assert exchange.response_body == response.text
    assert ("content-type", "application/json") in exchange.request_headers
    assert ("content-type", "application/json") in exchange.response_headers
    assert exchange.elapsed is not None, "a read response has its elapsed time"
    assert recorder.by_id(request_id_of(response) or "") is exchange


def test_secrets_are_redacted_in_exchange_and_render(
    recorder: Recorder, client: httpx.Client
) -> None:
    client.post("/tokens", headers={"Authorization": f"Bearer {OPENSHIFT}"}, json={})
    [exchange] = recorder.exchanges
    text = exchange.render()
    for secret in (OPENSHIFT[7:], SIGNATURE):
        assert secret not in text, f"{secret!r} leaked:\n{text}"
        assert secret not in repr(exchange), f"{secret!r} leaked in the dataclass"
    assert "authorization: Bearer sha256~…[redacted" in text, text
    assert '"token":"eyJhbGci…[redacted jwt' in text, text


def test_render_reads_like_curl_verbose(recorder: Recorder, client: httpx.Client) -> None:
    client.get("/limited")
    text = recorder.exchanges[0].render()
    for fragment in (f"* {REQUEST_ID_HEADER}: ", "> GET http://maas.test/limited",
                     "< HTTP/1.1 429 Too Many Requests", "Too Many Requests\n"):  # fmt: skip
        assert fragment in text, f"{fragment!r} not in:\n{text}"


def test_large_body_is_truncated_with_total_size(recorder: Recorder, client: httpx.Client) -> None:
    client.get("/big")
    body = recorder.exchanges[0].response_body
    assert body.startswith("x" * 1024), body[:80]
    assert "x" * 1025 not in body, body[-80:]
    assert "[truncated; 10000 bytes in total]" in body, body[-80:]


def test_ids_of_filters_by_status(recorder: Recorder, client: httpx.Client) -> None:
    ok = request_id_of(client.get("/echo"))
    limited = request_id_of(client.get("/limited"))
    assert recorder.ids_of(statuses={429}) == [limited]
    assert recorder.ids_of() == [ok, limited]


def test_streaming_body_is_recorded_as_read(recorder: Recorder) -> None:
    chunks = [b"data: one\n\n", b"data: two\n\n", b"data: [DONE]\n\n"]

    def stream(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"},
                              content=iter(chunks))  # fmt: skip

    with (
        recorder.client(transport=httpx.MockTransport(stream)) as client,
        client.stream("POST", "http://maas.test/v1/chat/completions", json={}) as response,
    ):
        raw = response.iter_raw()
        next(raw)
        [exchange] = recorder.exchanges
        assert exchange.response_body == "data: one\n\n"
        assert exchange.elapsed is None, "still open"
        list(raw)
    assert exchange.response_body == b"".join(chunks).decode()
    assert exchange.elapsed is not None


def test_transport_error_is_recorded_and_raised(recorder: Recorder) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with (
        recorder.client(transport=httpx.MockTransport(refuse)) as client,
        pytest.raises(httpx.ConnectError),
    ):
        client.get("http://maas.test/")
    [exchange] = recorder.exchanges
    assert exchange.status is None
    assert "connection refused" in (exchange.error or ""), exchange.error


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"seen_id": self.headers.get(REQUEST_ID_HEADER)}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


@pytest.fixture
def loopback_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_recording_over_real_loopback_http(recorder: Recorder, loopback_url: str) -> None:
    with recorder.client(timeout=5) as client:
        response = client.get(f"{loopback_url}/x")
    [exchange] = recorder.exchanges
    assert response.json()["seen_id"] == exchange.request_id
    assert (exchange.status, exchange.response_body) == (200, response.text)
    assert ("accept-encoding", "identity") in exchange.request_headers
