"""`maas-local cluster`: the real control plane from the pinned builds, and how it fails.

These tests start the real etcd, kube-apiserver and kube-controller-manager (`.ci/run` builds
them with scripts/build-upstream.sh). Where they are not built the tests that need them skip and
say so; everything else here runs anywhere.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

from maas_e2e.expected import load_expected
from maas_e2e.manifests import load_manifests
from maas_e2e.targets.kube import Kube, KubectlRunner
from maas_e2e.targets.preflight import PreflightError, PreflightReport, preflight
from maas_e2e.targets.status import StackWatch
from maas_local.apiserver_connection import ApiServerConnection
from maas_local.cluster.controllers import Context, StatusWriters
from maas_local.cluster.controlplane import ControlPlane, Endpoints, port_is_free
from maas_local.cluster.dataplane import DataPlane
from maas_local.cluster.processes import ComponentDied
from maas_local.cluster.upstream import UpstreamMissing, locate, pins_key

ROOT = Path(__file__).resolve().parents[3]
E2E_OVERLAY = ROOT / "manifests" / "e2e"
PROMPT = [{"role": "user", "content": "hi"}]
MODEL_PATH = "/llm/facebook-opt-125m-simulated/v1/chat/completions"
RUN_LABEL = "maas-e2e.opendatahub.io/run"


def _upstream_or_skip():
    try:
        return locate()
    except UpstreamMissing as exc:
        pytest.skip(f"not made: {exc}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ControlPlane, Endpoints]]:
    plane = ControlPlane(_upstream_or_skip(), tmp_path_factory.mktemp("cluster"))
    endpoints = plane.start()
    try:
        yield plane, endpoints
    finally:
        plane.stop()


@pytest.fixture(scope="module")
def kubeconfig(cluster: tuple[ControlPlane, Endpoints], tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("kubeconfig") / "config"
    path.write_text(cluster[1].kubeconfig(), encoding="utf-8")
    return path


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["kubectl", f"--kubeconfig={kubeconfig}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def apply_overlay(kubeconfig: Path) -> str:
    """Server-side apply of the e2e overlay, as the suite deploys it; the rendered YAML."""
    rendered = kubectl(kubeconfig, "kustomize", str(E2E_OVERLAY)).stdout
    applied = kubectl(kubeconfig, "apply", "--server-side", "-f", "-", stdin=rendered)
    assert applied.returncode == 0, applied.stderr
    return rendered


def until(check, timeout: float = 60.0):
    """Poll `check` until it returns something truthy, or give its last answer."""
    return Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_fixed(0.2),
        retry=retry_if_result(lambda value: not value),
        retry_error_callback=lambda state: state.outcome.result(),
    )(check)


def test_kubectl_reports_the_pinned_release(kubeconfig: Path) -> None:
    done = kubectl(kubeconfig, "version", "-o", "json")
    assert done.returncode == 0, done.stderr
    server = json.loads(done.stdout)["serverVersion"]["gitVersion"]
    assert server == locate().versions["kubernetes"], server


def test_the_api_server_validates_our_manifests_with_the_real_schemas(kubeconfig: Path) -> None:
    rendered = kubectl(kubeconfig, "kustomize", str(E2E_OVERLAY)).stdout
    namespaces = [d for d in yaml.safe_load_all(rendered) if d and d["kind"] == "Namespace"]
    made = kubectl(
        kubeconfig, "apply", "--server-side", "-f", "-", stdin=yaml.safe_dump_all(namespaces)
    )
    assert made.returncode == 0, made.stderr
    dry = kubectl(
        kubeconfig, "apply", "--server-side", "--dry-run=server", "-f", "-", stdin=rendered
    )
    assert dry.returncode == 0, dry.stderr
    gateway = next(d for d in yaml.safe_load_all(rendered) if d and d["kind"] == "Gateway")
    gateway["spec"]["listeners"][0]["port"] = 70000
    refused = kubectl(
        kubeconfig, "apply", "--server-side", "--dry-run=server", "-f", "-",
        stdin=yaml.safe_dump(gateway),
    )  # fmt: skip
    assert refused.returncode != 0, "Gateway API's schema must refuse a port above 65535"
    assert "spec.listeners[0].port" in refused.stderr, refused.stderr


def test_rbac_is_enforced_as_our_cluster_role_says(kubeconfig: Path) -> None:
    apply_overlay(kubeconfig)
    maas_api = "--as=system:serviceaccount:maas-api:maas-api"
    may = kubectl(kubeconfig, "auth", "can-i", "create", "serviceaccounts/token", maas_api, "-A")
    assert may.stdout.strip() == "yes", may.stdout + may.stderr
    may_not = kubectl(kubeconfig, "auth", "can-i", "delete", "namespaces", maas_api)
    assert may_not.stdout.strip() == "no", may_not.stdout + may_not.stderr


def test_token_request_and_review_honour_the_audience(kubeconfig: Path) -> None:
    assert kubectl(kubeconfig, "create", "namespace", "audience-check").returncode == 0
    account = until(
        lambda: kubectl(kubeconfig, "get", "sa", "default", "-n", "audience-check").returncode == 0
    )
    assert account, "the ServiceAccount controller made no default account"
    token = kubectl(
        kubeconfig, "create", "token", "default", "-n", "audience-check",
        "--audience", "maas-default-gateway-sa",
    ).stdout.strip()  # fmt: skip

    def review(audience: str) -> dict:
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": token, "audiences": [audience]},
        }
        done = kubectl(kubeconfig, "create", "-o", "json", "-f", "-", stdin=json.dumps(body))
        return json.loads(done.stdout)["status"]

    granted = review("maas-default-gateway-sa")
    assert granted["authenticated"] is True, granted
    assert granted["user"]["username"] == "system:serviceaccount:audience-check:default"
    assert review("https://kubernetes.default.svc").get("authenticated") is not True


def test_a_deleted_namespace_is_finalised_by_the_real_controllers(kubeconfig: Path) -> None:
    assert kubectl(kubeconfig, "create", "namespace", "to-delete").returncode == 0
    assert kubectl(kubeconfig, "create", "sa", "someone", "-n", "to-delete").returncode == 0
    assert kubectl(kubeconfig, "delete", "namespace", "to-delete", "--wait=false").returncode == 0
    gone = until(lambda: kubectl(kubeconfig, "get", "namespace", "to-delete").returncode != 0)
    assert gone, "namespace to-delete was never finalised"


def test_stopping_leaves_no_process_and_no_port(tmp_path: Path) -> None:
    plane = ControlPlane(_upstream_or_skip(), tmp_path)
    plane.start()
    processes = [c.process for c in plane.supervisor.components]
    port = plane.api_port
    plane.stop()
    assert all(p.poll() is not None for p in processes), "a component is still running"
    assert port_is_free(port), f"port {port} is still taken"


def test_a_missing_build_names_the_command_that_makes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAAS_UPSTREAM_CACHE", str(tmp_path))
    with pytest.raises(UpstreamMissing) as raised:
        locate()
    assert f"{tmp_path / pins_key()}" in str(raised.value)
    assert "bash scripts/build-upstream.sh" in str(raised.value)


def test_cluster_up_refuses_a_port_in_use_in_one_line() -> None:
    _upstream_or_skip()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "maas_local", "cluster", "up", "--api-port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env={**os.environ},
        )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip() == (
        f"maas-local cluster: port {port} on 127.0.0.1 is already in use; pick another with "
        "--api-port"
    ), done.stderr


@pytest.fixture(scope="module")
def played(cluster: tuple[ControlPlane, Endpoints]) -> Iterator[StatusWriters]:
    writers = StatusWriters(cluster[1].client, Context(gateway_address="127.0.0.1"))
    writers.start()
    yield writers
    writers.stop()


def test_the_suites_preflight_passes_on_the_played_controllers(
    kubeconfig: Path, played: StatusWriters
) -> None:
    """The suite's own preflight (its oracle, not ours) against the real API server."""
    kube = Kube(KubectlRunner("kubectl", str(kubeconfig)))
    report = until(lambda: _preflight(kube))
    assert report, "preflight never passed"
    assert report.server_version == locate().versions["kubernetes"]


