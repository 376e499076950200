"""The comparison of two sides' answers: one difference per differing path, a different status
as the one difference of its step, and details that stay the same from run to run."""

from __future__ import annotations

from maas_fidelity.compare import Sides, compare_case, diff
from maas_fidelity.exchange import Observation, parse_body
from maas_fidelity.normalise import Normaliser

JSON = "application/json"


def test_diff_names_each_path_and_the_side_that_has_it() -> None:
    left = {"a": 1, "b": {"c": "x"}, "only": True}
    right = {"a": 1, "b": {"c": "y"}, "extra": None}
    assert diff(left, right) == [
        '$.b.c embedded "x" vs real "y"',
        "$.only only embedded: true",
        "$.extra only real: null",
    ]


def test_diff_tells_types_apart() -> None:
    assert diff({"n": 1}, {"n": 1.0}) == ["$.n embedded 1 vs real 1.0"]
    assert diff({"n": 1}, {"n": True}) == ["$.n embedded 1 vs real true"]
    assert diff([1, 2], [1, 2]) == []
    assert diff([1, 2], [1]) == ["embedded [1, 2] vs real [1]"]


def test_long_texts_are_shown_where_they_part() -> None:
    common = "x" * 5000
    [line] = diff({"m": common + "left end"}, {"m": common + "right end"})
    assert "left end" in line
    assert "right end" in line
    assert "x" * 1000 not in line
    assert "(5010 characters)" in line


def _obs(status: int, body: object, content_type: str = JSON) -> Observation:
    return Observation(status, content_type, body)


def test_a_different_status_is_the_only_difference_of_its_step() -> None:
    sides = Sides({"": _obs(201, {"token": "a"})}, {"": _obs(400, {"message": "no"})})
    found = compare_case("c", "case-1", sides, Normaliser(), Normaliser())
    assert [(d.aspect, d.detail) for d in found] == [("status", "embedded 201 vs real 400")]
    assert "201" in found[0].embedded
    assert "no" in found[0].real


def test_steps_prefix_their_aspects_and_a_missing_step_is_a_difference() -> None:
    left = {"issue": _obs(201, {}), "revoke": _obs(204, "")}
    right = {"issue": _obs(201, {}, "application/json; charset=utf-8")}
    found = compare_case("c", "case", Sides(left, right), Normaliser(), Normaliser())
    aspects = [d.aspect for d in found]
    assert "issue: content-type" in aspects
    assert any(a.startswith("revoke:") for a in aspects), aspects


def test_equal_answers_once_normalised_make_no_difference() -> None:
    body = parse_body(
        b'{"uid": "0b7e5d4c-1111-2222-3333-444455556666", "at": "2026-01-02T03:04:05Z"}'
    )
    other = {"uid": "9a9a9a9a-1111-2222-3333-444455556666", "at": "2027-01-02T03:04:05Z"}
    sides = Sides({"": _obs(200, body)}, {"": _obs(200, other)})
    assert compare_case("c", "case", sides, Normaliser(), Normaliser()) == []


def test_the_raw_answers_carried_along_are_redacted() -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    sides = Sides({"": _obs(200, {"token": jwt})}, {"": _obs(500, {"error": "x"})})
    [found] = compare_case("c", "case", sides, Normaliser(), Normaliser())
    assert jwt not in found.embedded
    assert "[jwt sha256:" in found.embedded
