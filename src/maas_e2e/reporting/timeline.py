"""A picture and a table of a limit run: status per request, against what the limit allows.

An off-by-one, a limit that never bites and a window that resets mid-run look alike in a list of
numbers and unlike in a picture: one row of what the manifests say each request should get, one
row of what it got, the limit drawn where the first 429 is due, and for token limits the tokens
spent before each request against the budget. Hand-written SVG, so the report needs no plotting
library and the picture stays sharp at any zoom.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from maas_e2e.burst import Burst

LEFT = 96
COLUMN = 34
ROW = 26
MIN_WIDTH = 560
TOKENS_PANEL = 110
ROWS_TOP = 84
ROW_GAP = 6
LIMIT_LABEL_WIDTH = 180
LEGEND = (("2xx", 200), ("429", 429), ("other 4xx", 403), ("5xx", 500))


@dataclass(frozen=True)
class Point:
    """One request of a run: what it got and what the limit should have given it."""

    index: int
    status: int
    expected: int | None
    at: float | None = None
    request_id: str | None = None
    tokens: int | None = None

    @property
    def matches(self) -> bool:
        return self.expected is None or self.status == self.expected


@dataclass(frozen=True)
class Timeline:
    """A run to draw: `limit_index` is the first request the limit must deny (None when the
    run ends before it); `budget` is the token budget, for token-limit runs."""

    title: str
    limit_label: str
    points: tuple[Point, ...]
    limit_index: int | None
    budget: int | None = None

    @property
    def mismatches(self) -> list[int]:
        return [p.index for p in self.points if not p.matches]

    def tokens_before(self) -> list[int]:
        """Tokens the run had used before each request: what a token limit decides on."""
        used, before = 0, []
        for point in self.points:
            before.append(used)
            used += point.tokens or 0
        return before

    def verdict(self) -> str:
        if not self.points:
            return "no request was sent"
        wrong = self.mismatches
        if not wrong:
            return f"{len(self.points)} requests, each as expected"
        shown = ", ".join(f"#{i}" for i in wrong[:8]) + (" …" if len(wrong) > 8 else "")
        return f"{len(wrong)} of {len(self.points)} requests differ from the expected: {shown}"


def from_burst(burst: Burst, *, expected: Sequence[int], title: str, limit_label: str) -> Timeline:
    """A burst against the status each request should get (a request past the end of
    `expected` has no expectation); the limit is drawn at the first 429 expected."""
    points = tuple(
        Point(
            index=e.index,
            status=e.status,
            expected=expected[e.index] if e.index < len(expected) else None,
            at=e.at,
            request_id=e.request_id,
        )
        for e in burst.entries
    )
    limit_index = next((i for i, status in enumerate(expected) if status == 429), None)
    return Timeline(title, limit_label, points, limit_index)


def from_token_run(
    results: Sequence[tuple[int, int]],
    expected: Sequence[int],
    *,
    title: str,
    limit_label: str,
    budget: int | None,
) -> Timeline:
    """A token-limit run: (status, total_tokens) per request and the status each should get
    (a request past the end of `expected` has no expectation)."""
    points = tuple(
        Point(
            index=i,
            status=status,
            expected=expected[i] if i < len(expected) else None,
            tokens=tokens,
        )
        for i, (status, tokens) in enumerate(results)
    )
    limit_index = next((p.index for p in points if p.expected == 429), None)
    return Timeline(title, limit_label, points, limit_index, budget)


def _colour(status: int | None) -> str:
    if status is None:
        return "#9ca3af"
    if 200 <= status < 300:
        return "#16a34a"
    if status == 429:
        return "#f97316"
    if 400 <= status < 500:
        return "#a855f7"
    return "#dc2626"


def _text(x: float, y: float, content: str, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return f'<text x="{x:g}" y="{y:g}"{extra}>{escape(content)}</text>'


def _tooltip(point: Point, before: int | None) -> str:
    parts = [f"request #{point.index}"]
    if point.at is not None:
        parts.append(f"t+{point.at:.3f}s")
    parts.append(f"status {point.status}")
    if point.expected is not None:
        parts.append(f"expected {point.expected}")
    if point.tokens is not None:
        parts.append(f"{point.tokens} tokens ({before} used before)")
    if point.request_id:
        parts.append(f"x-e2e-request-id {point.request_id}")
    return escape(", ".join(parts))


def svg(timeline: Timeline) -> str:
    """The run as an SVG document."""
    layout = _Layout.of(timeline)
    before = timeline.tokens_before()
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{layout.width}" '
        f'height="{layout.height}" viewBox="0 0 {layout.width} {layout.height}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{layout.width}" height="{layout.height}" fill="#ffffff"/>',
        *_heading(timeline),
        *_status_rows(timeline, before),
        *_axis(timeline, layout),
        *_limit_line(timeline, layout),
    ]
    if timeline.budget is not None:
        out += _tokens_panel(timeline, before, layout.panel_top)
    out += _legend(layout.height - 12)
    out.append("</svg>")
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class _Layout:
    width: int
    height: int
    axis_y: int
    panel_top: int

    @classmethod
    def of(cls, timeline: Timeline) -> _Layout:
        columns = max(len(timeline.points), (timeline.limit_index or 0) + 1)
        axis_y = ROWS_TOP + 2 * (ROW + ROW_GAP) + 14
        panel_top = axis_y + 22
        content_bottom = panel_top + TOKENS_PANEL + 24 if timeline.budget is not None else axis_y
        return cls(
            width=max(LEFT + columns * COLUMN + 24, MIN_WIDTH),
            height=content_bottom + 42,
            axis_y=axis_y,
            panel_top=panel_top,
        )

    @property
    def line_bottom(self) -> int:
        return self.axis_y - 10


def _heading(timeline: Timeline) -> list[str]:
    verdict_colour = "#b91c1c" if timeline.mismatches else "#15803d"
    return [
        _text(12, 20, timeline.title, font_weight="bold", font_size="14"),
        _text(12, 38, timeline.limit_label, fill="#1e3a8a"),
        _text(12, 54, timeline.verdict(), fill=verdict_colour, font_weight="bold"),
    ]


def _status_rows(timeline: Timeline, before: list[int]) -> list[str]:
    """Two rows of cells: the status each request should get, and the one it got."""
    out = []
    for row, label in enumerate(("expected", "actual")):
        y = ROWS_TOP + row * (ROW + ROW_GAP)
        out.append(_text(12, y + ROW / 2 + 4, label, fill="#374151"))
        for point in timeline.points:
            status = point.expected if row == 0 else point.status
            x = LEFT + point.index * COLUMN
            wrong = row == 1 and not point.matches
            stroke = ' stroke="#b91c1c" stroke-width="3"' if wrong else ""
            label_colour = "#111827" if row == 0 else "#ffffff"
            out.append(
                f"<g><title>{_tooltip(point, before[point.index])}</title>"
                f'<rect x="{x + 2}" y="{y}" width="{COLUMN - 4}" height="{ROW}" rx="3" '
                f'fill="{_colour(status)}" fill-opacity="{"0.45" if row == 0 else "1"}"{stroke}/>'
                + _text(
                    x + COLUMN / 2,
                    y + ROW / 2 + 4,
                    "-" if status is None else str(status),
                    text_anchor="middle",
                    font_size="10",
                    fill=label_colour,
                )
                + "</g>"
            )
    return out


def _axis(timeline: Timeline, layout: _Layout) -> list[str]:
    return [
        _text(
            LEFT + p.index * COLUMN + COLUMN / 2,
            layout.axis_y,
            f"#{p.index}",
            text_anchor="middle",
            font_size="10",
            fill="#6b7280",
        )
        for p in timeline.points
    ]


def _limit_line(timeline: Timeline, layout: _Layout) -> list[str]:
    """A dashed line before the first request the limit must deny."""
    if timeline.limit_index is None:
        return []
    x = LEFT + timeline.limit_index * COLUMN
    right_of_line = x + LIMIT_LABEL_WIDTH < layout.width
    bottom = layout.panel_top + TOKENS_PANEL if timeline.budget is not None else layout.line_bottom
    return [
        f'<line x1="{x}" y1="{ROWS_TOP - 16}" x2="{x}" y2="{bottom}" stroke="#1d4ed8" '
        'stroke-width="2" stroke-dasharray="6 3"/>',
        _text(
            x + 4 if right_of_line else x - 4,
            ROWS_TOP - 6,
            f"limit: first 429 due at #{timeline.limit_index}",
            fill="#1d4ed8",
            font_size="11",
            text_anchor="start" if right_of_line else "end",
        ),
    ]


def _legend(y: int) -> list[str]:
    out = []
    for i, (label, status) in enumerate(LEGEND):
        x = 12 + i * 92
        out.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{_colour(status)}"/>')
        out.append(_text(x + 16, y, label, fill="#374151", font_size="11"))
    x = 12 + len(LEGEND) * 92
    out.append(
        f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="none" stroke="#b91c1c" '
        'stroke-width="2"/>'
    )
    out.append(_text(x + 16, y, "not as expected", fill="#374151", font_size="11"))
    return out


def _tokens_panel(timeline: Timeline, before: list[int], top: int) -> list[str]:
    """Bars of the tokens used before each request, with the budget as a line."""
    budget = timeline.budget or 0
    scale_max = max([budget * 1.25, *before, 1])
    bottom = top + TOKENS_PANEL

    def y_of(value: float) -> float:
        return bottom - value / scale_max * TOKENS_PANEL

    out = [
        _text(12, top + 12, "tokens used", fill="#374151"),
        _text(12, top + 26, "before request", fill="#374151"),
        f'<line x1="{LEFT}" y1="{bottom}" x2="{LEFT + len(before) * COLUMN}" y2="{bottom}" '
        'stroke="#9ca3af"/>',
    ]
    for point, used in zip(timeline.points, before, strict=True):
        x = LEFT + point.index * COLUMN
        out.append(
            f'<rect x="{x + 6}" y="{y_of(used):.1f}" width="{COLUMN - 12}" '
            f'height="{bottom - y_of(used):.1f}" fill="#64748b"/>'
        )
        out.append(
            _text(
                x + COLUMN / 2,
                y_of(used) - 3,
                str(used),
                text_anchor="middle",
                font_size="9",
                fill="#334155",
            )
        )
    line_y = y_of(budget)
    out.append(
        f'<line x1="{LEFT}" y1="{line_y:.1f}" x2="{LEFT + len(before) * COLUMN}" '
        f'y2="{line_y:.1f}" stroke="#dc2626" stroke-width="2" stroke-dasharray="6 3"/>'
    )
    out.append(_text(LEFT + 4, line_y - 4, f"budget {budget}", fill="#dc2626", font_size="11"))
    return out


def table(timeline: Timeline) -> str:
    """The run as CSV, one row per request."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    has_tokens = timeline.budget is not None
    header = ["request", "t_seconds", "status", "expected", "as_expected"]
    if has_tokens:
        header += ["tokens", "tokens_used_before", "budget"]
    writer.writerow([*header, "x-e2e-request-id"])
    before = timeline.tokens_before()
    for point in timeline.points:
        row = [
            f"#{point.index}",
            "" if point.at is None else f"{point.at:.3f}",
            point.status,
            "" if point.expected is None else point.expected,
            "yes" if point.matches else "NO",
        ]
        if has_tokens:
            row += [point.tokens, before[point.index], timeline.budget]
        writer.writerow([*row, point.request_id or ""])
    return buffer.getvalue()
