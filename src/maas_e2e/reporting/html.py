"""Turn Allure results into the HTML report people review, with Allure 3, offline.

Run: `tox -e report`, or `python src/maas_e2e/reporting/html.py [RESULTS] [-o REPORT]` (defaults
`reports/allure-results` and `reports/allure-report`; standard library only, so it needs no
install). It runs the `allure` npm package pinned in package.json (`npm ci` once) through
`npx --no-install`, so it never downloads anything, and writes one self-contained `index.html`
that opens from disk without a server. The failure
categories Allure 3 shows come from the results' own `categories.json`, the file the suite
writes, so the two report generations (Allure 2 tools read that file directly) agree.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
"""Where package.json and node_modules are."""
DEFAULT_RESULTS = ROOT / "reports" / "allure-results"
DEFAULT_REPORT = ROOT / "reports" / "allure-report"
REPORT_NAME = "MaaS e2e"
GENERATE_TIMEOUT_S = 300


class ReportError(RuntimeError):
    """The report could not be generated; the message says why and what to do."""


def allure_config(results: Path, name: str = REPORT_NAME) -> dict[str, Any]:
    """Allure 3 configuration: the single-file Awesome report, grouped by epic and feature,
    with the categories the results directory carries."""
    config: dict[str, Any] = {
        "name": name,
        "plugins": {
            "awesome": {
                "options": {
                    "singleFile": True,
                    "reportName": name,
                    "groupBy": ["epic", "feature"],
                }
            }
        },
    }
    categories = results / "categories.json"
    if categories.is_file():
        config["categories"] = json.loads(categories.read_text())
    return config


def generate(
    results: Path = DEFAULT_RESULTS, output: Path = DEFAULT_REPORT, *, name: str = REPORT_NAME
) -> Path:
    """Generate the report into `output`; returns its index.html."""
    npx = shutil.which("npx")
    if npx is None:
        raise ReportError("npx (Node.js) is not on PATH: install Node.js 20+, then `npm ci`")
    if not results.is_dir():
        raise ReportError(f"no Allure results at {results}: run `pytest -m e2e` first")
    with tempfile.TemporaryDirectory(prefix="allurerc-") as workdir:
        config = Path(workdir) / "allurerc.json"
        config.write_text(json.dumps(allure_config(results, name), indent=2))
        command = [
            npx, "--no-install", "allure", "generate", str(results.resolve()),
            "--config", str(config), "--output", str(output.resolve()),
        ]  # fmt: skip
        try:
            proc = subprocess.run(
                command,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=GENERATE_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ReportError(f"allure generate took over {GENERATE_TIMEOUT_S}s") from None
    index = output / "index.html"
    if proc.returncode != 0 or not index.is_file():
        raise ReportError(
            f"allure generate failed (exit {proc.returncode}; is the npm package installed? "
            f"run `npm ci` in {ROOT}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_REPORT)
    parser.add_argument("--name", default=REPORT_NAME)
    args = parser.parse_args(argv)
    try:
        index = generate(args.results, args.output, name=args.name)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Allure report: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