def _preflight(kube: Kube) -> PreflightReport | None:
    try:
        # As for a stack that is there: other tests here apply the manifests without the
        # suite's labels, which a deploying preflight would rightly refuse.
        return preflight(kube, load_manifests(E2E_OVERLAY), deploying=False)
    except PreflightError:
        return None


def test_the_suites_stack_watch_sees_every_applied_object_ready(
    kubeconfig: Path, played: StatusWriters
) -> None:
    apply_overlay(kubeconfig)
    watch = StackWatch(
        Kube(KubectlRunner("kubectl", str(kubeconfig))),
        load_manifests(E2E_OVERLAY),
        need_address=True,
    )
    pending = until(lambda: watch.pending() == [] or None) or watch.pending()
    assert pending is True, pending


@pytest.fixture(scope="module")
def dataplane(
    cluster: tuple[ControlPlane, Endpoints], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DataPlane]:
    endpoints = cluster[1]
    connection = ApiServerConnection(endpoints.api_url, endpoints.admin_token, endpoints.ca_cert)
    plane = DataPlane(
        endpoints.client, connection, tmp_path_factory.mktemp("dataplane"), gateway_port=0
    )
    plane.start()
    yield plane
    plane.stop()


def _free_user_statuses(kubeconfig: Path, gateway: str, requests: int) -> list[int] | None:
    """A brand-new free-tier user mints a MaaS token through the gateway and calls the model
    `requests` times; the statuses it got (None while the data plane restarts)."""
    try:
        return _statuses(kubeconfig, gateway, requests)
    except httpx.TransportError:
        return None


