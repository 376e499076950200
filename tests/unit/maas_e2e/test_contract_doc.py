"""docs/contract.md carries the contract: a row for every e2e test and every fault of the catalogue,
and no row naming a test, a fault or a source pin that does not exist.

The document is how a reader goes from a promise to the test that checks it and the fault that
proves the test can fail, and back; a test or a fault added without its row, or renamed, would
quietly break that. Only the document and the test files are read: no stack, no network.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from maas_e2e.areas import AREAS
from maas_e2e.fault_matrix import FAULT_AREAS
from maas_local.faults import CATALOGUE

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "contract.md"
E2E = ROOT / "tests" / "e2e"

AREA_HEADING = re.compile(r"^### `(\w+)`")
TEST_REF = re.compile(r"`tests/e2e/(test_\w+)\.py::(test_\w+)`")
FAULT_REF = re.compile(r"`([a-z0-9-]+)`")
SOURCE_REF = re.compile(r"`([\w.-]+)` `([^`]+)` @ ([\w.-]+)")
PIN_ROW = re.compile(r"^\| `([\w.-]+)` \| `([\w.-]+/[\w.-]+)` \| ([\w.-]+) \|")
NONE_PREFIX = "none: "


@dataclass(frozen=True)
class Row:
    """One promise: its area, its cells as written, and what the test and fault cells name."""

    area: str
    line: int
    promise: str
    source: str
    tests: tuple[str, ...]
    fault_cell: str
    faults: tuple[str, ...]


@dataclass(frozen=True)
class Contract:
    pins: dict[str, str]
    """Source short name -> the ref every source cell must cite it at."""
    areas: list[str]
    """The area headings of "Promises by area", in order."""
    rows: list[Row]
    malformed: list[str]


@cache
def contract() -> Contract:
    """docs/contract.md parsed: the Sources table, then the rows under each area heading."""
    pins: dict[str, str] = {}
    areas: list[str] = []
    rows: list[Row] = []
    malformed: list[str] = []
    section, area = "", None
    for number, line in enumerate(DOC.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("## "):
            section, area = line[3:].strip(), None
            continue
        if section == "Sources" and (pin := PIN_ROW.match(line)):
            pins[pin.group(1)] = pin.group(3)
        if section != "Promises by area":
            continue
        if heading := AREA_HEADING.match(line):
            area = heading.group(1)
            areas.append(area)
            continue
        if not line.startswith("|") or line.startswith(("| promise |", "| ---")):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if area is None or len(cells) != 4:
            malformed.append(f"line {number}: {line[:100]}")
            continue
        promise, source, test_cell, fault_cell = cells
        faults = () if fault_cell.startswith(NONE_PREFIX) else tuple(FAULT_REF.findall(fault_cell))
        tests = tuple(f"{m}.py::{f}" for m, f in TEST_REF.findall(test_cell))
        rows.append(Row(area, number, promise, source, tests, fault_cell, faults))
    return Contract(pins, areas, rows, malformed)


@cache
def e2e_tests() -> frozenset[str]:
    """`<module>.py::<function>` of every `test_*` function in tests/e2e/test_*.py."""
    found = set()
    for path in sorted(E2E.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
                "test_"
            ):
                found.add(f"{path.stem}.py::{node.name}")
    return frozenset(found)


def documented_tests() -> set[str]:
    return {test for row in contract().rows for test in row.tests}


def documented_faults() -> set[str]:
    return {fault for row in contract().rows for fault in row.faults}


def listing(names: set[str]) -> str:
    return "\n".join(f"  {name}" for name in sorted(names))


def test_every_e2e_test_has_a_row() -> None:
    missing = e2e_tests() - documented_tests()
    assert not missing, (
        f"{len(missing)} e2e test(s) with no row in docs/contract.md (add the promise each checks, "
        f"its upstream source and the fault that proves it can fail):\n{listing(missing)}"
    )


def test_every_fault_of_the_catalogue_has_a_row() -> None:
    missing = set(CATALOGUE) - documented_faults()
    assert not missing, (
        f"{len(missing)} fault(s) of the catalogue with no row in docs/contract.md (add them to "
        f"the row of the promise they break):\n{listing(missing)}"
    )


def test_rows_name_only_e2e_tests_that_exist() -> None:
    unknown = documented_tests() - e2e_tests()
    assert not unknown, (
        f"docs/contract.md names {len(unknown)} test(s) that tests/e2e does not define "
        f"(renamed or removed?):\n{listing(unknown)}"
    )


def test_rows_name_only_faults_of_the_catalogue() -> None:
    unknown = documented_faults() - set(CATALOGUE)
    assert not unknown, (
        f"docs/contract.md names {len(unknown)} fault(s) the catalogue does not have:\n"
        f"{listing(unknown)}"
    )


def test_each_fault_sits_in_the_table_of_the_area_that_must_catch_it() -> None:
    areas_of: dict[str, set[str]] = {}
    for row in contract().rows:
        for fault in row.faults:
            areas_of.setdefault(fault, set()).add(row.area)
    misplaced = {
        f"{fault}: FAULT_AREAS says {FAULT_AREAS[fault]}, rows are under {sorted(areas)}"
        for fault, areas in areas_of.items()
        if fault in FAULT_AREAS and FAULT_AREAS[fault] not in areas
    }
    assert not misplaced, f"faults outside their area's table:\n{listing(misplaced)}"


def test_the_areas_are_the_suites_markers_in_order() -> None:
    assert contract().areas == list(AREAS), (
        f"area headings: expected {list(AREAS)}, got {contract().areas}"
    )


def test_every_row_has_a_promise_a_pinned_source_one_test_and_a_fault_or_a_reason() -> None:
    pins = contract().pins
    problems = [f"malformed row, {m}" for m in contract().malformed]
    for row in contract().rows:
        where = f"line {row.line} ({row.area})"
        if not row.promise:
            problems.append(f"{where}: no promise")
        if len(row.tests) != 1:
            problems.append(f"{where}: expected one tests/e2e/<module>.py::<test>, got {row.tests}")
        if not row.faults and not (
            row.fault_cell.startswith(NONE_PREFIX) and row.fault_cell[len(NONE_PREFIX) :].strip()
        ):
            problems.append(f"{where}: the fault cell names no fault and gives no 'none: <why>'")
        sources = SOURCE_REF.findall(row.source)
        if not sources:
            problems.append(f"{where}: no source in the form `<repository>` `<path>` @ <ref>")
        for repository, path, ref in sources:
            if pins.get(repository) != ref:
                problems.append(
                    f"{where}: source {repository} {path} @ {ref}, but the Sources table pins "
                    f"{repository} at {pins.get(repository, 'nothing')}"
                )
    assert not problems, "docs/contract.md rows:\n" + "\n".join(f"  {p}" for p in problems)
