"""The gateway listener's hostname reaches the wire: as Host from the bring-up probes and from the
tests' recording client, and as TLS SNI (the certificate is checked against it) over https."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from maas_e2e.api import rebase
from maas_e2e.host_pin import GatewayHost
from maas_e2e.recording import Recorder
from maas_e2e.targets.traffic import HttpGateway

HOSTNAME = "maas-api.apps.ci.example.com"


@dataclass
class Seen:
    """What the server received: (method, path, Host) per request, and the TLS SNI names."""

    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)


def _handler(seen: Seen) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            self.rfile.read(length)
            seen.requests.append((self.command, self.path, self.headers.get("host")))
            body = b'{"error":"credential not found"}'
            self.send_response(401)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            return None

    return Handler


@pytest.fixture
def seen() -> Seen:
    return Seen()


def _serve(seen: Seen, tls: ssl.SSLContext | None = None) -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(seen))
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def plain_port(seen: Seen) -> Iterator[int]:
    yield from _serve(seen)


@dataclass(frozen=True)
class Pki:
    ca: Path
    cert: Path
    key: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA and a certificate for HOSTNAME only (no IP): what the gateway's listener serves."""
    directory = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test ingress CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOSTNAME)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOSTNAME)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = Pki(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture
def tls_port(seen: Seen, pki: Pki) -> Iterator[int]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.cert, pki.key)

    def note_sni(_sock: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        seen.sni.append(name)

    context.sni_callback = note_sni  # type: ignore[assignment]
    yield from _serve(seen, context)


def _trusting(pki: Pki) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(pki.ca))


def test_the_bring_up_probes_send_the_listeners_hostname_as_host(
    seen: Seen, plain_port: int
) -> None:
    gateway = HttpGateway(True).with_host(HOSTNAME)
    url = f"http://127.0.0.1:{plain_port}"
    assert gateway(f"{url}/v1/models") == 401
    reply = gateway.send("POST", f"{url}/maas-api/v1/tokens", token="t", json={"expiration": "1h"})
    assert reply.status == 401, reply
    assert seen.requests == [
        ("GET", "/v1/models", HOSTNAME),
        ("POST", "/maas-api/v1/tokens", HOSTNAME),
    ], seen.requests


def test_without_a_hostname_the_probes_send_the_urls_own_host(seen: Seen, plain_port: int) -> None:
    assert HttpGateway(True)(f"http://127.0.0.1:{plain_port}/v1/models") == 401
    assert seen.requests == [("GET", "/v1/models", f"127.0.0.1:{plain_port}")], seen.requests


def test_over_tls_the_hostname_is_the_sni_and_the_certificate_is_checked_against_it(
    seen: Seen, tls_port: int, pki: Pki
) -> None:
    gateway = HttpGateway(_trusting(pki), host=HOSTNAME)
    assert gateway(f"https://127.0.0.1:{tls_port}/v1/models") == 401
    assert seen.sni == [HOSTNAME], seen.sni
    assert seen.requests == [("GET", "/v1/models", HOSTNAME)], seen.requests


def test_over_tls_without_the_hostname_the_listeners_certificate_does_not_verify(
    seen: Seen, tls_port: int, pki: Pki
) -> None:
    """What the pinning is for: the address is not the name the listener's certificate has."""
    with pytest.raises(httpx.ConnectError, match=r"IP address mismatch|certificate verify failed"):
        HttpGateway(_trusting(pki))(f"https://127.0.0.1:{tls_port}/v1/models")
    assert seen.sni == [None], "no SNI for an IP address"


def test_the_recording_client_sends_and_records_the_hostname_for_the_gateway_only(
    seen: Seen, plain_port: int
) -> None:
    gateway_url = f"http://127.0.0.1:{plain_port}"
    pin = GatewayHost(gateway_url, HOSTNAME)
    recorder = Recorder()
    model_url = rebase(f"https://{HOSTNAME}/llm/premium-simulated", gateway_url)
    other = f"http://localhost:{plain_port}/v1/models"  # another origin, same server
    with recorder.client(timeout=5, event_hooks=pin.event_hooks()) as client:
        client.get(f"{gateway_url}/v1/models")
        client.post(f"{model_url}/v1/chat/completions", json={"model": "premium-simulated"})
        client.get(other)
    assert seen.requests == [
        ("GET", "/v1/models", HOSTNAME),
        ("POST", "/llm/premium-simulated/v1/chat/completions", HOSTNAME),
        ("GET", "/v1/models", f"localhost:{plain_port}"),
    ], seen.requests
    recorded = [
        dict((k.lower(), v) for k, v in e.request_headers)["host"] for e in recorder.exchanges
    ]
    assert recorded == [HOSTNAME, HOSTNAME, f"localhost:{plain_port}"], recorded


def test_the_recording_client_names_the_hostname_in_tls_too(
    seen: Seen, tls_port: int, pki: Pki
) -> None:
    gateway_url = f"https://127.0.0.1:{tls_port}"
    hooks = GatewayHost(gateway_url, HOSTNAME).event_hooks()
    with Recorder().client(timeout=5, verify=_trusting(pki), event_hooks=hooks) as client:
        assert client.get(f"{gateway_url}/v1/models").status_code == 401
    assert (seen.sni, seen.requests) == ([HOSTNAME], [("GET", "/v1/models", HOSTNAME)])


def test_without_a_hostname_clients_are_left_as_they_are() -> None:
    """maas-local's gateway (and a cluster Gateway without `hostname:`) answers any Host."""
    assert GatewayHost("http://127.0.0.1:8080", None).event_hooks() == {}


@pytest.mark.parametrize(
    ("url", "same"),
    [
        ("http://127.0.0.1:8080/llm/x/v1/models", True),
        ("http://127.0.0.1:8081/v1/models", False),
        ("https://127.0.0.1:8080/v1/models", False),
        ("http://localhost:8080/v1/models", False),
    ],
)
def test_only_the_gateways_origin_is_pinned(url: str, same: bool) -> None:
    pin = GatewayHost("http://127.0.0.1:8080", HOSTNAME)
    assert pin.sends_to_gateway(httpx.URL(url)) is same


def test_default_ports_are_the_same_origin() -> None:
    pin = GatewayHost(f"https://{ipaddress.ip_address('10.0.0.5')}", HOSTNAME)
    assert pin.sends_to_gateway(httpx.URL("https://10.0.0.5:443/v1/models"))
