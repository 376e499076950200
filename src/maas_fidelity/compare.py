"""Two sides' normalised answers to one case, and the differences between them.

A difference is named by component, case and aspect (status, content-type, body, claims, each
prefixed by the step of a case with several), and described by one line of detail computed from
the normalised values only (a path and what each side has there), so the same gap reads the
same on every run and in every case it shows in, and can be listed once in the reviewed file.
The raw answers (redacted) go along for the person reading a NEW one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from maas_fidelity.exchange import Observation
from maas_fidelity.normalise import Normaliser
from maas_fidelity.redaction import redact

LEFT, RIGHT = "embedded", "real"
"""How details name the two sides: the stand-in, and the component it stands in for."""
SHOWN_CHARS = 600


@dataclass(frozen=True)
class Difference:
    component: str
    case: str
    aspect: str
    detail: str
    embedded: str
    """What the embedded side answered (status and body, redacted)."""
    real: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.component, self.case, self.aspect)


@dataclass(frozen=True)
class Sides:
    """One case's observations on each side, by step ("" for a case of one step)."""

    embedded: Mapping[str, Observation]
    real: Mapping[str, Observation]


def describe(obs: Observation | None) -> str:
    if obs is None:
        return "(step not reached)"
    body = obs.body if isinstance(obs.body, str) else json.dumps(obs.body, ensure_ascii=False)
    text = redact(f"{obs.status} {obs.content_type or '-'} {body}")
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


def compare_case(
    component: str,
    case: str,
    sides: Sides,
    embedded: Normaliser,
    real: Normaliser,
) -> list[Difference]:
    """Every aspect of every step that differs once both sides are normalised."""
    found = []
    for step in dict.fromkeys([*sides.embedded, *sides.real]):
        left_obs, right_obs = sides.embedded.get(step), sides.real.get(step)
        left = embedded.observation(left_obs) if left_obs else {"step": "not reached"}
        right = real.observation(right_obs) if right_obs else {"step": "not reached"}
        # A different status is the difference: what else differs follows from it, and both
        # answers are shown with it.
        aspects = ["status"] if left.get("status") != right.get("status") else [*left, *right]
        for aspect in dict.fromkeys(aspects):
            name = f"{step}: {aspect}" if step else aspect
            for line in diff(left.get(aspect, _ABSENT), right.get(aspect, _ABSENT)):
                found.append(
                    Difference(component, case, name, line, describe(left_obs), describe(right_obs))
                )
    return found


class _Absent:
    def __repr__(self) -> str:
        return "absent"


_ABSENT: Any = _Absent()


SHOWN_VALUE_CHARS = 400


def _shown(value: Any) -> str:
    """The value as JSON; a long one cut, with its length (a deterministic stand-in)."""
    if value is _ABSENT:
        return "absent"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if len(text) <= SHOWN_VALUE_CHARS:
        return text
    return f"{text[: SHOWN_VALUE_CHARS - 40]}… ({len(text)} characters)"


def diff(left: Any, right: Any, path: str = "$") -> list[str]:
    """Where two JSON values differ: missing keys by side, types, then values, path by path."""
    if isinstance(left, dict) and isinstance(right, dict):
        lines = []
        for key in dict.fromkeys([*left, *right]):
            where = f"{path}.{key}"
            if key not in right:
                lines.append(f"{where} only {LEFT}: {_shown(left[key])}")
            elif key not in left:
                lines.append(f"{where} only {RIGHT}: {_shown(right[key])}")
            else:
                lines.extend(diff(left[key], right[key], where))
        return lines
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        pairs = enumerate(zip(left, right, strict=True))
        return [line for i, (a, b) in pairs for line in diff(a, b, f"{path}[{i}]")]
    if left == right and type(left) is type(right):
        return []
    where = "" if path == "$" else f"{path} "
    if isinstance(left, str) and isinstance(right, str):
        left_text, right_text = _where_they_part(left, right)
        return [f"{where}{LEFT} {left_text} vs {RIGHT} {right_text}"]
    return [f"{where}{LEFT} {_shown(left)} vs {RIGHT} {_shown(right)}"]


def _where_they_part(left: str, right: str) -> tuple[str, str]:
    """Two long texts shown from a little before their first difference, so the detail says
    what differs (and stays the same from run to run)."""
    a, b = json.dumps(left, ensure_ascii=False), json.dumps(right, ensure_ascii=False)
    if max(len(a), len(b)) <= SHOWN_VALUE_CHARS:
        return a, b
    start = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), 0)
    start = max(0, start - 40)

    def window(text: str) -> str:
        head = "…" if start else ""
        body = text[start : start + SHOWN_VALUE_CHARS - 40]
        tail = "…" if start + len(body) < len(text) else ""
        return f"{head}{body}{tail} ({len(text)} characters)"

    return window(a), window(b)
