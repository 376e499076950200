"""Figures of the embedded stack: start-up time and requests per second through the gateway.

Run: `.venv/bin/python benchmarks/stack.py [--runs 5] [--requests 500]`. Prints the figures; it
asserts nothing (speed goals are read here, not enforced by timed tests). The issue's goal: the
stack answers within 1.5 s of being started on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def start(workdir: Path) -> tuple[subprocess.Popen, dict, float]:
    """Start `maas-local up` and return it, its URLs and the seconds until the gateway answered."""
    ready = workdir / "ready.json"
    ready.unlink(missing_ok=True)
    began = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "maas_local", "up", "--port", "0", "--api-port", "0",
         "--manifests", str(ROOT / "manifests" / "e2e"), "--ready-file", str(ready)],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    deadline = began + 30
    while time.perf_counter() < deadline:
        if ready.exists():
            info = json.loads(ready.read_text())
            try:
                if httpx.get(f"{info['gateway']}/maas-api/health", timeout=1).status_code:
                    return proc, info, time.perf_counter() - began
            except httpx.HTTPError:
                pass
        if proc.poll() is not None:
            raise SystemExit(f"maas-local exited with {proc.returncode}")
    raise SystemExit("maas-local did not answer within 30 s")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(10)


def mint(client: httpx.Client, info: dict) -> str:
    user = client.post(
        f"{info['apiserver']}/local/v1/users/bench-{time.time_ns()}/token",
        json={"groups": ["tier-enterprise-users"]},
    ).json()["token"]
    return client.post(
        f"{info['gateway']}/maas-api/v1/tokens",
        headers={"Authorization": f"Bearer {user}"},
        json={"expiration": "1h"},
    ).json()["token"]


def throughput(info: dict, requests: int, per_user: int = 40) -> float:
    """Chat completions per second by one client through gateway, auth and both limiters.

    Each user sends fewer requests than the enterprise limit, so every request is a 200.
    """
    with httpx.Client(timeout=10) as client:
        tokens = [mint(client, info) for _ in range(-(-requests // per_user))]
        url = f"{info['gateway']}/llm/facebook-opt-125m-simulated/v1/chat/completions"
        body = {
            "model": "facebook-opt-125m-simulated",
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 5,
        }
        began = time.perf_counter()
        for i in range(requests):
            headers = {"Authorization": f"Bearer {tokens[i // per_user]}"}
            resp = client.post(url, headers=headers, json=body)
            if resp.status_code != 200:
                raise SystemExit(f"request failed: {resp.status_code} {resp.text[:200]}")
        return requests / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    startups = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            proc, info, seconds = start(Path(tmp))
            startups.append(seconds)
            if run == 0:
                rate = throughput(info, args.requests)
            stop(proc)
    print(
        f"start-up to first gateway answer: median {statistics.median(startups):.3f} s, "
        f"max {max(startups):.3f} s over {args.runs} runs (goal: < 1.5 s)"
    )
    print(
        f"gateway -> simulator chat completions: {rate:.0f} req/s "
        f"({args.requests} sequential requests, enterprise tier)"
    )


if __name__ == "__main__":
    main()
