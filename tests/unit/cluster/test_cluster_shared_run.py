"""One deploy and one teardown per run, whatever the number of workers that ask for the cluster."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from maas_e2e.targets.base import TargetUnavailable
from maas_e2e.targets.shared_run import IdentityRecord, RunState, SharedRun

WORKERS = 6


def _workers(directory: Path, start, count: int = WORKERS) -> list[object]:
    """`count` threads, each with its own SharedRun on the same directory (as xdist workers
    have), calling setup at the same moment; what each got back (state or exception)."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def worker(index: int) -> None:
        run = SharedRun(directory, lock_timeout=30)
        barrier.wait()
        try:
            results[index] = run.setup(start)
        except TargetUnavailable as exc:
            results[index] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_only_the_first_worker_deploys_and_all_get_its_state(tmp_path: Path) -> None:
    calls: list[int] = []

    def start(state: RunState) -> None:
        calls.append(1)
        state.gateway_url = "https://gw.example.com"
        state.deployed = True

    results = _workers(SharedRun.create(lock_timeout=30, parent=tmp_path).directory, start)
    assert len(calls) == 1, f"expected one deploy for {WORKERS} workers, got {len(calls)}"
    urls = {r.gateway_url for r in results if isinstance(r, RunState)}
    assert urls == {"https://gw.example.com"}, results


def test_a_failed_deploy_is_not_retried_by_the_other_workers(tmp_path: Path) -> None:
    calls: list[int] = []

    def start(state: RunState) -> None:
        calls.append(1)
        raise TargetUnavailable("CRD authpolicies.kuadrant.io is not installed")

    results = _workers(SharedRun.create(lock_timeout=30, parent=tmp_path).directory, start)
    assert len(calls) == 1, f"expected one attempt, got {len(calls)}"
    messages = [str(r) for r in results]
    assert all("authpolicies.kuadrant.io is not installed" in m for m in messages), messages


def test_a_deploy_that_failed_half_way_is_still_torn_down(tmp_path: Path) -> None:
    run = SharedRun.create(lock_timeout=30, parent=tmp_path)

    def start(state: RunState) -> None:
        state.deployed, state.owned = True, "kind: Namespace\n"
        raise TargetUnavailable("waiting for the stack: still waiting")

    with pytest.raises(TargetUnavailable):
        run.setup(start)
    torn: list[RunState] = []
    run.finish(lambda state, identities: torn.append(state) or [])
    assert [s.owned for s in torn] == ["kind: Namespace\n"], torn


def test_teardown_happens_once(tmp_path: Path) -> None:
    run = SharedRun.create(lock_timeout=30, parent=tmp_path)
    run.setup(lambda state: setattr(state, "deployed", True))
    calls: list[int] = []
    for _ in range(3):
        run.finish(lambda state, identities: calls.append(1) or [])
    assert calls == [1], calls


def test_a_run_that_never_reached_the_cluster_tears_nothing_down(tmp_path: Path) -> None:
    run = SharedRun.create(lock_timeout=30, parent=tmp_path)
    assert run.finish(lambda state, identities: pytest.fail("teardown without a deploy")) == []


def test_skip_deploy_run_still_removes_its_identities(tmp_path: Path) -> None:
    run = SharedRun.create(lock_timeout=30, parent=tmp_path)
    run.setup(lambda state: None)
    record = IdentityRecord("maas-e2e-free", "e2e-a-1", "maas-default-gateway-tier-free")
    run.record_identity(record)
    seen: list = []
    run.finish(lambda state, identities: seen.append(identities) or [])
    assert seen == [[record]], seen


def test_a_run_with_only_probe_identities_still_tears_them_down(tmp_path: Path) -> None:
    run = SharedRun.create(lock_timeout=30, parent=tmp_path)
    probe = {"namespace": "maas-e2e-free", "name": "e2e-readiness-1", "tier_namespace": "t"}
    run.setup(lambda state: state.probe_identities.append(probe))
    torn: list[RunState] = []
    run.finish(lambda state, identities: torn.append(state) or [])
    assert [s.probe_records() for s in torn] == [[IdentityRecord(**probe)]], torn


def test_identities_recorded_by_every_worker_reach_the_teardown(tmp_path: Path) -> None:
    directory = SharedRun.create(lock_timeout=30, parent=tmp_path).directory
    barrier = threading.Barrier(WORKERS)

    def worker(index: int) -> None:
        run = SharedRun(directory, lock_timeout=30)
        barrier.wait()
        for n in range(10):
            run.record_identity(IdentityRecord("ns", f"w{index}-{n}", "tier-ns"))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    names = {r.name for r in SharedRun(directory, lock_timeout=30).identities()}
    assert len(names) == WORKERS * 10, f"expected {WORKERS * 10} records, got {len(names)}"


def test_run_id_is_a_valid_label_value(tmp_path: Path) -> None:
    run_id = SharedRun.create(lock_timeout=30, parent=tmp_path).run_id
    assert run_id.isalnum(), run_id
    assert len(run_id) <= 63, run_id


def test_a_worker_that_cannot_get_the_lock_says_so(tmp_path: Path) -> None:
    run = SharedRun.create(lock_timeout=30, parent=tmp_path)
    impatient = SharedRun(run.directory, lock_timeout=0.05)
    entered, release = threading.Event(), threading.Event()

    def slow_start(state: RunState) -> None:
        entered.set()
        release.wait(10)

    thread = threading.Thread(target=run.setup, args=(slow_start,))
    thread.start()
    entered.wait(10)
    try:
        with pytest.raises(TargetUnavailable, match="for another worker to bring the cluster up"):
            impatient.setup(slow_start)
    finally:
        release.set()
        thread.join(10)
