"""Mask credentials in what a failure leaves behind: pytest's report and Allure's results.

Exchanges are redacted when recorded, but a token also reaches a report through an assertion
message, a local variable in a traceback, captured output, or an exception inside an Allure
step. pytest's failure representation and Allure's result model are trees of dataclasses and
attrs classes; walking them and masking every string catches all of these in one place, before
the terminal, JUnit XML, xdist or Allure's writer ever see them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

from maas_e2e.redaction import redact_text

ALLURE_IDENTITY_FIELDS: Final = frozenset(
    {
        "uuid",
        "historyId",
        "testCaseId",
        "fullName",
        "titlePath",
        "name",
        "labels",
        "links",
        "source",
        "type",
        "children",
    }
)
"""Allure fields that identify a result rather than describe it: left as they are."""


def scrub(value: Any, *, keep: frozenset[str] = frozenset()) -> Any:
    """`value` with every string in it masked; containers are rebuilt, dataclass and attrs
    objects are changed in place (and returned), fields named in `keep` are left alone."""
    return _Scrubber(keep).visit(value)


class _Scrubber:
    def __init__(self, keep: frozenset[str]) -> None:
        self.keep = keep
        self.seen: set[int] = set()

    def visit(self, value: Any) -> Any:
        if isinstance(value, str):
            return _writable(redact_text(value))
        if isinstance(value, list):
            return [self.visit(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self.visit(item) for item in value)
        if isinstance(value, dict):
            return {key: self.visit(item) for key, item in value.items()}
        names = _field_names(value)
        if names and id(value) not in self.seen:
            self.seen.add(id(value))
            for name in names:
                if name not in self.keep:
                    setattr(value, name, self.visit(getattr(value, name)))
        return value


def _writable(text: str) -> str:
    """`text` with every lone surrogate (a hostile body echoed into a log, say) replaced by
    U+FFFD: Allure's writer encodes UTF-8 strictly and would stop the run with an INTERNALERROR."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _field_names(value: Any) -> list[str]:
    if isinstance(value, type):
        return []
    if dataclasses.is_dataclass(value):
        return [f.name for f in dataclasses.fields(value)]
    # Allure's model is made of attrs classes; their fields are listed on the class.
    return [f.name for f in getattr(type(value), "__attrs_attrs__", ())]


def scrub_report(report: Any) -> None:
    """Mask credentials in a pytest report's failure representation and captured sections."""
    if report.longrepr is not None:
        report.longrepr = scrub(report.longrepr)
    report.sections = scrub(report.sections)


def scrub_allure(result: Any) -> None:
    """Mask credentials in an Allure test result or container, in place: status messages and
    traces (the test's, its steps' and its fixtures'), parameter values, descriptions."""
    scrub(result, keep=ALLURE_IDENTITY_FIELDS)
