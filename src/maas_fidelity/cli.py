"""`maas-fidelity`: play the corpus against the embedded stack and the real components, judge
the differences against the reviewed list, and write or check the report.

Exit status: 0 when every difference is listed (or fixed), 1 when one is NEW, 2 when the
options are wrong, the reviewed list is unreadable, or a side cannot start.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from maas_fidelity import known, report
from maas_fidelity.components import MAAS_API_PIN, SIMULATOR_PIN
from maas_fidelity.processes import SideUnavailable
from maas_fidelity.run import COMPONENTS, Options, run

DEFAULT_MAAS_API_COMMIT = MAAS_API_PIN
DEFAULT_SIMULATOR_VERSION = SIMULATOR_PIN


def checkout_root() -> Path:
    """The working directory when it is a checkout, else the checkout this package lives in."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (root / "manifests" / "e2e").is_dir():
            return root
    return Path.cwd()


def build_parser() -> argparse.ArgumentParser:
    root = checkout_root()
    parser = argparse.ArgumentParser(
        prog="maas-fidelity",
        description="Compare the embedded stack's components with the real ones over HTTP.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", type=Path, metavar="PATH", help="write the report here")
    mode.add_argument(
        "--check",
        action="store_true",
        help="compare and judge only (CI): exit 1 on a NEW difference, write nothing",
    )
    parser.add_argument(
        "--known",
        type=Path,
        default=root / "docs" / "fidelity-known.toml",
        help="the reviewed list of accepted differences (default: docs/fidelity-known.toml)",
    )
    parser.add_argument(
        "--component",
        action="append",
        choices=COMPONENTS,
        help="compare only this component (repeatable; default: all)",
    )
    parser.add_argument(
        "--manifests",
        type=Path,
        default=root / "manifests" / "e2e",
        help="the kustomize overlay both stacks serve (default: manifests/e2e)",
    )
    parser.add_argument("--maas-api-binary", type=Path, help="a build of upstream maas-api")
    parser.add_argument(
        "--maas-api-commit",
        default=DEFAULT_MAAS_API_COMMIT,
        help=f"the commit that binary was built from (default {DEFAULT_MAAS_API_COMMIT})",
    )
    parser.add_argument("--simulator-binary", type=Path, help="a build of llm-d-inference-sim")
    parser.add_argument(
        "--simulator-version",
        default=DEFAULT_SIMULATOR_VERSION,
        help=f"the version that binary was built from (default {DEFAULT_SIMULATOR_VERSION})",
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=300,
        help="requests per distribution the simulator's randomness is compared on (default 300)",
    )
    parser.add_argument(
        "--keep-workdir",
        action="store_true",
        help="keep the logs and kubeconfigs of the run (printed at the end)",
    )
    return parser


def _problem(args: argparse.Namespace) -> str:
    """What is wrong with the options, or ""."""
    for flag, path in (
        ("--maas-api-binary", args.maas_api_binary),
        ("--simulator-binary", args.simulator_binary),
    ):
        if path is not None and not (path.is_file() and os.access(path, os.X_OK)):
            return f"{flag} {path}: not an executable file"
    if not args.manifests.exists():
        return f"--manifests {args.manifests}: no such file or directory"
    if args.samples < 30:
        return f"--samples {args.samples}: at least 30 are needed to compare distributions"
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    problem = _problem(args)
    if problem:
        return _fail(problem)
    try:
        accepted = known.load(args.known)
    except known.KnownListError as exc:
        return _fail(str(exc))
    workdir = Path(tempfile.mkdtemp(prefix="maas-fidelity-"))
    options = Options(
        components=tuple(args.component or COMPONENTS),
        manifests=args.manifests,
        workdir=workdir,
        maas_api_binary=args.maas_api_binary,
        maas_api_commit=args.maas_api_commit,
        simulator_binary=args.simulator_binary,
        simulator_version=args.simulator_version,
        samples=args.samples,
    )
    try:
        outcomes = run(options)
    except SideUnavailable as exc:
        args.keep_workdir = True
        return _fail(f"a side cannot start: {exc}")
    finally:
        if args.keep_workdir:
            print(f"maas-fidelity: logs and kubeconfigs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    verdicts = [report.verdict(outcome, accepted) for outcome in outcomes]
    print(report.console(verdicts))
    if args.write:
        args.write.write_text(report.markdown(verdicts), encoding="utf-8")
        print(f"wrote {args.write}")
    new = sum(v.count("NEW") for v in verdicts)
    if new:
        print(
            f"maas-fidelity: {new} NEW difference(s): fix them, or list them with their "
            f"reason in {args.known}",
            file=sys.stderr,
        )
    return 1 if new else 0


def _fail(message: str) -> int:
    print(f"maas-fidelity: {message}", file=sys.stderr)
    return 2