def _statuses(kubeconfig: Path, gateway: str, requests: int) -> list[int]:
    name = f"u{uuid.uuid4().hex[:8]}"
    assert kubectl(kubeconfig, "create", "sa", name, "-n", "maas-e2e-free").returncode == 0
    identity = kubectl(kubeconfig, "create", "token", name, "-n", "maas-e2e-free").stdout.strip()
    with httpx.Client(base_url=gateway, timeout=10) as http:
        minted = http.post(
            "/maas-api/v1/tokens",
            headers={"Authorization": f"Bearer {identity}"},
            json={"expiration": "1h"},
        )
        assert minted.status_code == 201, minted.text
        token = minted.json()["token"]
        body = {"model": "facebook-opt-125m-simulated", "messages": PROMPT, "max_tokens": 1}
        path = "/llm/facebook-opt-125m-simulated/v1/chat/completions"
        headers = {"Authorization": f"Bearer {token}"}
        return [http.post(path, json=body, headers=headers).status_code for _ in range(requests)]


def _until_statuses(kubeconfig: Path, dataplane: DataPlane, want: list[int]) -> list[int] | None:
    """Fresh users until one sees `want` (the data plane follows the API server within
    seconds); the last statuses seen."""
    seen: list[list[int] | None] = [None]

    def attempt() -> bool:
        seen[0] = _free_user_statuses(kubeconfig, dataplane.gateway_url, len(want))
        return seen[0] == want

    until(attempt)
    return seen[0]


