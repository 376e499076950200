"""What the report shows: labels per area, limit-run pictures and tables, the run's environment
and failure categories, scrubbed failure trees, and each exchange handed over once complete."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET

import httpx
import pytest
from allure_commons import model2

from maas_e2e.burst import send_burst
from maas_e2e.recording import Exchange, Recorder
from maas_e2e.reporting import environment
from maas_e2e.reporting import timeline as tl
from maas_e2e.reporting.labels import labels_for, story
from maas_e2e.reporting.parameters import display
from maas_e2e.reporting.scrub import scrub, scrub_allure

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNlY3JldC1ieXRlcw"
SIGNATURE = JWT.rsplit(".", 1)[1]
SVG = "{http://www.w3.org/2000/svg}"


def _burst(statuses: list[int], max_requests: int | None = None):
    replies = iter(statuses)
    return send_burst(lambda: httpx.Response(next(replies)), max_requests or len(statuses))


@pytest.mark.parametrize(
    ("markers", "epic", "feature", "severity"),
    [
        ({"e2e", "rate_limits"}, "Limits", "Request rate limits", "critical"),
        ({"e2e", "token_limits"}, "Limits", "Token rate limits", "critical"),
        ({"e2e", "tokens"}, "Identity and tokens", "Token issuance", "critical"),
        ({"e2e", "claims"}, "Identity and tokens", "JWT claims", "normal"),
        ({"e2e", "discovery"}, "Model access", "Model discovery", "normal"),
    ],
)
def test_an_e2e_test_is_labelled_by_its_area(
    markers: set[str], epic: str, feature: str, severity: str
) -> None:
    labels = dict(labels_for(markers, "test_x.py", "test_each_tier_gets_429"))
    wanted = {
        "epic": epic,
        "feature": feature,
        "story": "each tier gets 429",
        "severity": severity,
    }
    assert labels == wanted, f"expected {wanted}, got {labels}"


def test_a_self_test_is_labelled_by_its_module() -> None:
    labels = dict(labels_for({"parametrize"}, "test_e2e_burst.py", "test_stops_early"))
    assert labels["epic"].startswith("Self-tests"), f"epic: {labels}"
    assert labels["feature"] == "e2e burst", f"feature: {labels}"
    assert "severity" not in labels, f"a self-test got a severity: {labels}"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (b"", "b''"),
        (b"{", "b'{'"),
        (bytearray(b"{"), "bytearray(b'{')"),
        ("4h", "'4h'"),
        (5400.5, "5400.5"),
        (True, "True"),
        ([], "[]"),
        ({"h": 1}, "{'h': 1}"),
        (story, "the-case"),
        (object(), "the-case"),
    ],
    ids=["empty-bytes", "bytes", "bytearray", "str", "float", "bool", "list", "dict", "function",
         "object"],
)  # fmt: skip
def test_a_parameter_reads_as_its_value_never_as_its_type_or_an_address(
    value: object, shown: str
) -> None:
    actual = display(value, "the-case")
    assert actual == shown, f"{value!r}: expected {shown!r}, got {actual!r}"


def test_a_burst_expects_200s_up_to_the_limit_then_429() -> None:
    run = tl.from_burst(
        _burst([200] * 6), expected=[200] * 5 + [429], title="t", limit_label="5 per 2m"
    )
    expected = [p.expected for p in run.points]
    assert expected == [200] * 5 + [429], f"expected statuses: {expected}"
    assert run.limit_index == 5, f"limit index: {run.limit_index}"
    assert run.mismatches == [5], f"mismatches: {run.mismatches}"


def test_a_limit_beyond_the_run_draws_no_line() -> None:
    run = tl.from_burst(_burst([200] * 3), expected=[200] * 20, title="t", limit_label="20 per 2m")
    assert run.limit_index is None, f"limit index: {run.limit_index}"
    assert "first 429 due" not in tl.svg(run)


def test_the_picture_is_svg_with_the_limit_line_and_the_wrong_request_marked() -> None:
    run = tl.from_burst(
        _burst([200, 200, 200]), expected=[200, 200, 429], title="free", limit_label="2 per 1m"
    )
    root = ET.fromstring(tl.svg(run))
    assert root.tag == f"{SVG}svg", f"root element: {root.tag}"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "limit: first 429 due at #2" in texts, f"texts: {texts}"
    assert any("differ" in (t or "") for t in texts), f"no verdict naming a difference: {texts}"
    outlined = [r for r in root.iter(f"{SVG}rect") if r.get("stroke") == "#b91c1c"]
    assert len(outlined) == 2, f"expected the wrong cell and the legend outlined: {len(outlined)}"


def test_a_token_run_draws_the_budget_and_the_tokens_used_before_each_request() -> None:
    run = tl.from_token_run(
        [(200, 40), (200, 40), (200, 40), (429, 0)],
        [200, 200, 200, 429],
        title="free",
        limit_label="100 per 1m",
        budget=100,
    )
    assert run.tokens_before() == [0, 40, 80, 120], f"tokens before: {run.tokens_before()}"
    texts = [t.text for t in ET.fromstring(tl.svg(run)).iter(f"{SVG}text")]
    assert "budget 100" in texts, f"texts: {texts}"
    assert "limit: first 429 due at #3" in texts, f"texts: {texts}"


def test_the_table_has_one_row_per_request() -> None:
    run = tl.from_token_run(
        [(200, 60), (200, 60)], [200, 429], title="t", limit_label="100 per 1m", budget=100
    )
    rows = list(csv.DictReader(io.StringIO(tl.table(run))))
    assert [r["request"] for r in rows] == ["#0", "#1"], f"rows: {rows}"
    assert [r["as_expected"] for r in rows] == ["yes", "NO"], f"rows: {rows}"
    assert [r["tokens_used_before"] for r in rows] == ["0", "60"], f"rows: {rows}"


def test_environment_properties_escape_what_java_properties_would_misread() -> None:
    text = environment.properties({"tier.a b": "1 per 2m", "path": "C:\\x\nnext", "k": " lead"})
    lines = text.splitlines()
    assert lines == ["tier.a\\ b=1 per 2m", "path=C:\\\\x\\nnext", "k=\\ lead"], f"lines: {lines}"


def test_environment_lists_each_workers_gateway_url_once() -> None:
    text = environment.properties({"target": "local"})
    for url in ("http://127.0.0.1:2", "http://127.0.0.1:1", "http://127.0.0.1:2"):
        text = environment.with_gateway_url(text, url)
    wanted = "gateway.url=http://127.0.0.1:1, http://127.0.0.1:2"
    assert text.splitlines() == ["target=local", wanted], f"properties: {text!r}"


def _category(status: str, message: str) -> str | None:
    """The first category matching as Allure 2 matches (the whole message, DOTALL-free)."""
    for category in environment.CATEGORIES:
        pattern = category.get("messageRegex")
        if status in category["matchedStatuses"] and (
            pattern is None or re.fullmatch(pattern, message)
        ):
            return category["name"]
    return None


@pytest.mark.parametrize(
    ("status", "message", "category"),
    [
        ("failed", "Failed: MaaS target unavailable: maas-local did not start", "Environment"),
        ("broken", "httpx.ConnectError: [Errno 111] Connection refused", "Environment"),
        ("failed", "PreflightError: missing CRDs\nkuadrant not installed", "Environment"),
        ("failed", "AssertionError: expected 429 at #5, got 200", "Product defects"),
        ("broken", "TypeError: 'NoneType' object is not subscriptable", "Suite bugs"),
    ],
)
def test_failures_fall_into_whose_problem_they_are(
    status: str, message: str, category: str
) -> None:
    found = _category(status, message)
    assert found is not None, f"{status} {message!r}: no category"
    assert found.startswith(category), f"{status} {message!r}: expected {category}, got {found}"


def test_a_pytest_failure_tree_is_scrubbed_in_place() -> None:
    from _pytest._code.code import ReprFileLocation

    crash = ReprFileLocation(path="t.py", lineno=3, message=f"AssertionError: got {JWT}")
    sections = scrub([("Captured stdout call", f"token={JWT}\n")])
    assert scrub(crash) is crash
    assert SIGNATURE not in crash.message, f"crash message: {crash.message}"
    assert SIGNATURE not in sections[0][1], f"section: {sections}"


def test_a_lone_surrogate_in_captured_output_becomes_a_replacement_character() -> None:
    """Allure writes UTF-8 strictly: a hostile body echoed into a log must not stop the run."""
    [(_, text)] = scrub([("Captured log call", "body \ud800 sent, reply 😀\n")])
    assert text == "body \ufffd sent, reply 😀\n", repr(text)
    text.encode("utf-8")


def test_an_allure_result_is_scrubbed_but_keeps_its_identity() -> None:
    step = model2.TestStepResult(
        name="mint", statusDetails=model2.StatusDetails(message=f"bad {JWT}")
    )
    result = model2.TestResult(
        uuid="u1",
        name="test_x",
        statusDetails=model2.StatusDetails(
            message=f"AssertionError: {JWT}", trace=f"token = '{JWT}'"
        ),
        steps=[step],
        parameters=[model2.Parameter(name="credential", value=repr(JWT))],
    )
    scrub_allure(result)
    shown = [
        result.statusDetails.message,
        result.statusDetails.trace,
        step.statusDetails.message,
        result.parameters[0].value,
    ]
    assert not [s for s in shown if SIGNATURE in s], f"unscrubbed: {shown}"
    assert (result.uuid, result.name, step.name) == ("u1", "test_x", "mint")


def _serve(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/down":
        raise httpx.ConnectError("refused", request=request)
    return httpx.Response(200, text="data: 1\n\ndata: [DONE]\n\n")


def test_each_exchange_is_handed_over_once_when_complete() -> None:
    done: list[Exchange] = []
    recorder = Recorder(on_exchange=done.append)
    with recorder.client(transport=httpx.MockTransport(_serve), base_url="http://t") as client:
        client.get("/plain")
        with client.stream("GET", "/stream") as resp:
            assert len(done) == 1, "the streamed exchange was handed over before it was read"
            list(resp.iter_lines())
        with pytest.raises(httpx.ConnectError):
            client.get("/down")
    paths = [(e.url.rsplit("/", 1)[1], e.status, e.elapsed is not None) for e in done]
    wanted = [("plain", 200, True), ("stream", 200, True), ("down", None, True)]
    assert paths == wanted, f"handed over: {paths}"
    assert "data: [DONE]" in done[1].response_body, f"stream body: {done[1].response_body!r}"
