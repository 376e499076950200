"""The HTML report of a real run renders in a browser and proves a broken limit at a glance.

A small e2e run against the embedded stack started with a rate-limit fault, its results turned
into the report by the documented command's own code, and the page opened from disk in headless
Chromium: the summary counts the run as the JUnit XML does (total, passed, failed, skipped) and
shows no retries, and the failing rate-limit test's status-timeline picture is listed, opens,
and loads as an image. The run holds parametrised cases whose values Allure would display alike
(bytes bodies) or as Python values (bools, numbers, lists, dicts), and a skipped test: Allure 3
merges cases it cannot tell apart into one test with retries, which the counts would show.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from html import unescape
from pathlib import Path

import pytest

from maas_e2e.reporting.html import generate

ROOT = Path(__file__).resolve().parents[3]
RUN_TIMEOUT_S = 180
BROWSER_TIMEOUT_S = 120
BROWSE_ATTEMPTS = 3
FAULT = "rate-limit-off-by-one"
FAILING_TEST = "test_each_tier_gets_429_exactly_after_its_limit"
PICTURE_SUFFIX = ": status timeline"
SUMMARY_LABELS = {
    "total": "Total",
    "retried": "Retried tests",
    "passed": "Passed",
    "failed": "Failed",
    "broken": "Broken",
    "skipped": "Skipped",
}
"""What the summary page calls each count it shows; a count of none is not shown."""
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.skipif(
        shutil.which("node") is None or shutil.which("npx") is None,
        reason="Node.js (node, npx) is not installed: Allure 3 cannot generate the report",
    ),
    pytest.mark.skipif(
        CHROMIUM is None, reason="Chromium is not installed: no browser to open the report in"
    ),
]

OPEN_PICTURE = """<script>
/* Test probe: open the attachment named __PICTURE__, then record whether its image loaded. */
(function () {
  var tries = 0;
  var timer = setInterval(function () {
    tries += 1;
    document.querySelectorAll('[data-testid="test-result-attachment-header"]').forEach(
      function (header) {
        if (header.textContent.indexOf(__PICTURE__) >= 0 && !header.dataset.probed) {
          header.dataset.probed = "1";
          header.querySelector("button").click();
        }
      });
    var image = document.querySelector('img[alt$="-attachment.svg"]');
    if ((image && image.complete && image.naturalWidth > 0) || tries > 200) {
      clearInterval(timer);
      var probe = document.createElement("div");
      probe.id = "probe";
      probe.dataset.width = image ? String(image.naturalWidth) : "0";
      document.body.appendChild(probe);
    }
  }, 50);
})();
</script>"""


def _e2e_run(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    """A few real e2e tests on a stack with FAULT: the Allure results and the JUnit counts.

    Failing limit tests, one plain test, the parametrised malformed bodies (bytes) and invalid
    expirations (strings, numbers, a bool, a list, a dict), and a slow test that skips."""
    results, junit = tmp_path / "allure-results", tmp_path / "junit.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAAS_", "PYTEST_"))}
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "-m", "e2e and (rate_limits or claims or tokens or rejections)",
        "-k", "exactly_after_its_limit or signature_verifies or malformed_body"
        " or invalid_expiration or expired_token_is_refused",
        "--maas-local-fault", FAULT,
        f"--alluredir={results}", f"--junitxml={junit}",
    ]  # fmt: skip
    proc = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    assert proc.returncode == pytest.ExitCode.TESTS_FAILED, (
        f"the run with {FAULT}: expected exit 1 (tests failed), got {proc.returncode}:\n"
        f"{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
    )
    return results, _junit_counts(junit)


def _junit_counts(junit: Path) -> dict[str, int]:
    """pytest's verdicts as the JUnit XML counts them (an error, Allure's broken, is a failure);
    pytest runs each case once, so none is a retry."""
    suites = list(ET.parse(junit).getroot().iter("testsuite"))
    total, failures, errors, skipped = (
        sum(int(suite.get(key, 0)) for suite in suites)
        for key in ("tests", "failures", "errors", "skipped")
    )
    return {
        "total": total,
        "passed": total - failures - errors - skipped,
        "failed": failures + errors,
        "skipped": skipped,
        "retried": 0,
    }


def _report_counts(summary: str) -> dict[str, int]:
    """The counts the summary page shows, in the terms of `_junit_counts`."""
    shown: dict[str, int] = {}
    for key, label in SUMMARY_LABELS.items():
        found = re.search(rf"\b{label} (\d+)\b", summary)
        shown[key] = int(found.group(1)) if found else 0
    return {
        "total": shown["total"],
        "passed": shown["passed"],
        "failed": shown["failed"] + shown["broken"],
        "skipped": shown["skipped"],
        "retried": shown["retried"],
    }


def _browse(url: str, profile: Path, *, screenshot: Path | None = None) -> str:
    """The DOM after the page's scripts ran, in headless Chromium. On a loaded machine the
    report's own fetch of its data files can fail inside the browser ("Failed to fetch"): that
    page is read again, a bounded number of times, before the checks judge it."""
    dom = ""
    for _ in range(BROWSE_ATTEMPTS):
        dom = _browse_once(url, profile, screenshot=screenshot)
        if screenshot is not None or "Failed to fetch" not in _text(dom):
            break
    return dom


def _browse_once(url: str, profile: Path, *, screenshot: Path | None = None) -> str:
    assert CHROMIUM is not None
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=20000",
        "--hide-scrollbars", "--window-size=1400,1400",
    ]  # fmt: skip
    command += [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
    proc = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S, check=False
    )
    assert proc.returncode == 0, f"chromium exited {proc.returncode}: {proc.stderr[-2000:]}"
    return proc.stdout


def _failing_picture(results: Path) -> tuple[str, str]:
    """A failed FAILING_TEST case of the run and the name of its status-timeline picture."""
    for path in sorted(results.glob("*-result.json")):
        result = json.loads(path.read_text())
        if result["name"].startswith(FAILING_TEST) and result["status"] == "failed":
            names = [a["name"] for a in _attachments(result)]
            picture = next((n for n in names if n.endswith(PICTURE_SUFFIX)), None)
            assert picture, f"{result['name']} has no status timeline: {names}"
            return result["name"], picture
    raise AssertionError(f"no failed {FAILING_TEST} in the results of the run with {FAULT}")


def _attachments(node: dict) -> list[dict]:
    """Attachments of a result or step and of all its steps."""
    found = list(node.get("attachments", []))
    for step in node.get("steps", []):
        found += _attachments(step)
    return found


def _text(dom: str) -> str:
    without_code = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", without_code)))


def test_the_report_counts_the_run_as_pytest_does_and_opens_the_failing_limit_runs_picture(
    tmp_path: Path,
) -> None:
    results, counts = _e2e_run(tmp_path)
    name, picture = _failing_picture(results)
    index = generate(results, tmp_path / "report")
    by_id = json.loads((index.parent / "test-results.json").read_text())["byId"]
    failing = next((i for i, t in by_id.items() if t["name"] == name), None)
    assert failing is not None, f"{name} is not in the report: {sorted(by_id)}"

    summary = _text(_browse(index.as_uri(), tmp_path / "profile-summary"))
    assert re.search(r"\bTotal \d+\b", summary), f"the summary shows no total: {summary[:1500]}"
    shown = _report_counts(summary)
    assert shown == counts, (
        f"the summary page counts {shown}, the JUnit XML {counts} (a retry means Allure took "
        f"cases for one test): {summary[:1500]}"
    )

    head, body_end, tail = index.read_text().rpartition("</body>")
    assert body_end, f"{index} has no </body>"
    probe = index.with_name("probe.html")
    probe.write_text(
        head + OPEN_PICTURE.replace("__PICTURE__", json.dumps(picture)) + body_end + tail
    )
    url = f"{probe.as_uri()}#{failing}/attachments"
    dom = _browse(url, tmp_path / "profile-test")
    assert picture in _text(dom), f"{name} lists no {picture!r}: {_text(dom)[:1500]}"
    width = re.search(r'id="probe" data-width="(\d+)"', dom)
    assert width is not None, "the probe did not finish: the attachment never opened"
    assert int(width.group(1)) > 0, "the status timeline picture did not load as an image"
    shot = tmp_path / "failing-rate-limit-test.png"
    _browse(url, tmp_path / "profile-shot", screenshot=shot)
    assert shot.stat().st_size > 0, f"no screenshot at {shot}"
