"""The reviewed list of differences that are accepted, each with the reason it is.

`docs/fidelity-known.toml` holds one `[[difference]]` table per accepted gap:

    [[difference]]
    component = "identity"            # a component of the harness
    case = "tokenrequest.*"           # a case id; `*` matches any run of characters
    aspect = "body"                   # status, content-type, body, claims ("step: aspect"; `*`)
    differs = "$.metadata only real: {}"   # the detail as the harness prints it (`*` too)
    reason = "why this difference is accepted"

A difference is `listed` only when an entry matches all four: a gap that changes its words is
NEW again and has to be looked at. `*` is the only wildcard (brackets and `?` are literal, as
details are full of them). An entry whose cases were compared and matched nothing is `fixed`
(the gap is gone; the entry can go too).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from maas_fidelity.compare import Difference

FIELDS = ("component", "case", "aspect", "differs", "reason")


class KnownListError(ValueError):
    """The reviewed file cannot be used; the message names the entry and the problem."""


@dataclass(frozen=True)
class Known:
    component: str
    case: str
    aspect: str
    differs: str
    reason: str

    def matches(self, difference: Difference) -> bool:
        return (
            difference.component == self.component
            and wildcard_match(self.aspect, difference.aspect)
            and wildcard_match(self.case, difference.case)
            and wildcard_match(self.differs, difference.detail)
        )

    def covers_case(self, component: str, case: str) -> bool:
        return component == self.component and wildcard_match(self.case, case)


def wildcard_match(pattern: str, text: str) -> bool:
    """`text` is `pattern`, where each `*` stands for any run of characters."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, text, re.DOTALL) is not None


def load(path: Path) -> list[Known]:
    """Every entry of the file; a missing file is an empty list (nothing is accepted)."""
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise KnownListError(f"{path}: not valid TOML: {exc}") from None
    entries = data.get("difference", [])
    if not isinstance(entries, list):
        raise KnownListError(f"{path}: `difference` must be an array of tables ([[difference]])")
    return [_entry(path, i, raw) for i, raw in enumerate(entries, start=1)]


def _entry(path: Path, index: int, raw: object) -> Known:
    if not isinstance(raw, dict):
        raise KnownListError(f"{path}: difference #{index} is not a table")
    unknown = sorted(set(raw) - set(FIELDS))
    missing = [f for f in FIELDS if not isinstance(raw.get(f), str) or not raw[f].strip()]
    if unknown or missing:
        problems = [f"unknown keys {unknown}"] if unknown else []
        problems += [f"no {', '.join(missing)}"] if missing else []
        raise KnownListError(
            f"{path}: difference #{index} ({raw.get('case', '?')}): {'; '.join(problems)} "
            f"(each entry needs {', '.join(FIELDS)}, all non-empty strings)"
        )
    return Known(**{f: raw[f] for f in FIELDS})


@dataclass(frozen=True)
class Judged:
    """A difference found, and the entry that accepts it (None: NEW)."""

    difference: Difference
    entry: Known | None

    @property
    def status(self) -> str:
        return "listed" if self.entry else "NEW"


def judge(found: Iterable[Difference], known: Sequence[Known]) -> list[Judged]:
    return [Judged(d, next((k for k in known if k.matches(d)), None)) for d in found]


def fixed(
    known: Sequence[Known], judged: Sequence[Judged], compared: Iterable[tuple[str, str]]
) -> list[Known]:
    """Entries whose cases were compared and which accepted nothing: their gap is gone."""
    compared = list(compared)
    used = {id(j.entry) for j in judged if j.entry is not None}
    return [
        k
        for k in known
        if id(k) not in used and any(k.covers_case(comp, case) for comp, case in compared)
    ]
