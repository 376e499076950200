"""Figures of `maas-local cluster`: building the pinned upstream components, and starting them.

Run: `.venv/bin/python benchmarks/cluster.py [--runs 3] [--fresh] [--suite]`. Prints, asserts
nothing.
- build, cached: `scripts/build-upstream.sh` when the pins' build is already in the cache;
- build, fresh (`--fresh`): the same with empty Go module, Go build and upstream caches, as on a
  new machine (several minutes, and ~0.5 GB of modules downloaded);
- start to ready: `ControlPlane.start()` until etcd, the API server, the CRDs and the
  controller manager all answer;
- suite (`--suite`): `pytest -m e2e -n 2` on this target (scripts/e2e-on-local-cluster.sh: start,
  bring-up, tests, teardown, stop) next to the same on the embedded stack.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from maas_local.cluster.controlplane import ControlPlane
from maas_local.cluster.upstream import locate

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "build-upstream.sh"


def seconds(argv: list[str], env: dict[str, str] | None = None) -> float:
    began = time.perf_counter()
    subprocess.run(argv, env=env, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - began


def build_seconds(env: dict[str, str]) -> float:
    return seconds(["bash", str(SCRIPT)], env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fresh", action="store_true", help="also time a build from empty caches")
    parser.add_argument("--suite", action="store_true", help="also time the e2e suite on both")
    args = parser.parse_args()

    print(f"build, cached: {build_seconds(dict(os.environ)):.2f} s")
    if args.fresh:
        with tempfile.TemporaryDirectory() as empty:
            env = {
                **os.environ,
                "GOMODCACHE": f"{empty}/mod",
                "GOCACHE": f"{empty}/build",
                "MAAS_UPSTREAM_CACHE": f"{empty}/upstream",
            }
            print(f"build, fresh:  {build_seconds(env):.0f} s")
            subprocess.run(["chmod", "-R", "u+w", empty], check=False)

    upstream = locate()
    starts = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as workdir:
            plane = ControlPlane(upstream, Path(workdir))
            began = time.perf_counter()
            plane.start()
            starts.append(time.perf_counter() - began)
            plane.stop()
    if args.suite:
        quiet = ["-n", "2", "-q", "-p", "no:cacheprovider"]
        cluster = seconds(["bash", str(ROOT / "scripts" / "e2e-on-local-cluster.sh"), *quiet])
        embedded = seconds([sys.executable, "-m", "pytest", "-m", "e2e", *quiet])
        print(f"e2e suite -n 2: {cluster:.1f} s on maas-local cluster, {embedded:.1f} s embedded")
    print(
        f"start to ready ({args.runs} runs): median {statistics.median(starts):.2f} s, "
        f"max {max(starts):.2f} s  (Kubernetes {upstream.versions['kubernetes']}, "
        f"etcd {upstream.versions['etcd']})"
    )


if __name__ == "__main__":
    main()