def test_what_the_api_server_holds_is_what_the_gateway_enforces(
    kubeconfig: Path, dataplane: DataPlane
) -> None:
    rendered = apply_overlay(kubeconfig)
    assert until(lambda: not dataplane.problem and dataplane.gateway_url), dataplane.problem
    limit = load_expected(E2E_OVERLAY).request_limit("free")
    assert limit is not None
    limited = [200] * limit.amount + [429]
    seen = _until_statuses(kubeconfig, dataplane, limited)
    assert seen == limited, f"with the RateLimitPolicy in the API server: {seen}"

    deleted = kubectl(
        kubeconfig, "delete", "ratelimitpolicy", "gateway-rate-limits", "-n", "openshift-ingress"
    )
    assert deleted.returncode == 0, deleted.stderr
    unlimited = [200] * (limit.amount + 1)
    seen = _until_statuses(kubeconfig, dataplane, unlimited)
    assert seen == unlimited, f"the deleted RateLimitPolicy is still enforced: {seen}"
    restored = kubectl(kubeconfig, "apply", "--server-side", "-f", "-", stdin=rendered)
    assert restored.returncode == 0, restored.stderr


@pytest.fixture
def stepped(cluster: tuple[ControlPlane, Endpoints], tmp_path: Path) -> Iterator[DataPlane]:
    """A data plane on the real API server that reads it only when the test calls `sync()`, so
    which change restarted it is known."""
    endpoints = cluster[1]
    connection = ApiServerConnection(endpoints.api_url, endpoints.admin_token, endpoints.ca_cert)
    plane = DataPlane(endpoints.client, connection, tmp_path, gateway_port=0)
    plane.listen()
    yield plane
    plane.stop()


def _free_user(kubeconfig: Path) -> str:
    """The token of a new ServiceAccount of the free tier, for the API server's audience."""
    name = f"u{uuid.uuid4().hex[:8]}"
    assert kubectl(kubeconfig, "create", "sa", name, "-n", "maas-e2e-free").returncode == 0
    return kubectl(kubeconfig, "create", "token", name, "-n", "maas-e2e-free").stdout.strip()


def _maas_token(gateway: str, identity: str) -> str | None:
    """A MaaS token minted through the gateway; None while maas-api cannot mint one."""
    minted = httpx.post(
        f"{gateway}/maas-api/v1/tokens",
        headers={"Authorization": f"Bearer {identity}"},
        json={"expiration": "1h"},
        timeout=10,
    )
    return minted.json()["token"] if minted.status_code == 201 else None


def _model_statuses(gateway: str, token: str, requests: int) -> list[int]:
    body = {"model": "facebook-opt-125m-simulated", "messages": PROMPT, "max_tokens": 1}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=gateway, timeout=10) as http:
        return [
            http.post(MODEL_PATH, json=body, headers=headers).status_code for _ in range(requests)
        ]


@dataclass(frozen=True)
class Sent:
    """One request of `Traffic`: when it left, what it was, what it got and should have got."""

    at: float
    what: str
    answer: str  # the status code, or the transport error (ConnectError: nothing listened)
    expected: str


class Traffic:
    """Requests through the gateway, each on a new connection, one after another until the block
    ends: one the gateway answers itself (401 without a credential) and one maas-api answers
    (its health, behind the gateway's authentication)."""

    PACE_S = 0.02

    def __init__(self, gateway: str, identity: str) -> None:
        self.gateway = gateway
        self.requests = [
            ("POST", MODEL_PATH, {}, "401"),
            ("GET", "/maas-api/health", {"Authorization": f"Bearer {identity}"}, "200"),
        ]
        self.sent: list[Sent] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._send, name="traffic", daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _send(self) -> None:
        while not self._stop.wait(self.PACE_S):
            for method, path, headers, expected in self.requests:
                at = time.monotonic()
                try:
                    sent = httpx.request(method, self.gateway + path, headers=headers, timeout=30)
                    answer = str(sent.status_code)
                except httpx.TransportError as exc:
                    answer = type(exc).__name__
                self.sent.append(Sent(at, f"{method} {path}", answer, expected))

    def wrong(self) -> list[Sent]:
        return [sent for sent in self.sent if sent.answer != sent.expected]

    def during(self, start: float, end: float) -> int:
        return sum(start <= sent.at <= end for sent in self.sent)


