"""Whole pytest runs of the cluster target against a stand-in kubectl: one deploy and one teardown
per run with pytest-xdist, `--maas-keep`, `--maas-skip-deploy`, and no cluster contact at all
when no test needs the target."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from kubefake import APPS_DOMAIN, FakeGateway, e2e_expected, e2e_manifests

ROOT = Path(__file__).resolve().parents[3]
FAKE = Path(__file__).resolve().parent / "fake_kubectl.py"
RUN_TIMEOUT_S = 120

INNER_CONFTEST = f"""
import importlib.util

_spec = importlib.util.spec_from_file_location("maas_root_conftest", {str(ROOT / "conftest.py")!r})
_root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_root)
pytest_plugins = _root.pytest_plugins
"""

INNER_TESTS = """
import pytest

@pytest.mark.parametrize("n", range(4))
def test_uses_the_cluster(target, n):
    assert target.name == "cluster"
    target.new_identity("free", "tier-free-users", f"inner-{n}")

def test_needs_no_cluster():
    pass
"""


def _handler(gateway: FakeGateway, host: str | None = None) -> type[BaseHTTPRequestHandler]:
    """The fake gateway's data plane over HTTP (with Limitador's headers), one request at a time.
    With `host`, only requests with that Host get through, as to a listener with `hostname:`;
    Istio answers 404 to the others."""
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if host is not None and self.headers.get("host") != host:
                self.rfile.read(length)
                self.send_response(404)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            body = json.loads(self.rfile.read(length)) if length else None
            auth = self.headers.get("authorization")
            token = auth.removeprefix("Bearer ") if auth else None
            with lock:
                reply = gateway.send(self.command, self.path, token=token, json=body)
            content = reply.body.encode()
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            return None

    return Handler


def _serve(host: str | None = None) -> Iterator[str]:
    fake = FakeGateway(e2e_expected(), headers=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake, host))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    yield from _serve()


def _run(
    tmp_path: Path,
    gateway: str,
    *args: str,
    select: str = "",
    missing_crds: str = "",
    inner: str = INNER_TESTS,
    rendered: str | None = None,
) -> tuple[int, str, list]:
    (tmp_path / "conftest.py").write_text(INNER_CONFTEST)
    (tmp_path / "test_inner.py").write_text(inner)
    manifests = tmp_path / "rendered.yaml"
    manifests.write_text(rendered if rendered is not None else e2e_manifests().text)
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE} "$@"\n')
    kubectl.chmod(0o755)
    log = tmp_path / "kubectl.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MAAS_", "PYTEST_"))},
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        "KUBECTL": str(kubectl),
        "KUBECONFIG": "",
        "FAKE_KUBECTL_LOG": str(log),
        "FAKE_KUBECTL_MANIFESTS": str(manifests),
        "FAKE_KUBECTL_MISSING_CRDS": missing_crds,
    }
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
        "--maas-target", "cluster", "--maas-manifests", str(manifests),
        "--maas-gateway-url", gateway, *args,
    ]  # fmt: skip
    if select:
        command += ["-k", select]
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return done.returncode, done.stdout + done.stderr, calls


def _deletes(calls: list) -> list:
    return [c for c in calls if c["args"][0] == "delete"]


def test_xdist_run_deploys_once_and_tears_down_once_after_every_worker(
    tmp_path: Path, gateway: str
) -> None:
    code, output, calls = _run(tmp_path, gateway, "-n", "2")
    assert code == 0, output
    applies = [c for c in calls if c["args"][0] == "apply"]
    assert len(applies) == 1, f"expected one apply for the run, got {len(applies)}:\n{output}"
    users = {
        c["who"]
        for c in calls
        if c["args"][:2] == ["create", "token"] and "default" not in c["args"]
    }
    assert users == {"gw0", "gw1"}, f"both workers should have made identities, got {users}"
    deletes = _teardown(calls)
    assert deletes, "nothing was torn down"
    assert [c["who"] for c in deletes] == ["main"] * len(deletes), deletes
    assert sum(1 for c in deletes if c["args"][:3] == ["delete", "-f", "-"]) == 1, deletes
    last_worker_call = max(i for i, c in enumerate(calls) if c["who"] != "main")
    first_delete = calls.index(deletes[0])
    assert first_delete > last_worker_call, "teardown must wait until every worker is done"


def _teardown(calls: list[dict]) -> list[dict]:
    """The deletes after the last worker's call: the run's teardown (before it, a bring-up
    removes what earlier runs left)."""
    workers = [i for i, c in enumerate(calls) if c["who"] not in ("main", "before")]
    after = max(workers, default=-1)
    return [c for c in calls[after + 1 :] if c["args"][0] == "delete"]


def test_run_without_xdist_deploys_and_tears_down_once(tmp_path: Path, gateway: str) -> None:
    code, output, calls = _run(tmp_path, gateway, "-p", "no:xdist")
    assert code == 0, output
    assert sum(1 for c in calls if c["args"][0] == "apply") == 1, output
    assert sum(1 for c in _deletes(calls) if c["args"][:3] == ["delete", "-f", "-"]) == 1, calls


def test_keep_leaves_everything_in_place(tmp_path: Path, gateway: str) -> None:
    code, output, calls = _run(tmp_path, gateway, "-n", "2", "--maas-keep")
    assert code == 0, output
    assert _teardown(calls) == [], _teardown(calls)
    assert "--maas-keep: the stack and test identities stay" in output, output


def test_skip_deploy_uses_the_stack_there_and_removes_only_identities(
    tmp_path: Path, gateway: str
) -> None:
    # The fake reports objects only after an apply: pretend one happened before this run.
    (tmp_path / "kubectl.log").write_text(json.dumps({"who": "before", "args": ["apply"]}) + "\n")
    code, output, calls = _run(tmp_path, gateway, "-n", "2", "--maas-skip-deploy")
    assert code == 0, output
    ours = [c for c in calls if c["who"] != "before"]
    assert not [c for c in ours if c["args"][0] in ("apply", "patch")], ours
    kinds = {c["args"][1] for c in _teardown(ours)}
    assert kinds == {"serviceaccount"}, _teardown(ours)


def test_no_cluster_is_contacted_when_no_test_needs_it(tmp_path: Path, gateway: str) -> None:
    code, output, calls = _run(tmp_path, gateway, "-n", "2", select="needs_no_cluster")
    assert code == 0, output
    assert calls == [], calls


def test_a_failed_preflight_is_tried_once_per_run_not_once_per_worker(
    tmp_path: Path, gateway: str
) -> None:
    missing = "tokenratelimitpolicies.kuadrant.io"
    code, output, calls = _run(tmp_path, gateway, "-n", "2", missing_crds=missing)
    assert code != 0, output
    assert f"CRD {missing} (TokenRateLimitPolicy) is not installed" in output, output
    assert sum(1 for c in calls if c["args"][:2] == ["get", "crd"]) == 1, calls
    assert not [c for c in calls if c["args"][0] in ("apply", "delete")], calls


HOSTNAME = f"maas-api.{APPS_DOMAIN}"

INNER_HOSTNAME_TESTS = f"""
def test_the_suites_client_reaches_a_gateway_that_wants_its_hostname(target, api):
    assert target.gateway_host == {HOSTNAME!r}
    assert api.list_models(None).status_code == 401
