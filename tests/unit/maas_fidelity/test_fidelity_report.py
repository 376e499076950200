"""The report and the console: grouping, statuses, sections that were not made, and a stub
for the reviewed list that, once given a reason, accepts the very difference it came from."""

from __future__ import annotations

from pathlib import Path

from maas_fidelity.compare import Difference
from maas_fidelity.corpus import Outcome
from maas_fidelity.known import Known, load
from maas_fidelity.report import case_glob, console, markdown, verdict


def _outcome(*differences: Difference, cases: tuple[str, ...] = ()) -> Outcome:
    return Outcome(
        "maas-api",
        "title",
        "embedded side",
        "real side",
        cases=cases or tuple(sorted({d.case for d in differences} | {"health"})),
        differences=differences,
    )


CHARSET = 'embedded "application/json" vs real "application/json; charset=utf-8"'


def _charset(case: str) -> Difference:
    return Difference("maas-api", case, "content-type", CHARSET, "200 a", "200 b")


def test_one_gap_in_many_cases_is_one_row_listing_them() -> None:
    v = verdict(_outcome(_charset("a"), _charset("b"), _charset("c")), [])
    [row] = v.rows
    assert (row.status, row.cases) == ("NEW", ("a", "b", "c"))
    assert v.outcome.matched == 1  # "health"


def test_listed_rows_carry_the_reason_and_fixed_entries_show() -> None:
    entry = Known("maas-api", "*", "content-type", CHARSET, "gin adds a charset")
    gone = Known("maas-api", "health", "status", "embedded 200 vs real 500", "was a bug")
    v = verdict(_outcome(_charset("a")), [entry, gone])
    assert [(r.status, r.reason) for r in v.rows] == [
        ("listed", "gin adds a charset"),
        ("fixed", "was a bug"),
    ]
    text = markdown([v])
    assert "gin adds a charset" in text
    assert "| fixed |" in text
    assert "| maas-api | yes | 2 | 1 | 0 | 1 | 1 |" in text


def test_a_component_not_made_says_why_and_never_matched() -> None:
    outcome = Outcome("simulator", "t", "e", "r", not_made="no --simulator-binary given")
    text = markdown([verdict(outcome, [])])
    assert "not made: no --simulator-binary given" in text
    assert "| simulator | not made |" in text
    assert "matched" not in console([verdict(outcome, [])])


def test_the_report_is_the_same_for_the_same_outcome() -> None:
    outcome = _outcome(_charset("b"), _charset("a"))
    assert markdown([verdict(outcome, [])]) == markdown([verdict(outcome, [])])


def test_table_cells_survive_pipes_and_backticks() -> None:
    d = Difference("maas-api", "x", "body", "a | b `c`", "e", "r")
    row = next(
        line for line in markdown([verdict(_outcome(d), [])]).splitlines() if "a \\|" in line
    )
    assert row.count(" | ") == 4, row


def test_the_console_stub_accepts_its_difference_once_given_a_reason(tmp_path: Path) -> None:
    d = Difference(
        "maas-api", 'tokens.expiration="1h\\n"', "body", '$.error "a\\"b" vs []', "e", "r"
    )
    text = console([verdict(_outcome(d), [])])
    assert "NEW maas-api" in text
    stub = text[text.index("[[difference]]") :].replace('reason = "..."', 'reason = "why"')
    path = tmp_path / "known.toml"
    path.write_text("\n".join(line.strip() for line in stub.splitlines()), encoding="utf-8")
    [entry] = load(path)
    assert entry.matches(d)


def test_case_glob_is_the_common_prefix() -> None:
    assert case_glob(["hostile.tokens-a", "hostile.tokens-b"]) == "hostile.tokens-*"
    assert case_glob(["one"]) == "one"
