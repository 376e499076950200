"""A burst stops right after the first 429, never exceeds its budget, and explains itself."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from maas_e2e.burst import send_burst
from maas_e2e.recording import REQUEST_ID_HEADER, Recorder


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