"""


def _with_listener_hostname(hostname: str) -> str:
    """The manifests as upstream's render: the Gateway's listener with `hostname:`."""
    docs = [dict(d) for d in e2e_manifests().documents]
    for doc in docs:
        if doc["kind"] == "Gateway":
            listeners = [{**lst, "hostname": hostname} for lst in doc["spec"]["listeners"]]
            doc["spec"] = {**doc["spec"], "listeners": listeners}
    return yaml.safe_dump_all(docs, sort_keys=False)


@pytest.fixture(scope="module")
def hostname_gateway() -> Iterator[str]:
    """A gateway (e.g. a port-forward to it) whose listener answers only HOSTNAME."""
    yield from _serve(HOSTNAME)


def test_a_run_through_a_port_forward_names_the_listeners_hostname(
    tmp_path: Path, hostname_gateway: str
) -> None:
    """Bring-up probes and the tests' client both carry the live Gateway's listener hostname as
    Host, read from the cluster although --maas-gateway-url is given."""
    code, output, calls = _run(
        tmp_path,
        hostname_gateway,
        "-p",
        "no:xdist",
        inner=INNER_HOSTNAME_TESTS,
        rendered=_with_listener_hostname(HOSTNAME),
    )
    assert code == 0, output
    reads = [c for c in calls if c["args"][:2] == ["get", "gateways.gateway.networking.k8s.io"]]
    assert len(reads) == 1, calls
