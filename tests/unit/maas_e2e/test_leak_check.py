"""Every e2e test's leak check: denied requests never reached a model, admitted ones did, and a
target that cannot tell says "not made" instead of passing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from tests.fixtures import leaks
from tests.fixtures.http import RECORDER

GATEWAY = "http://gw.test/llm/m"


def exchange(request_id: str, status: int, path: str = "/v1/chat/completions") -> SimpleNamespace:
    return SimpleNamespace(
        request_id=request_id, status=status, method="POST", url=f"{GATEWAY}{path}"
    )


class _Item:
    """Just enough of a pytest item for the leak-check hook."""

    def __init__(self, target: object, exchanges: list[SimpleNamespace]) -> None:
        self.stash = {RECORDER: SimpleNamespace(exchanges=exchanges)}
        self.funcargs = {"target": target}
        self.sections: list[tuple[str, str, str]] = []

    def get_closest_marker(self, name: str) -> object:
        return object() if name == "e2e" else None

    def add_report_section(self, when: str, key: str, content: str) -> None:
        self.sections.append((when, key, content))


class _Target:
    def __init__(self, served: set[str] | None, name: str = "local", note: str | None = None):
        self.name, self.served, self.note = name, served, note

    def served_request_ids(self) -> set[str] | None:
        return self.served

    def leak_check_note(self) -> str | None:
        return self.note


def run_leak_check(item: _Item) -> None:
    hook = leaks.pytest_runtest_call(item)  # type: ignore[arg-type]
    next(hook)
    with pytest.raises(StopIteration):
        hook.send(None)


def test_admitted_served_and_denied_unserved_passes() -> None:
    item = _Item(_Target({"ok"}), [exchange("ok", 200), exchange("no", 429)])
    run_leak_check(item)
    assert item.sections == []


def test_a_denied_request_among_the_served_ones_fails_naming_it() -> None:
    item = _Item(_Target({"ok", "no"}), [exchange("ok", 200), exchange("no", 429)])
    with pytest.raises(AssertionError, match=r"1 of 1 requests denied .* reached the model") as e:
        run_leak_check(item)
    assert "429 POST http://gw.test/llm/m/v1/chat/completions id=no" in str(e.value)


def test_an_answered_completion_missing_from_the_served_ids_fails() -> None:
    """The positive control: ids that cannot be matched (a gateway dropping the header) would
    make every denied request look unserved."""
    item = _Item(_Target(set()), [exchange("ok", 200), exchange("no", 429)])
    with pytest.raises(AssertionError, match=r"1 of 1 completions .* not among") as e:
        run_leak_check(item)
    assert "id=ok" in str(e.value)


@pytest.mark.parametrize(
    "answered",
    [exchange("m", 200, "/v1/models"), exchange("t", 201, "/v1/tokens"), exchange("x", 404)],
    ids=["model-list", "token", "not-found"],
)
def test_only_completions_a_model_answered_are_controls(answered: SimpleNamespace) -> None:
    item = _Item(_Target(set()), [answered])
    run_leak_check(item)
    assert item.sections == []


def test_a_target_without_request_ids_reports_not_made_with_its_bring_up_proof() -> None:
    proof = "bring-up leak proof (once per run, before the first test): held: 12 requests"
    item = _Item(_Target(None, "cluster", proof), [exchange("ok", 200), exchange("no", 429)])
    run_leak_check(item)
    assert item.sections == [
        (
            "call",
            "leak check",
            "not made: the cluster target cannot tell which requests its models served, so "
            "neither were this test's denied requests looked up among them nor its answered "
            f"completions (the positive control)\n{proof}",
        )
    ], item.sections


def test_a_test_without_model_traffic_adds_nothing() -> None:
    item = _Item(_Target(None, "cluster", "proof"), [exchange("t", 201, "/v1/tokens")])
    run_leak_check(item)
    assert item.sections == [], item.sections
