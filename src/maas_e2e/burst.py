"""Drive a limit to its first denial, and explain the run when it does not behave.

Each request spends quota in a window that may be minutes long, so a burst sends strictly one
request at a time, never retries, and stops right after the first denial (or the first reply
its caller says ends it): it never spends more than it needs. The timeline (index, time, status,
request id) is what a reader needs to tell an off-by-one from a window that reset mid-run; the
assertions attach it to the report, drawn against what they expected (a check of the first
requests only when it fails: the next assertion draws the whole run).

A 429 proves the request limit only while the user's token budget was unspent and inside one
window: a burst sent for a user with a quota (`LimitedUser`) records its spend, and
`assert_all` and `assert_first_at`, on a burst that met a 429, first ask
`assert_token_budget_not_the_cause`, which raises `Inconclusive` (the check was not made) when
the 429 cannot be told apart. `assert_token_budget` judges the token budget itself.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import allure
import httpx

from maas_e2e.expected import Limit
from maas_e2e.quota import Inconclusive, Quota, tokens_used
from maas_e2e.recording import REQUEST_ID_HEADER
from maas_e2e.reporting.attach import attach_timeline
from maas_e2e.reporting.timeline import from_burst, from_token_run
from maas_e2e.usage import total_tokens


@dataclass(frozen=True)
class BurstEntry:
    """One request of a burst: its 0-based index, seconds since the burst began, status."""

    index: int
    at: float
    status: int
    request_id: str | None
    response: httpx.Response

    @property
    def tokens(self) -> int:
        """What the request spent of a token budget: a 200's usage.total_tokens, else 0."""
        return total_tokens(self.response, self.index) if self.status == 200 else 0


@dataclass(frozen=True)
class Burst:
    """The outcome of `send_burst`, in sending order."""

    entries: tuple[BurstEntry, ...]
    max_requests: int
    stop_at_status: int | None
    started_at: float = 0.0
    """`time.monotonic()` when the first request was sent."""
    title: str = "burst"
    quota: Quota | None = None
    doubt: str | None = None
    """Why a 429 of this burst may not come from the request limit (None: it can only)."""
    attached: set[tuple[int, ...]] = field(default_factory=set, compare=False, repr=False)
    """The expectations already drawn in the report: one picture each."""

    @property
    def statuses(self) -> list[int]:
        return [e.status for e in self.entries]

    @property
    def responses(self) -> list[httpx.Response]:
        return [e.response for e in self.entries]

    @property
    def tokens_used(self) -> int:
        """usage.total_tokens summed over the 200s; each must carry it to be counted."""
        return tokens_used(self)

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
            f"burst {self.title!r}: {len(self.entries)} of max {self.max_requests} requests "
            f"({stop}): {self.summary() or 'none sent'}",
            f"{'#':>4}  {'t+s':>8}  status  {REQUEST_ID_HEADER}",
        ]
        rows += [
            f"{e.index:>4}  {e.at:>8.3f}  {e.status:>6}  {e.request_id or '-'}"
            for e in self.entries
        ]
        return "\n".join(rows)

    def assert_token_budget_not_the_cause(self) -> None:
        """Its 429s can only come from the request limit: the user's token budget was unspent
        and the bursts so far fit in one window. Raises Inconclusive otherwise."""
        if self.doubt is not None:
            raise Inconclusive(self.doubt)

    def assert_all(self, status: int = 200, upto: int | None = None) -> None:
        """Requests 0..upto-1 (all, when None) were sent and all got `status`. A check of the
        first requests only draws its picture when it fails: the rest of the run is what the
        next assertion draws."""
        count = len(self.entries) if upto is None else upto

        def draw() -> None:
            self._attach([status] * count, f"{status} for requests #0..#{count - 1}")

        if count >= len(self.entries):
            draw()
        self._judgeable()
        sent = self.entries[:count]
        wrong = [e for e in sent if e.status != status]
        if len(sent) < count or wrong:
            draw()
            found = ", ".join(f"#{e.index} -> {e.status}" for e in wrong) or "none differ"
            raise AssertionError(
                f"expected status {status} for requests #0..#{count - 1}; "
                f"sent {len(sent)} of them; wrong: {found}\n{self.timeline()}"
            )

    def assert_first_at(self, index: int, status: int = 429) -> None:
        """The first response with `status` is request #index (0-based)."""
        self._attach([200] * index + [status], f"{index} admitted, then {status}")
        self._judgeable()
        actual = self.first_index_of(status)
        if actual != index:
            raise AssertionError(
                f"expected the first {status} at request #{index}, got "
                f"{'none' if actual is None else f'#{actual}'}\n{self.timeline()}"
            )

    def assert_token_budget(self, budget: Limit) -> None:
        """Limitador's token rule: a request is admitted while the tokens the user's earlier
        replies used are below the budget, so the crossing request succeeds and the next is
        429; the run must end on that 429."""
        expected, used = [], 0
        for entry in self.entries:
            expected.append(200 if used < budget.amount else 429)
            used += entry.tokens
        tokens = [e.tokens for e in self.entries]
        attach_timeline(
            from_token_run(
                list(zip(self.statuses, tokens, strict=True)),
                expected,
                title=self.title,
                limit_label=f"token limit {budget}",
                budget=budget.amount,
            )
        )
        assert self.statuses == expected, (
            f"budget {budget}: expected {expected}, got {self.statuses} "
            f"(tokens per response: {tokens})\n{self.timeline()}"
        )
        assert self.statuses[-1:] == [429], (
            f"budget {budget}: no 429 after {len(self.entries)} requests using {used} tokens"
        )

    def _judgeable(self) -> None:
        if 429 in self.statuses:
            self.assert_token_budget_not_the_cause()

    def _attach(self, expected: list[int], says: str) -> None:
        if tuple(expected) in self.attached:
            return
        self.attached.add(tuple(expected))
        label = f"request limit {self.quota.limit}: {says}" if self.quota else says
        attach_timeline(from_burst(self, expected=expected, title=self.title, limit_label=label))


def _request_id(response: httpx.Response) -> str | None:
    try:
        return response.request.headers.get(REQUEST_ID_HEADER)
    except RuntimeError:  # a Response built without a request
        return None


def send_burst(
    send: Callable[[], httpx.Response],
    max_requests: int,
    stop_at_status: int | None = 429,
    *,
    title: str = "burst",
    quota: Quota | None = None,
    stop_if: Callable[[httpx.Response], bool] | None = None,
) -> Burst:
    """Call `send` sequentially until it returns `stop_at_status`, a reply `stop_if` says ends
    the run, or `max_requests` were sent;
    with a `quota`, the burst's spend is recorded in it.

    Exceptions from `send` propagate: a failed request is never retried, since a retry
    would spend quota the test did not account for.
    """
    if max_requests < 1:
        raise ValueError(f"max_requests must be at least 1, got {max_requests}")
    stop = f"stopping at the first {stop_at_status}" if stop_at_status else "without stopping"
    started, started_at = time.perf_counter(), time.monotonic()
    entries: list[BurstEntry] = []
    with allure.step(f"{title}: up to {max_requests} requests, one at a time, {stop}"):
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
            if response.status_code == stop_at_status or (stop_if and stop_if(response)):
                break
    run = Burst(tuple(entries), max_requests, stop_at_status, started_at, title, quota)
    if quota is None:
        return run
    try:
        quota.record(run)
    except Inconclusive as exc:
        return dataclasses.replace(run, doubt=str(exc))
    return run
