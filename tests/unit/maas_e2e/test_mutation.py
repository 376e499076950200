"""The mutation driver's own logic: which mutants, a stable sample, the triage and the score.

The judge itself (the e2e suite on a mutated copy) is proved by the command's canary on every run
and by CI's run; these checks stay cheap: cosmic-ray on a few lines, no stack.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from maas_e2e import mutation
from maas_e2e.mutation import (
    DEFAULT_TRIAGE,
    Mutant,
    Outcome,
    enumerate_mutants,
    judged,
    read_triage,
    sample,
    score,
    triage_row,
)

ROOT = Path(__file__).resolve().parents[3]

MODULE = """\
from __future__ import annotations


def limit(count: int, tier: str | None, faults: frozenset[str]) -> bool:
    if "rate-limit-off" in faults:
        return count * 2 > 100
    allowed = 16 if tier is None else 32
    return count > allowed
"""


def _mutants(tmp_path: Path, source: str) -> list[Mutant]:
    module = tmp_path / "src" / "maas_local" / "limits.py"
    module.parent.mkdir(parents=True, exist_ok=True)
    module.write_text(source)
    return list(enumerate_mutants(tmp_path, tmp_path / "session.sqlite"))


def _fake(n: int) -> list[Mutant]:
    return [Mutant(f"src/maas_local/m{i % 7}.py", i, 0, "core/Op", 0, f"x = {i}") for i in range(n)]


def test_the_sample_depends_only_on_the_seed_and_keeps_its_size() -> None:
    mutants = _fake(300)
    first, again = sample(mutants, 25, seed=1), sample(list(reversed(mutants)), 25, seed=1)
    assert first == again, "the same seed and mutants drew different samples"
    assert len(first) == 25
    assert first == sorted(first, key=lambda m: (m.path, m.line)), "not in file order"
    assert sample(mutants, 25, seed=2) != first, "another seed drew the same sample"


def test_a_new_mutant_changes_the_sample_by_at_most_itself() -> None:
    mutants = _fake(300)
    before = set(sample(mutants, 25, seed=1))
    added = Mutant("src/maas_local/new.py", 1, 0, "core/Op", 0, "y = 1")
    after = set(sample([*mutants, added], 25, seed=1))
    assert after - {added} <= before
    assert len(before - after) <= 1


def test_the_same_source_draws_the_same_sample(tmp_path: Path) -> None:
    first = sample(_mutants(tmp_path, MODULE), 5, seed=3)
    assert sample(_mutants(tmp_path, MODULE), 5, seed=3) == first


def test_size_zero_or_larger_than_the_mutants_takes_every_valid_one() -> None:
    mutants = _fake(40)
    assert len(sample(mutants, 0, seed=1)) == 40
    assert len(sample(mutants, 99, seed=1, valid=lambda m: m.line % 2 == 0)) == 20


def test_a_mutant_that_does_not_compile_is_replaced_by_the_next_one() -> None:
    mutants = _fake(300)
    first = sample(mutants, 25, seed=1)
    drawn = sample(mutants, 25, seed=1, valid=lambda m: m != first[0])
    assert len(drawn) == 25
    assert set(first) - set(drawn) == {first[0]}


def test_a_mutants_id_survives_edits_to_other_lines(tmp_path: Path) -> None:
    before = {m.id: m for m in _mutants(tmp_path, MODULE)}
    edited = MODULE.replace(
        "def limit(",
        "WINDOW = 60 * 1000\n\n\ndef window() -> int:\n    return WINDOW + 1\n\n\ndef limit(",
    )
    after = {m.id: m for m in _mutants(tmp_path, edited)}
    assert set(before) <= set(after), "an edit elsewhere changed the ids of unchanged lines"
    moved = next(m for m in before.values() if m.original == "return count > allowed")
    assert after[moved.id].line == moved.line + 7


def test_repeated_lines_give_distinct_ids(tmp_path: Path) -> None:
    twice = (
        MODULE + "\n\ndef again(count: int, allowed: int) -> bool:\n    return count > allowed\n"
    )
    mutants = [m for m in _mutants(tmp_path, twice) if m.original == "return count > allowed"]
    assert len({m.id for m in mutants}) == len(mutants)


def test_annotations_and_fault_branches_are_left_out(tmp_path: Path) -> None:
    kept = {m.original for m in judged(_mutants(tmp_path, MODULE), tmp_path)}
    assert kept == {"allowed = 16 if tier is None else 32", "return count > allowed"}, (
        "expected only the healthy code's lines"
    )


@pytest.mark.parametrize(
    ("code", "kept"),
    [
        ('x = (\n    1\n    if "f" in faults\n    else 2\n)\n', {"else 2"}),
        ('x = (\n    1\n    if "f" not in self._faults\n    else 2\n)\n', {"1"}),
        (
            'if (\n    n > 0\n    and "f" in self.faults\n):\n    x = 1\nelse:\n    x = 2\n',
            {"n > 0", "x = 2"},
        ),
        ('if (\n    "f" in faults\n    and n > 0\n):\n    x = 1\n', set()),
        ('if (\n    n > 0\n    or "f" in faults\n):\n    x = 1\n', {"n > 0", "x = 1"}),
        (
            'if (\n    "f" not in faults\n    or n > 0\n):\n    x = 1\nelse:\n    x = 2\n',
            {"x = 1"},
        ),
    ],
    ids=["ifexp-in", "ifexp-not-in", "healthy-and-fault", "fault-and-more", "or", "not-in-or"],
)
def test_only_what_runs_without_a_fault_is_mutated(
    tmp_path: Path, code: str, kept: set[str]
) -> None:
    """The fault check, the branch it opens and what it short-circuits belong to the catalogue.

    Only the leaves are compared (numbers, comparisons): negating or flipping the `and`/`or`
    around a fault check changes what the healthy stack does, so those mutants stay.
    """
    leaves = ("core/NumberReplacer", "core/ReplaceComparisonOperator")
    mutants = judged(_mutants(tmp_path, code), tmp_path)
    assert {m.original for m in mutants if m.operator.startswith(leaves)} == kept


TRIAGE = r"""
Some prose with a | pipe.

