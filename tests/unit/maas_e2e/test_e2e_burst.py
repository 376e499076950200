"""A burst stops right after the first 429, never exceeds its budget, and explains itself."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import httpx
import pytest

from maas_e2e.burst import Burst, send_burst
from maas_e2e.expected import Limit
from maas_e2e.quota import Inconclusive, Quota
from maas_e2e.recording import REQUEST_ID_HEADER, Recorder
from maas_e2e.reporting.timeline import Timeline


def _scripted(statuses: list[int]) -> tuple[Callable[[], httpx.Response], list[int]]:
    """A sender replaying `statuses`, and the list of calls it received."""
    calls: list[int] = []

    def send() -> httpx.Response:
        calls.append(len(calls))
        return httpx.Response(statuses[len(calls) - 1])

    return send, calls


def test_stops_right_after_first_429() -> None:
    send, calls = _scripted([200] * 5 + [429] + [200] * 10)
    burst = send_burst(send, max_requests=16)
    assert burst.statuses == [200] * 5 + [429]
    assert len(calls) == 6, f"expected 6 requests sent, got {len(calls)}"


def test_never_sends_more_than_max_requests() -> None:
    send, calls = _scripted([200] * 20)
    burst = send_burst(send, max_requests=7)
    assert len(calls) == 7, f"expected 7 requests sent, got {len(calls)}"
    assert burst.statuses == [200] * 7


@pytest.mark.parametrize(
    ("statuses", "index"), [([200, 200, 429], 2), ([429], 0), ([200, 200], None)]
)
def test_first_index_of(statuses: list[int], index: int | None) -> None:
    send, _ = _scripted(statuses)
    assert send_burst(send, max_requests=len(statuses)).first_index_of(429) == index


def test_assert_all_passes_when_prefix_matches() -> None:
    send, _ = _scripted([200, 200, 200, 429])
    send_burst(send, max_requests=4).assert_all(status=200, upto=3)


@pytest.mark.parametrize(
    ("statuses", "upto", "fragment"),
    [([200, 429], 2, "#1 -> 429"), ([200, 429], 5, "sent 2 of them"), ([500], None, "#0 -> 500")],
)
def test_assert_all_failure_shows_timeline(
    statuses: list[int], upto: int | None, fragment: str
) -> None:
    send, _ = _scripted(statuses)
    burst = send_burst(send, max_requests=len(statuses))
    with pytest.raises(AssertionError) as raised:
        burst.assert_all(status=200, upto=upto)
    message = str(raised.value)
    assert fragment in message, message
    assert burst.timeline() in message, message


def test_assert_first_at_failure_shows_timeline() -> None:
    send, _ = _scripted([200, 200, 429])
    burst = send_burst(send, max_requests=3)
    burst.assert_first_at(2)
    with pytest.raises(AssertionError, match=r"expected the first 429 at request #5, got #2"):
        burst.assert_first_at(5)


def test_timeline_lists_each_request_and_summary() -> None:
    send, _ = _scripted([200, 200, 429])
    timeline = send_burst(send, max_requests=10).timeline()
    lines = timeline.splitlines()
    assert "3 of max 10 requests" in lines[0], timeline
    assert "200x2, 429x1" in lines[0], timeline
    assert [line.split()[0] for line in lines[2:]] == ["0", "1", "2"], timeline
    assert [line.split()[2] for line in lines[2:]] == ["200", "200", "429"], timeline


def test_exception_propagates_without_retry() -> None:
    calls: list[int] = []

    def send() -> httpx.Response:
        calls.append(1)
        raise httpx.ReadTimeout("slow")

    with pytest.raises(httpx.ReadTimeout):
        send_burst(send, max_requests=5)
    assert len(calls) == 1


def test_max_requests_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        send_burst(lambda: httpx.Response(200), max_requests=0)


def test_request_ids_come_from_the_recording_client() -> None:
    recorder = Recorder()
    statuses = iter([200, 429])
    transport = httpx.MockTransport(lambda request: httpx.Response(next(statuses)))
    with recorder.client(transport=transport) as client:
        burst = send_burst(lambda: client.get("http://maas.test/m"), max_requests=5)
    ids = [e.request_id for e in burst.entries]
    assert ids == recorder.ids_of(), (ids, recorder.ids_of())
    assert burst.entries[1].response.request.headers[REQUEST_ID_HEADER] == ids[1]


def _spending(statuses: list[int], tokens: int, quota: Quota | None = None) -> Burst:
    """A burst that got `statuses`, each 200 saying it used `tokens`."""
    replies = iter(statuses)

    def send() -> httpx.Response:
        return httpx.Response(next(replies), json={"usage": {"total_tokens": tokens}})

    return send_burst(send, len(statuses), stop_at_status=None, quota=quota)


@pytest.fixture
def attached(monkeypatch: pytest.MonkeyPatch) -> list[Timeline]:
    """The timelines the burst's assertions attach to the report."""
    timelines: list[Timeline] = []
    monkeypatch.setattr("maas_e2e.burst.attach_timeline", timelines.append)
    return timelines


def _expected(timeline: Timeline) -> list[int | None]:
    return [p.expected for p in timeline.points]