def test_objects_replaced_under_a_serving_data_plane_refuse_no_request(
    kubeconfig: Path, stepped: DataPlane
) -> None:
    """A run taking over an interrupted run's objects re-labels them all; objects get deleted and
    re-created. Only what the components are made from (the stack's configuration, maas-api's
    ServiceAccount) restarts them, no request is refused meanwhile, and maas-api mints tokens
    with its re-created account. In CI a restart after the readiness checks closed the gateway's
    socket and the first two tests got `Connection refused`."""
    plane, gateway = stepped, stepped.gateway_url
    rendered = apply_overlay(kubeconfig)
    assert plane.sync(), "the applied overlay did not start the data plane"
    assert not plane.problem, plane.problem
    limit = load_expected(E2E_OVERLAY).request_limit("free")
    assert limit is not None
    limited = [200] * limit.amount + [429]
    identity = _free_user(kubeconfig)
    spender = _maas_token(gateway, identity)
    assert spender is not None, "maas-api minted no token"
    assert _model_statuses(gateway, spender, limit.amount + 1) == limited
    restarts: list[tuple[float, float]] = []

    def sync() -> bool:
        start = time.monotonic()
        restarted = plane.sync()
        if restarted:
            restarts.append((start, time.monotonic()))
        return restarted

    def run(*args: str, stdin: str | None = None) -> None:
        done = kubectl(kubeconfig, *args, stdin=stdin)
        assert done.returncode == 0, done.stderr

    apply = ("apply", "--server-side", "-f", "-")
    with Traffic(gateway, identity) as traffic:
        documents = [d for d in yaml.safe_load_all(rendered) if d]
        for doc in documents:
            doc["metadata"].setdefault("labels", {})[RUN_LABEL] = "taking-over"
        run(*apply, stdin=yaml.safe_dump_all(documents))
        assert sync() is False, "re-labelled objects restarted the data plane"
        assert _model_statuses(gateway, spender, 1) == [429], "the gateway's counters were reset"

        run("delete", "ratelimitpolicy", "gateway-rate-limits", "-n", "openshift-ingress")
        assert sync() is True, "a deleted RateLimitPolicy is still enforced"
        assert _model_statuses(gateway, spender, 1) == [200]

        run("delete", "serviceaccount", "maas-api", "-n", "maas-api")
        assert sync() is False, "without its ServiceAccount maas-api keeps running, as a pod does"
        wanted = ("ServiceAccount", "maas-api")
        account = next(d for d in documents if (d["kind"], d["metadata"]["name"]) == wanted)
        run(*apply, stdin=yaml.safe_dump(account))
        assert sync() is True, "maas-api kept the token of its deleted ServiceAccount"
        # The API server's ServiceAccount cache learns of the new account within seconds.
        assert until(lambda: _maas_token(gateway, identity)), "maas-api mints no token any more"

        run(*apply, stdin=rendered)
        assert sync() is True, "the re-applied RateLimitPolicy did not restart the data plane"
        token = _maas_token(gateway, _free_user(kubeconfig))
        assert token is not None, "maas-api minted no token"
        assert _model_statuses(gateway, token, limit.amount + 1) == limited
    assert len(restarts) == 3, restarts
    assert all(traffic.during(start, end) for start, end in restarts), (restarts, traffic.sent)
    wrong = traffic.wrong()
    assert not wrong, f"{len(wrong)} of {len(traffic.sent)} requests went wrong: {wrong[:5]}"


def test_a_component_that_dies_is_named_with_the_end_of_its_log(tmp_path: Path) -> None:
    plane = ControlPlane(_upstream_or_skip(), tmp_path)
    plane.start()
    processes = [c.process for c in plane.supervisor.components]
    try:
        etcd = next(c for c in plane.supervisor.components if c.name == "etcd")
        etcd.process.kill()
        etcd.process.wait(timeout=10)
        with pytest.raises(ComponentDied) as died:
            plane.supervisor.check()
        assert str(died.value).startswith("etcd exited with code -9; the end of its log ("), died
    finally:
        plane.stop()
    assert all(p.poll() is not None for p in processes), "stop() left a component running"
