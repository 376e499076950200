"""What the fuzz tests share: Hypothesis profiles, sending a hostile request, judging its reply.

The CI profile is deterministic (`derandomize`, no example database) and small, so the fuzz
tests add seconds, not minutes, to a `pytest -n auto` run; `HYPOTHESIS_PROFILE=long` draws many
more examples at random for a local deep run. Hypothesis's own deadline is off: every request
has an HTTP timeout instead, and a server that does not answer within it is a hang (a failure).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx
from hypothesis import HealthCheck, settings

from maas_fidelity.hostile import HostileCase

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile("long", settings.get_profile("ci"), derandomize=False, max_examples=1500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ANSWER_WITHIN_S = 10.0
"""A loopback server that has not answered a single request by then hangs."""

Check = Callable[[httpx.Response], None]
Expected = Mapping[int, Check]
"""The statuses an endpoint may answer, each with a check of its body."""


def send(
    client: httpx.Client,
    method: str,
    path: str,
    body: bytes = b"",
    headers: Iterable[tuple[str, bytes]] = (),
) -> httpx.Response:
    """The request exactly as given (raw path and query, raw header bytes), answered in time."""
    url = client.base_url.copy_with(raw_path=path.encode("ascii"))
    raw = [(name.encode("ascii"), value) for name, value in headers]
    try:
        return client.request(method, url, headers=raw, content=body, timeout=ANSWER_WITHIN_S)
    except httpx.TimeoutException:
        raise AssertionError(
            f"{method} {path[:120]} with a body of {len(body)} bytes ({body[:80]!r}...): "
            f"no answer within {ANSWER_WITHIN_S} s (a hang)"
        ) from None


def send_case(
    client: httpx.Client, case: HostileCase, credential: bytes | None, prefix: str = ""
) -> httpx.Response:
    """`case` with `credential` (an `Authorization` value) added when the case asks for one."""
    headers = list(case.headers)
    if case.credential and credential is not None:
        headers.append(("authorization", credential))
    return send(client, case.method, prefix + case.path, case.body, headers)


def by_endpoint(cases: Iterable[HostileCase]) -> list[tuple[str, list[HostileCase]]]:
    """The corpus grouped by method and path (a path with under 5 cases joins "other requests"),
    so the fixed corpus runs as a few test items instead of thousands."""
    groups: dict[str, list[HostileCase]] = {}
    for case in cases:
        groups.setdefault(f"{case.method} {case.path.split('?', 1)[0]}", []).append(case)
    named = [(name, group) for name, group in groups.items() if len(group) >= 5]
    others = [case for group in groups.values() if len(group) < 5 for case in group]
    return named + ([("other requests", others)] if others else [])


def replay(cases: list[HostileCase], play: Callable[[HostileCase], None]) -> None:
    """Play every case; fail once, naming each case that failed and why."""
    failures = []
    for case in cases:
        try:
            play(case)
        except (AssertionError, httpx.HTTPError) as exc:
            failures.append(f"[{case.name}] {type(exc).__name__}: {exc}")
    failed = f"{len(failures)} of {len(cases)} hostile cases failed"
    assert not failures, failed + ":\n" + "\n".join(failures)


def judge(response: httpx.Response, expected: Expected, what: str) -> None:
    """The status is one `expected` allows, and the body is what the contract says for it."""
    status = response.status_code
    check = expected.get(status)
    if check is None:
        kind = "a server error" if status >= 500 else "a status the contract does not allow"
        raise AssertionError(
            f"{what}: {status} is {kind} (allowed: {sorted(expected)}); "
            f"body {response.content[:300]!r}"
        )
    try:
        check(response)
    except AssertionError as exc:
        raise AssertionError(f"{what}: {status} with the wrong body: {exc}") from None


def described(method: str, path: str, body: bytes, headers: Iterable[tuple[str, bytes]]) -> str:
    """A request in a failure message: short enough to read, precise enough to replay."""
    shown = body if len(body) <= 200 else body[:200] + b"...(%d bytes)" % len(body)
    return f"{method} {path[:200]} headers={list(headers)!r:.300} body={shown!r}"


# --------------------------------------------------------------------------- body checks


def json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"expected a JSON body, got {response.content[:200]!r}") from None
    assert isinstance(body, dict), f"expected a JSON object, got {body!r:.200}"
    return body


def any_body(_: httpx.Response) -> None:
    """For replies whose body the contract does not fix (a router's 404, a redirect)."""


def empty(response: httpx.Response) -> None:
    assert response.content == b"", f"expected no body, got {response.content[:200]!r}"


def text(expected: str) -> Check:
    def check(response: httpx.Response) -> None:
        assert response.text == expected, f"expected {expected!r}, got {response.text[:200]!r}"

    return check


def json_exactly(expected: dict[str, Any]) -> Check:
    """Exactly this JSON object, as a documented error reply is."""

    def check(response: httpx.Response) -> None:
        body = json_object(response)
        assert body == expected, f"expected {expected}, got {body!r:.300}"

    return check


def json_keys(required: set[str], optional: set[str] = frozenset()) -> Check:
    """A JSON object with exactly `required` keys, and maybe some of `optional`."""

    def check(response: httpx.Response) -> None:
        keys = set(json_object(response))
        wanted = f"{sorted(required)} (optional {sorted(optional)})"
        assert required <= keys <= required | optional, f"expected {wanted}, got {sorted(keys)}"

    return check


def json_error(key: str = "error", **fixed: str) -> Check:
    """`{"<key>": "<message>", ...}`: a string message, and the `fixed` values as given."""

    def check(response: httpx.Response) -> None:
        body = json_object(response)
        assert isinstance(body.get(key), str), f"expected a string {key!r}, got {body!r:.300}"
        for name, value in fixed.items():
            assert body.get(name) == value, f"expected {name}={value!r}, got {body!r:.300}"

    return check
