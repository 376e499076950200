"""Figures of the e2e suite on the embedded stack: wall time, and what the leak check costs.

Run: `.venv/bin/python benchmarks/suite.py [--runs 3]`. Prints the median wall time of
`pytest -m e2e` (stack start included) with and without the denial-leak check, serial and with
`-n 2`. Goals (read here, never asserted by a timed test): the whole run under 20 s on a 2-core
machine; the leak check under 10% of it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NO_LEAK_CHECK = ["-p", "no:tests.fixtures.leaks"]


def wall_time(extra: list[str]) -> float:
    command = [sys.executable, "-m", "pytest", "-m", "e2e", "-q", "-p", "no:cacheprovider", *extra]
    began = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stdout[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for label, extra in (("serial", []), ("-n 2", ["-n", "2"])):
        with_check = statistics.median(wall_time(extra) for _ in range(args.runs))
        without = statistics.median(wall_time(extra + NO_LEAK_CHECK) for _ in range(args.runs))
        cost = (with_check - without) / without * 100
        print(
            f"pytest -m e2e {label}: {with_check:.2f} s with the leak check, {without:.2f} s "
            f"without ({cost:+.1f}%), median of {args.runs} (goal: < 20 s, check < 10%)"
        )


if __name__ == "__main__":
    main()
