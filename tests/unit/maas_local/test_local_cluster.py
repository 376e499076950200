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
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

from maas_e2e.expected import load_expected
from maas_e2e.manifests import load_manifests
from maas_e2e.targets.kube import Kube, KubectlRunner
from maas_e2e.targets.preflight import PreflightError, PreflightReport, preflight
from maas_e2e.targets.readiness import StackWatch
from maas_local.apiserver_connection import ApiServerConnection
from maas_local.cluster.controllers import Context, StatusWriters
from maas_local.cluster.controlplane import ControlPlane, Endpoints, port_is_free
from maas_local.cluster.dataplane import DataPlane
from maas_local.cluster.processes import ComponentDied
from maas_local.cluster.upstream import UpstreamMissing, locate, pins_key

ROOT = Path(__file__).resolve().parents[2]
E2E_OVERLAY = ROOT / "manifests" / "e2e"
PROMPT = [{"role": "user", "content": "hi"}]


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