def test_assert_all_attaches_the_run_against_what_it_expected(attached: list[Timeline]) -> None:
    send, _ = _scripted([403, 403])
    send_burst(send, max_requests=2, title="denied").assert_all(403)
    assert [(t.title, _expected(t), t.limit_index) for t in attached] == [
        ("denied", [403, 403], None)
    ], attached


def test_a_passing_check_of_the_first_requests_draws_nothing(attached: list[Timeline]) -> None:
    send, _ = _scripted([200, 200, 429])
    send_burst(send, max_requests=3).assert_all(200, upto=2)
    assert attached == [], attached


def test_assert_first_at_attaches_the_run_against_what_it_expected(
    attached: list[Timeline],
) -> None:
    send, _ = _scripted([200, 429])
    send_burst(send, max_requests=5).assert_first_at(1)
    assert [(_expected(t), t.limit_index) for t in attached] == [([200, 429], 1)], attached


def test_assert_token_budget_attaches_the_tokens_against_the_budget(
    attached: list[Timeline],
) -> None:
    _spending([200, 200, 429], tokens=6).assert_token_budget(Limit(10, "1m"))
    seen = [(t.budget, [p.tokens for p in t.points], _expected(t)) for t in attached]
    assert seen == [(10, [6, 6, 0], [200, 200, 429])], seen
    assert attached[0].limit_label == "token limit 10 per 1m", attached[0].limit_label


def test_a_run_is_drawn_once_per_expectation(attached: list[Timeline]) -> None:
    send, _ = _scripted([200, 200, 429])
    burst = send_burst(send, max_requests=3)
    burst.assert_first_at(2)
    burst.assert_first_at(2)
    with pytest.raises(AssertionError):
        burst.assert_all(200)
    assert [_expected(t) for t in attached] == [[200, 200, 429], [200, 200, 200]], attached


@pytest.mark.parametrize(
    "judge",
    [
        lambda b: b.assert_all(200),
        lambda b: b.assert_first_at(0),
        lambda b: b.assert_token_budget(Limit(100, "1m")),
    ],
    ids=["assert_all", "assert_first_at", "assert_token_budget"],
)
def test_a_failing_assertion_still_attaches_its_timeline(
    attached: list[Timeline], judge: Callable[[Burst], None]
) -> None:
    burst = _spending([200, 429], tokens=1)
    with pytest.raises(AssertionError):
        judge(burst)
    assert len(attached) == 1, f"attached: {attached}"


def test_a_quota_names_the_request_limit_in_the_timeline(attached: list[Timeline]) -> None:
    quota = Quota("free", Limit(3, "2m"), None)
    _spending([200, 200, 200, 429], tokens=1, quota=quota).assert_first_at(3)
    labels = [t.limit_label for t in attached]
    assert labels == ["request limit 3 per 2m: 3 admitted, then 429"], labels


@pytest.mark.parametrize(
    "judge",
    [lambda b: b.assert_all(200), lambda b: b.assert_first_at(5)],
    ids=["assert_all", "assert_first_at"],
)
def test_a_doubted_429_is_inconclusive_before_any_verdict(judge: Callable[[Burst], None]) -> None:
    send, _ = _scripted([200, 429])
    burst = dataclasses.replace(send_burst(send, max_requests=2), doubt="a window reset")
    with pytest.raises(Inconclusive, match="a window reset"):
        judge(burst)


def test_a_doubt_without_a_429_leaves_the_verdict_to_the_assertion() -> None:
    send, _ = _scripted([200, 200])
    burst = dataclasses.replace(send_burst(send, max_requests=2), doubt="a window reset")
    burst.assert_all(200)
    with pytest.raises(AssertionError, match="expected the first 429 at request #2, got none"):
        burst.assert_first_at(2)


@pytest.mark.parametrize(
    ("statuses", "tokens", "budget"),
    [([200, 200, 429], 5, 10), ([200, 200, 429], 6, 10), ([429], 0, 0)],
    ids=["reaching-the-budget", "crossing-the-budget", "budget-of-zero"],
)
def test_assert_token_budget_admits_while_earlier_replies_used_less_than_the_budget(
    statuses: list[int], tokens: int, budget: int
) -> None:
    _spending(statuses, tokens).assert_token_budget(Limit(budget, "1m"))


@pytest.mark.parametrize(
    ("statuses", "fragment"),
    [
        ([200, 429], "expected [200, 200], got [200, 429]"),
        ([200, 200, 200, 200], "expected [200, 200, 200, 429], got [200, 200, 200, 200]"),
        ([200, 200], "no 429 after 2 requests using 8 tokens"),
    ],
    ids=["429-too-early", "200-past-the-budget", "no-429-at-the-end"],
)
def test_assert_token_budget_refuses_a_run_against_limitadors_rule(
    statuses: list[int], fragment: str
) -> None:
    with pytest.raises(AssertionError) as raised:
        _spending(statuses, tokens=4).assert_token_budget(Limit(10, "1m"))
    assert fragment in str(raised.value), str(raised.value)


def test_stop_if_ends_the_run_at_the_reply_it_names() -> None:
    send, calls = _scripted([200, 200, 500, 200])
    burst = send_burst(send, max_requests=4, stop_if=lambda r: r.status_code != 200)
    assert (burst.statuses, len(calls)) == ([200, 200, 500], 3)
