"""`maas-local` as people run it: up serves the seed's flow, bad input stops it with a message."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

from maas_local.config import render_overlay
from maas_local.servers import bind

E2E = Path(__file__).resolve().parents[3] / "manifests" / "e2e"


def maas_local(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "maas_local", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def running(tmp_path: Path) -> Iterator[dict]:
    """`maas-local up` on free ports, as a separate process; its ready-file contents."""
    ready = tmp_path / "ready.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "maas_local", "up", "--port", "0", "--api-port", "0",
         "--ready-file", str(ready)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )  # fmt: skip
    waited = Retrying(
        stop=stop_after_delay(20),
        wait=wait_fixed(0.05),
        retry=retry_if_result(lambda found: not found and proc.poll() is None),
    )
    waited(ready.exists)
    try:
        assert ready.exists(), (
            f"maas-local up never got ready: {proc.stdout.read() if proc.stdout else ''}"
        )
        yield json.loads(ready.read_text())
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def test_seed_flow_mints_a_token_discovers_and_calls_the_model(running: dict) -> None:
    """`up` serves and `token` gives an identity the stack accepts; the seed's 16 requests and
    their 429 are the e2e suite's (tests/e2e/test_rate_limits.py, on a `maas-local up` too)."""
    token = maas_local("token", "alice", "--url", running["apiserver"])
    assert token.returncode == 0, token.stderr
    identity = token.stdout.strip()
    with httpx.Client(base_url=running["gateway"], timeout=10) as http:
        minted = http.post(
            "/maas-api/v1/tokens",
            headers={"Authorization": f"Bearer {identity}"},
            json={"expiration": "4h"},
        )
        assert minted.status_code == 201, minted.text
        maas = {"Authorization": f"Bearer {minted.json()['token']}"}
        first = http.get("/v1/models", headers=maas).json()["data"][0]
        body = {"model": first["id"], "prompt": "Not really understood prompt", "max_prompts": 40}
        called = http.post(f"{first['url']}/v1/chat/completions", headers=maas, json=body)
    assert called.status_code == 200, f"expected 200, got {called.status_code} {called.text}"


def test_port_in_use_is_a_clear_error() -> None:
    taken = bind(0)
    try:
        port = taken.getsockname()[1]
        result = maas_local("up", "--port", str(port), "--api-port", "0")
    finally:
        taken.close()
    assert result.returncode == 2, result.stderr
    assert f"port {port}" in result.stderr, result.stderr
    assert "already in use" in result.stderr, result.stderr


def test_a_broken_manifest_stops_up_naming_object_and_field(tmp_path: Path) -> None:
    objects = render_overlay(E2E)
    for obj in objects:
        if obj["kind"] == "RateLimitPolicy":
            obj["spec"]["limits"]["free"]["rates"][0]["window"] = "two minutes"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump_all(objects))
    result = maas_local("up", "--port", "0", "--api-port", "0", "--manifests", str(broken))
    assert result.returncode == 2, result.stderr
    assert "RateLimitPolicy openshift-ingress/gateway-rate-limits" in result.stderr
    assert "window" in result.stderr


def test_token_without_a_running_stack_says_what_to_do() -> None:
    closed = bind(0)
    port = closed.getsockname()[1]
    closed.close()
    result = maas_local("token", "alice", "--url", f"http://127.0.0.1:{port}")
    assert result.returncode == 2
    assert "is `maas-local up` running?" in result.stderr, result.stderr