| mutant | verdict | where | original | mutated | why |
| --- | --- | --- | --- | --- | --- |
| `m-0123456789` | equivalent | `a.py:1` | `x = a \| b` | `x = a & b` | both are sets of one |
| `m-abcdefabcd` | gap | `a.py:2` | `if n > 1:` | `if n >= 1:` | check the 16th request |
| `m-1111111111` | outside the contract | `a.py:3` | `log()` | `(line removed)` | logging |

| fault | verdict |
| --- | --- |
| rate-limit-off | caught |
"""


def test_triage_rows_are_read_by_id_and_verdict() -> None:
    assert read_triage(TRIAGE) == {
        "m-0123456789": "equivalent",
        "m-abcdefabcd": "gap",
        "m-1111111111": "outside the contract",
    }


def test_an_unknown_verdict_is_refused() -> None:
    with pytest.raises(ValueError, match="m-0123456789: verdict 'fine'"):
        read_triage("| `m-0123456789` | fine | `a.py:1` | `x` | `y` | ? |")


def test_a_printed_row_reads_back_with_pipes_and_backticks_in_the_code() -> None:
    m = Mutant("src/maas_local/a.py", 3, 0, "core/Op", 0, "return `a` | b")
    row = triage_row(Outcome(m, killed=False, seconds=1.0, mutated="return `a` & b"), "gap", "?")
    assert read_triage(row) == {m.id: "gap"}
    assert r"`` return `a` \| b ``" in row


def test_the_score_leaves_out_only_equivalent_survivors() -> None:
    mutants = _fake(10)
    outcomes = [Outcome(m, killed=i < 6, seconds=1.0, mutated="") for i, m in enumerate(mutants)]
    triage = {
        mutants[6].id: "equivalent",
        mutants[7].id: "gap",
        mutants[8].id: "outside the contract",
    }
    result = score(outcomes, triage)
    assert (result.killed, result.equivalent, result.outside, result.gaps) == (6, 1, 1, 1)
    assert result.untriaged == (mutants[9],), "an untriaged survivor must count as a gap"
    assert result.ratio == pytest.approx(6 / 9), "killed / non-equivalent"


def test_the_judge_runs_from_the_copy_without_target_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAAS_TARGET", "cluster")
    with mutation.judging_in(tmp_path):
        assert Path.cwd() == tmp_path
        assert os.environ["PYTHONPATH"].split(os.pathsep)[0] == str(tmp_path / "src")
        assert "MAAS_TARGET" not in os.environ
    assert os.environ["MAAS_TARGET"] == "cluster", "the environment was not restored"


def test_the_triage_document_reads() -> None:
    """docs/mutation.md is what the command reads: every row must have a known verdict."""
    assert read_triage((ROOT / DEFAULT_TRIAGE).read_text()), "no triage rows in docs/mutation.md"
