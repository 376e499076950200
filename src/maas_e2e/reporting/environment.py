"""The run's context and failure categories, as the Allure results directory carries them.

A report read days later must say what was tested (target, gateway, which manifests and their
hash, the tier limits the verdicts were judged against, a fault the stack was started with) and
with what (versions). Categories sort failures by whose problem they are: the product's (an
assertion on the system's behaviour failed), the environment's (the target could not be
reached or prepared) or the suite's own (an error that is not an assertion).
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
from collections.abc import Iterable, Mapping
from typing import Final

from maas_e2e.expected import Expected

GATEWAY_URL_KEY: Final = "gateway.url"
URL_SEPARATOR: Final = ", "
DISTRIBUTIONS: Final = ("maas-e2e", "pytest", "httpx", "allure-pytest")

_ANY: Final = r"[\s\S]*"
# Java's `matches` (Allure 2) wants the whole text, JavaScript's `test` (Allure 3) finds a part:
# a pattern wrapped in [\s\S]* means the same to both, newlines included.
ENVIRONMENT_PATTERN: Final = (
    _ANY
    + r"(MaaS target unavailable|[Pp]reflight|"
    + r"httpx\.(ConnectError|ConnectTimeout|ReadTimeout|WriteTimeout|PoolTimeout|"
    + r"ReadError|WriteError|NetworkError|RemoteProtocolError)|Connection refused)"
    + _ANY
)

CATEGORIES: Final = (
    {
        "name": "Environment problems",
        "description": (
            "The target could not be started, reached or prepared (preflight, deploy, "
            "connection errors): nothing was learnt about the product."
        ),
        "matchedStatuses": ["failed", "broken"],
        "messageRegex": ENVIRONMENT_PATTERN,
    },
    {
        "name": "Product defects",
        "description": "An assertion on the system's behaviour failed: MaaS broke a promise.",
        "matchedStatuses": ["failed"],
    },
    {
        "name": "Suite bugs",
        "description": (
            "An error that is not an assertion (in a fixture or a test): the suite itself "
            "needs fixing before its verdict means anything."
        ),
        "matchedStatuses": ["broken"],
    },
)
"""In Allure's categories.json form; the first category that matches a result wins."""


def categories_json() -> str:
    return json.dumps(list(CATEGORIES), indent=2) + "\n"


def versions() -> dict[str, str]:
    """Installed versions of the suite and the libraries its verdicts depend on."""
    found = {"version.python": platform.python_version()}
    for name in DISTRIBUTIONS:
        try:
            found[f"version.{name}"] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[f"version.{name}"] = "not installed"
    return found


def run_entries(
    *,
    target: str,
    manifests: str,
    expected: Expected | None,
    faults: Iterable[str] = (),
    gateway_url: str | None = None,
) -> dict[str, str]:
    """What the controller knows before any test runs; gateway URLs a target only learns
    when it starts are added later with `with_gateway_url`."""
    entries = {"target": target, "manifests": manifests}
    if gateway_url:
        entries[GATEWAY_URL_KEY] = gateway_url
    faults = list(faults)
    if faults:
        entries["local.faults"] = ",".join(faults)
    if expected is not None:
        entries["manifests.sha256"] = expected.content_hash
        for tier in expected.tiers:
            for kind, limit in (
                ("requests", expected.request_limit(tier.name)),
                ("tokens", expected.token_limit(tier.name)),
            ):
                entries[f"tier.{tier.name}.{kind}"] = str(limit) if limit else "unlimited"
    return {**entries, **versions()}


def _escape(text: str, *, key: bool) -> str:
    """Java properties escaping (ISO-8859-1 safe), which Allure 2 and 3 both read."""
    out = []
    for index, char in enumerate(text):
        if char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif (key and char in " =:#!") or (char == " " and index == 0):
            out.append("\\" + char)
        elif ord(char) > 0x7E or ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def properties(entries: Mapping[str, str]) -> str:
    """`environment.properties` text, one `key=value` line per entry, in the given order."""
    return "".join(f"{_escape(k, key=True)}={_escape(v, key=False)}\n" for k, v in entries.items())


def with_gateway_url(text: str, url: str) -> str:
    """`environment.properties` text with `url` among the gateway URLs (one per xdist worker
    for the embedded stack, each on its own port)."""
    prefix = f"{_escape(GATEWAY_URL_KEY, key=True)}="
    value = _escape(url, key=False)
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(prefix):
            urls = set(line.removeprefix(prefix).split(URL_SEPARATOR)) | {value}
            lines[index] = prefix + URL_SEPARATOR.join(sorted(u for u in urls if u))
            return "\n".join(lines) + "\n"
    return "\n".join([*lines, prefix + value]) + "\n"
