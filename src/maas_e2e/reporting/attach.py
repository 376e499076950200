"""Put what proves a verdict into the Allure report: exchanges, token claims, limit runs.

The objects that make them call these: the recorder for exchanges, maas-api's client for the
tokens it mints, a burst's assertions for its timeline; tests never attach by hand.

Each helper attaches to whatever Allure step or test is running, and does nothing when the run
has no `--alluredir` (Allure then has no listener to hand the attachment to).
"""

from __future__ import annotations

import datetime
import json
from typing import Any
from urllib.parse import urlsplit

import allure
from allure_commons.types import AttachmentType

from maas_e2e.claims import decode_header_and_claims
from maas_e2e.recording import Exchange
from maas_e2e.redaction import redact_json
from maas_e2e.reporting import timeline as tl


def attach_exchange(exchange: Exchange) -> None:
    """One HTTP exchange, curl -v style, already redacted by the recorder."""
    outcome = exchange.status if exchange.status is not None else "no response"
    path = urlsplit(exchange.url).path or "/"
    allure.attach(
        exchange.render(),
        name=f"HTTP {exchange.method} {path} -> {outcome}",
        attachment_type=AttachmentType.TEXT,
    )


def _readable_times(claims: dict[str, Any]) -> dict[str, Any]:
    times: dict[str, Any] = {}
    for name in ("iat", "nbf", "exp"):
        value = claims.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            times[name] = datetime.datetime.fromtimestamp(value, datetime.UTC).isoformat()
    if isinstance(claims.get("exp"), int) and isinstance(claims.get("iat"), int):
        times["exp - iat (seconds)"] = claims["exp"] - claims["iat"]
    return times


def attach_jwt(token: str, name: str = "MaaS token: decoded header and claims") -> None:
    """The decoded header and claims of a token a test checks (never the token itself)."""
    try:
        header, claims = decode_header_and_claims(token)
    except ValueError as exc:
        content: dict[str, Any] = {"error": str(exc)}
    else:
        content = {"header": header, "claims": claims, "times (UTC)": _readable_times(claims)}
    allure.attach(
        json.dumps(redact_json(content), indent=2, sort_keys=True),
        name=name,
        attachment_type=AttachmentType.JSON,
    )


def attach_timeline(run: tl.Timeline) -> None:
    """A limit run as a picture (SVG) and as a table (CSV)."""
    allure.attach(
        tl.svg(run), name=f"{run.title}: status timeline", attachment_type=AttachmentType.SVG
    )
    allure.attach(
        tl.table(run), name=f"{run.title}: status table", attachment_type=AttachmentType.CSV
    )
