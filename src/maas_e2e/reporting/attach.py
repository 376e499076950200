"""Put what proves a verdict into the Allure report: exchanges, token claims, limit runs.

Each helper attaches to whatever Allure step or test is running, and does nothing when the run
has no `--alluredir` (Allure then has no listener to hand the attachment to).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import allure
from allure_commons.types import AttachmentType

from maas_e2e.burst import Burst
from maas_e2e.claims import decode_header_and_claims
from maas_e2e.expected import Limit
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


def attach_burst(
    run: Burst, limit: Limit | None, *, admitted: int | None = None, title: str = "burst"
) -> None:
    """A request-limit burst: `admitted` requests (default: the limit's amount; 0 once the
    window is spent) should get 200, the rest 429."""
    if admitted is None:
        admitted = limit.amount if limit else run.max_requests
    label = (
        f"request limit {limit}: {admitted} admitted, then 429"
        if limit
        else "no request limit: every request admitted"
    )
    attach_timeline(tl.from_burst(run, admitted=admitted, title=title, limit_label=label))


def attach_token_run(
    results: Sequence[tuple[int, int]],
    expected: Sequence[int],
    budget: Limit | None,
    *,
    title: str = "token run",
    label: str | None = None,
) -> None:
    """A token-limit run: (status, total_tokens) per request, the status each should get,
    and the budget the tokens used so far are compared with."""
    if label is None:
        label = f"token limit {budget}" if budget else "no token limit"
    attach_timeline(
        tl.from_token_run(
            results,
            expected,
            title=title,
            limit_label=label,
            budget=budget.amount if budget else None,
        )
    )
