"""The fault-detection matrix: does the e2e suite turn red for every defect it claims to catch?

Runs `pytest -m e2e` once against the healthy embedded stack and once per fault of the
`maas-local faults` catalogue (in parallel), reads each run's JUnit XML, and prints a table:
fault, verdict, whether a test of the fault's own area failed, and the failing tests. It exits
non-zero when the healthy run is not green or a fault is missed by its area.

The catalogue is read from the `maas-local` process, never imported: the oracle judges the stack
from outside. Which area must catch a fault is the suite's own claim, kept in `FAULT_AREAS`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

HEALTHY = "(healthy)"
RUN_TIMEOUT_S = 900

FAULT_AREAS: dict[str, str] = {
    "rate-limit-off": "rate_limits",
    "rate-limit-off-by-one": "rate_limits",
    "rate-limit-per-tier": "rate_limits",
    "rbac-denials-count": "rate_limits",
    "rate-window-never-resets": "rate_limits",
    "token-limit-off": "token_limits",
    "token-limit-prompt-only": "token_limits",
    "token-wrong-audience": "claims",
    "token-expiration-ignored": "claims",
    "token-wrong-tier-namespace": "claims",
    "token-unpublished-key": "claims",
    "revocation-noop": "revocation",
    "revocation-kills-others": "revocation",
    "expiration-minimum-unchecked": "tokens",
    "expiration-days-accepted": "tokens",
    "anonymous-model-access": "rejections",
    "signature-unverified": "rejections",
    "rbac-off": "rejections",
    "models-without-url": "discovery",
    "models-not-ready": "discovery",
    "models-empty": "discovery",
    "tier-lookup-lowest": "tiers",
    "usage-missing": "inference",
    "usage-inconsistent": "inference",
    "stream-without-done": "inference",
    "denied-requests-reach-model": "rate_limits",
    "rate-limit-per-model": "rate_limits",
    "token-limit-per-tier": "token_limits",
    "models-url-wrong-host": "discovery",
    "denied-requests-reach-model-untagged": "rate_limits",
    "default-grant-short": "claims",
    "token-extra-audience": "claims",
    "expires-at-not-exp": "claims",
    "stream-only-done": "inference",
    "prompt-tokens-zero": "inference",
    "empty-content": "inference",
    "no-max-tokens-500": "inference",
    "max-completion-tokens-ignored": "inference",
    "rbac-reason-wrong": "rejections",
    "rbac-highest-tier-denied": "rejections",
    "revocation-kills-others-late": "revocation",
    "tool-calls-ignored": "inference",
}
"""The area (e2e marker) whose tests must catch each fault: the suite's claim about itself."""

SLOW_FAULTS = frozenset({"rate-window-never-resets"})
"""Faults only a slow test (one that waits out a window) can see: their runs add --maas-slow
and keep to the fault's own area, so the matrix waits minutes for one window, not for every
slow test of the suite."""


@dataclass
class Run:
    fault: str
    returncode: int = 0
    failed: list[tuple[str, str | None]] = field(default_factory=list)
    """(test id, area) of each failed or errored test."""
    passed: int = 0
    output: str = ""
    broken: bool = False
    """The run wrote no JUnit XML (a usage error, a crash): it proves nothing either way."""

    @property
    def caught(self) -> bool:
        return bool(self.failed)

    @property
    def caught_by_area(self) -> bool:
        area = FAULT_AREAS.get(self.fault)
        return any(a == area for _, a in self.failed)


def catalogue() -> list[str]:
    """Fault names, from `maas-local faults` (one a line, name first)."""
    out = subprocess.run(
        [sys.executable, "-m", "maas_local", "faults"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def run_suite(fault: str, workdir: Path, extra: list[str]) -> Run:
    """One `pytest -m e2e` against a stack with `fault` (none for the healthy run)."""
    junit = workdir / f"{fault.strip('()')}.xml"
    selection = "e2e"
    if fault in SLOW_FAULTS:
        selection = f"e2e and {FAULT_AREAS[fault]}"
        extra = [*extra, "--maas-slow"]
    command = [
        sys.executable, "-m", "pytest", "-m", selection, "-q", "-p", "no:cacheprovider",
        f"--junitxml={junit}", f"--alluredir={workdir / 'allure' / fault.strip('()')}", *extra,
    ]  # fmt: skip
    if fault != HEALTHY:
        command += ["--maas-local-fault", fault]
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )
    run = Run(fault, proc.returncode, output=proc.stdout[-4000:] + proc.stderr[-2000:])
    if junit.exists():
        run.failed, run.passed = read_junit(junit)
    else:
        run.broken = True
    return run


def read_junit(path: Path) -> tuple[list[tuple[str, str | None]], int]:
    """Failed/errored test ids with their area property, and the number of passed tests."""
    failed, passed = [], 0
    for case in ET.parse(path).getroot().iter("testcase"):
        if case.find("skipped") is not None:
            continue
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append((name, props.get("area")))
        else:
            passed += 1
    return failed, passed


def verdict(run: Run) -> str:
    if run.broken:
        return "BROKEN RUN"
    if run.fault == HEALTHY:
        return "green" if not run.failed and run.returncode == 0 else "RED"
    if not run.caught:
        return "MISSED"
    return "caught" if run.caught_by_area else "caught elsewhere"


def table(runs: list[Run]) -> str:
    rows = [
        "| fault | verdict | area | failing tests |",
        "| --- | --- | --- | --- |",
    ]
    for run in runs:
        area = FAULT_AREAS.get(run.fault, "-")
        # The tests of the fault's own area first: they are the ones that must catch it.
        by_name = {n.rsplit("::", 1)[-1].split("[")[0]: a for n, a in run.failed}
        names = sorted(by_name, key=lambda n: (by_name[n] != area, n))
        shown = ", ".join(names[:3]) + (f" (+{len(names) - 3} more)" if len(names) > 3 else "")
        count = f"{len(run.failed)}: {shown}" if run.failed else f"none ({run.passed} passed)"
        rows.append(f"| {run.fault} | {verdict(run)} | {area} | {count} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="maas-e2e-fault-matrix", description=__doc__)
    parser.add_argument("--faults", help="comma-separated subset of the catalogue (default: all)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="parallel runs")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    args, extra = parser.parse_known_args(argv)
    known = catalogue()
    unmapped = [f for f in known if f not in FAULT_AREAS]
    if unmapped:
        print(f"faults with no area in FAULT_AREAS: {', '.join(unmapped)}", file=sys.stderr)
        return 2
    chosen = args.faults.split(",") if args.faults else known
    unknown = [f for f in chosen if f not in known]
    if unknown:
        print(f"unknown faults: {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    # Slow runs first, so they overlap the many quick ones.
    order = sorted(chosen, key=lambda f: f not in SLOW_FAULTS)
    with (
        tempfile.TemporaryDirectory(prefix="fault-matrix-") as tmp,
        ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool,
    ):
        runs = list(pool.map(lambda f: run_suite(f, Path(tmp), extra), [HEALTHY, *order]))
    runs = [runs[0], *sorted(runs[1:], key=lambda r: known.index(r.fault))]
    text = table(runs)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    bad = [r for r in runs if verdict(r) not in ("green", "caught")]
    for run in bad:
        print(f"\n--- {run.fault}: {verdict(run)} ---\n{run.output}", file=sys.stderr)
    # One closing line a CI log reader understands: each run is a check that passed or failed.
    print(f"\nmatrix: {len(runs) - len(bad)} passed, {len(bad)} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
