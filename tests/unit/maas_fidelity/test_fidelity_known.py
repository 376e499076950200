"""The reviewed list: what it accepts, what it refuses to load, when an entry counts as fixed."""

from __future__ import annotations

from pathlib import Path

import pytest

from maas_fidelity.compare import Difference
from maas_fidelity.known import Known, KnownListError, fixed, judge, load, wildcard_match

ENTRY = """
[[difference]]
component = "identity"
case = "tokenreview.*"
aspect = "body"
differs = "$.spec.token only real: *"
reason = "kube-apiserver echoes the reviewed token; nothing reads it back"
"""


def _difference(case: str, detail: str, aspect: str = "body") -> Difference:
    return Difference("identity", case, aspect, detail, "e", "r")


def test_an_entry_accepts_what_matches_all_four_fields(tmp_path: Path) -> None:
    path = tmp_path / "known.toml"
    path.write_text(ENTRY, encoding="utf-8")
    [entry] = load(path)
    assert entry.matches(_difference("tokenreview.garbage", '$.spec.token only real: "x"'))
    assert not entry.matches(_difference("tokenrequest.default", '$.spec.token only real: "x"'))
    assert not entry.matches(_difference("tokenreview.garbage", "$.spec.audiences only real: []"))
    assert not entry.matches(
        _difference("tokenreview.garbage", '$.spec.token only real: "x"', aspect="status")
    )


def test_only_the_star_is_a_wildcard() -> None:
    assert wildcard_match("tokens.expiration=[]", "tokens.expiration=[]")
    assert not wildcard_match("tokens.expiration=[ab]", "tokens.expiration=a")
    assert not wildcard_match("a?c", "abc")
    assert wildcard_match('embedded "*" vs real "*"', 'embedded "x\ny" vs real ""')


def test_a_missing_file_accepts_nothing(tmp_path: Path) -> None:
    assert load(tmp_path / "absent.toml") == []


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[[difference]\n", "not valid TOML"),
        ('difference = "x"\n', "array of tables"),
        (ENTRY.replace('reason = "kube-apiserver', 'reason = "  "\nx = "kube'), "unknown keys"),
        (ENTRY.replace("reason", "why"), "no reason"),
        (ENTRY.replace('aspect = "body"', "aspect = 1"), "no aspect"),
    ],
)
def test_an_unusable_list_is_refused_with_the_entry_named(
    tmp_path: Path, text: str, words: str
) -> None:
    path = tmp_path / "known.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(KnownListError, match=words):
        load(path)


def test_fixed_means_compared_and_no_longer_seen() -> None:
    entry = Known("identity", "tokenreview.*", "body", "*", "reason")
    other = Known("identity", "oidc.*", "body", "*", "reason")
    seen = judge([_difference("tokenreview.garbage", "x")], [entry, other])
    assert [j.status for j in seen] == ["listed"]
    compared = [("identity", "tokenreview.garbage"), ("identity", "oidc.jwks")]
    assert fixed([entry, other], seen, compared) == [other]
    assert fixed([entry, other], seen, [("identity", "tokenreview.garbage")]) == []
    assert judge([_difference("tokenrequest.default", "x")], [entry])[0].status == "NEW"
