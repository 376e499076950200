"""One run: start the sides the chosen components need, compare them, stop everything.

The embedded stack and the cluster are started once and shared; the comparisons then run at
once (each on its own users and namespaces), so the slowest one sets the run's length. A
component whose real side is missing (no binary given, the cluster's builds not made) gets an
outcome saying so rather than a comparison.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from maas_fidelity import identity, maas_api_sides, manifests, simulator
from maas_fidelity.cluster import NotBuilt, cluster
from maas_fidelity.components import (
    ALL,
    IDENTITY,
    MAAS_API,
    MAAS_API_PIN,
    MAAS_API_UPSTREAM,
    NEED_CLUSTER,
    NO_BINARY,
    SIDES,
    SIMULATOR,
    SIMULATOR_PIN,
    TITLES,
)
from maas_fidelity.corpus import Outcome
from maas_fidelity.embedded import embedded_stack
from maas_fidelity.upstream import upstream_maas_api

COMPONENTS = ALL


@dataclass(frozen=True)
class Options:
    components: tuple[str, ...]
    manifests: Path
    workdir: Path
    maas_api_binary: Path | None = None
    maas_api_commit: str = MAAS_API_PIN
    simulator_binary: Path | None = None
    simulator_version: str = SIMULATOR_PIN
    samples: int = 300


def not_made(component: str, why: str) -> Outcome:
    embedded, real = SIDES[component]
    return Outcome(component, TITLES[component], embedded, real, not_made=why)


def run(options: Options) -> list[Outcome]:
    """Every chosen component's outcome, in catalogue order; SideUnavailable when a side that
    exists cannot be started."""
    wanted = [c for c in COMPONENTS if c in options.components]
    outcomes: dict[str, Outcome] = {}
    jobs: dict[str, Callable[[], Outcome]] = {}
    if MAAS_API_UPSTREAM in wanted and options.maas_api_binary is None:
        outcomes[MAAS_API_UPSTREAM] = not_made(MAAS_API_UPSTREAM, NO_BINARY[MAAS_API_UPSTREAM])
    if SIMULATOR in wanted and options.simulator_binary is None:
        outcomes[SIMULATOR] = not_made(SIMULATOR, NO_BINARY[SIMULATOR])
    if all(c in outcomes for c in wanted):
        return [outcomes[c] for c in wanted]
    with contextlib.ExitStack() as stack:
        stack_urls = stack.enter_context(embedded_stack(options.workdir, options.manifests))
        real_cluster = None
        if any(c in NEED_CLUSTER for c in wanted if c not in outcomes):
            deployment = manifests.render(options.manifests)
            try:
                real_cluster = stack.enter_context(cluster(options.workdir, deployment))
            except NotBuilt as exc:
                for component in NEED_CLUSTER:
                    outcomes.setdefault(component, not_made(component, f"no cluster: {exc}"))
        if real_cluster is not None:
            if IDENTITY in wanted:
                jobs[IDENTITY] = lambda: identity.compare(stack_urls, real_cluster)
            if MAAS_API in wanted:
                jobs[MAAS_API] = lambda: maas_api_sides.compare_stacks(stack_urls, real_cluster)
            if MAAS_API_UPSTREAM in wanted and options.maas_api_binary is not None:
                upstream = stack.enter_context(
                    upstream_maas_api(
                        options.maas_api_binary,
                        options.maas_api_commit,
                        real_cluster,
                        options.workdir,
                    )
                )
                jobs[MAAS_API_UPSTREAM] = lambda: maas_api_sides.compare_upstream(
                    stack_urls, real_cluster, upstream
                )
        if SIMULATOR in wanted and options.simulator_binary is not None:
            binary = options.simulator_binary
            jobs[SIMULATOR] = lambda: simulator.compare(
                stack_urls,
                binary,
                options.simulator_version,
                manifests=options.manifests,
                workdir=options.workdir,
                samples=options.samples,
            )
        with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
            futures: dict[str, Future[Outcome]] = {c: pool.submit(job) for c, job in jobs.items()}
            outcomes.update({c: future.result() for c, future in futures.items()})
    return [outcomes[c] for c in wanted]
