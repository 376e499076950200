"""Drive a rate limit to its first denial, and explain the run when it does not behave.

Each request spends quota in a window that may be minutes long, so a burst sends strictly one
request at a time, never retries, and stops right after the first denial: it never spends more
than it needs. The timeline (index, time, status, request id) is what a reader needs to tell an
off-by-one from a window that reset mid-run.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import allure
import httpx

from maas_e2e.recording import REQUEST_ID_HEADER


@dataclass(frozen=True)
class BurstEntry:
    """One request of a burst: its 0-based index, seconds since the burst began, status."""

    index: int
    at: float
    status: int
    request_id: str | None
    response: httpx.Response


@dataclass(frozen=True)
class Burst:
    """The outcome of `send_burst`, in sending order."""

    entries: tuple[BurstEntry, ...]
    max_requests: int
    stop_at_status: int | None
    started_at: float = 0.0
    """`time.monotonic()` when the first request was sent."""

    @property
    def statuses(self) -> list[int]:
        return [e.status for e in self.entries]

    @property
    def responses(self) -> list[httpx.Response]:
        return [e.response for e in self.entries]

    def first_index_of(self, status: int) -> int | None:
        """0-based index of the first response with this status, or None."""
        return next((e.index for e in self.entries if e.status == status), None)

    def summary(self) -> str:
        """Status counts in order of first appearance, e.g. `200x5, 429x1`."""
        return ", ".join(f"{status}x{count}" for status, count in Counter(self.statuses).items())

    def timeline(self) -> str:
        """A compact table of the run: one row per request."""
        stop = f"stop at first {self.stop_at_status}" if self.stop_at_status else "no stop status"
        rows = [
            f"burst: {len(self.entries)} of max {self.max_requests} requests ({stop}): "
            f"{self.summary() or 'none sent'}",
            f"{'#':>4}  {'t+s':>8}  status  {REQUEST_ID_HEADER}",
        ]
        rows += [
            f"{e.index:>4}  {e.at:>8.3f}  {e.status:>6}  {e.request_id or '-'}"
            for e in self.entries
        ]
        return "\n".join(rows)

    def assert_all(self, status: int = 200, upto: int | None = None) -> None:
        """Requests 0..upto-1 (all, when None) were sent and all got `status`."""
        count = len(self.entries) if upto is None else upto
        sent = self.entries[:count]
        wrong = [e for e in sent if e.status != status]
        if len(sent) < count or wrong:
            found = ", ".join(f"#{e.index} -> {e.status}" for e in wrong) or "none differ"
            raise AssertionError(
                f"expected status {status} for requests #0..#{count - 1}; "
                f"sent {len(sent)} of them; wrong: {found}\n{self.timeline()}"
            )

    def assert_first_at(self, index: int, status: int = 429) -> None:
        """The first response with `status` is request #index (0-based)."""
        actual = self.first_index_of(status)
        if actual != index:
            raise AssertionError(
                f"expected the first {status} at request #{index}, got "
                f"{'none' if actual is None else f'#{actual}'}\n{self.timeline()}"
            )


def _request_id(response: httpx.Response) -> str | None:
    try:
        return response.request.headers.get(REQUEST_ID_HEADER)
    except RuntimeError:  # a Response built without a request
        return None


def send_burst(
    send: Callable[[], httpx.Response], max_requests: int, stop_at_status: int | None = 429
) -> Burst:
    """Call `send` sequentially until it returns `stop_at_status` or `max_requests` were sent.

    Exceptions from `send` propagate: a failed request is never retried, since a retry
    would spend quota the test did not account for.
    """
    if max_requests < 1:
        raise ValueError(f"max_requests must be at least 1, got {max_requests}")
    stop = f"stopping at the first {stop_at_status}" if stop_at_status else "without stopping"
    started, started_at = time.perf_counter(), time.monotonic()
    entries: list[BurstEntry] = []
    with allure.step(f"send a burst of up to {max_requests} requests, one at a time, {stop}"):
        for index in range(max_requests):
            response = send()
            entries.append(
                BurstEntry(
                    index=index,
                    at=time.perf_counter() - started,
                    status=response.status_code,
                    request_id=_request_id(response),
                    response=response,
                )
            )
            if response.status_code == stop_at_status:
                break
    return Burst(tuple(entries), max_requests, stop_at_status, started_at)
