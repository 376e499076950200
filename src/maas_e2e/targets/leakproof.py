"""Denied requests do not reach the models: proven once per run, at bring-up, from counters.

A 401, 403 or 429 at the gateway proves nothing if the request still reached the model (Limitador
has had that bug). On the embedded stack each test looks its denied requests up by id among those
the models served; a cluster's model servers keep counters, not ids. So at bring-up, under the
run's lock (no test traffic yet), the served-request counter of every model pod is read, a burst
the gateway must deny is sent (no token: 401, to every model; a tier RBAC refuses on a restricted
model: 403; a tier past its request limit: 429), and the counters are read again. If they grew by
more than the burst requests the gateway let through, the bring-up fails naming the counts.
Counters that cannot be read do not fail it: the proof says so, and why, in every test's report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from maas_e2e.expected import Expected
from maas_e2e.targets.accounts import ProbeIdentities
from maas_e2e.targets.base import TargetUnavailable
from maas_e2e.targets.dataplane import Miss, mint_token, probe_subject
from maas_e2e.targets.kube import Kube, KubeError
from maas_e2e.targets.metrics import (
    SERVED_METRIC,
    MetricsUnreadable,
    model_metrics_paths,
    served_requests,
)
from maas_e2e.targets.traffic import TRANSPORT_ERRORS, ModelCall, Send

TITLE = "bring-up leak proof (once per run, before the first test)"
BURST = 3  # requests per kind of denial and model
DENIALS = frozenset({401, 403, 429})


class DeniedRequestsServed(TargetUnavailable):
    """Requests the gateway denied were served by a model: the stack leaks."""


class _Skip(Exception):
    """A part of the burst that cannot be set up; the message says why."""


@dataclass(frozen=True)
class Denial:
    """Requests the gateway must deny with `status`."""

    label: str
    status: int
    call: ModelCall

    def describe(self) -> str:
        return f"{self.label} to {self.call.path}"


def prove_no_leaks(
    kube: Kube, send: Send, gateway_url: str, expected: Expected, identities: ProbeIdentities
) -> str:
    """The proof's report; raises DeniedRequestsServed when the counters grew."""
    try:
        paths = [path for model in expected.models for path in model_metrics_paths(kube, model)]
        served_requests(kube, paths)  # readable at all? else no identity or quota is spent
    except MetricsUnreadable as exc:
        return f"{TITLE}: not made: {exc}"
    denials, skipped = _denials(send, gateway_url, expected, identities)
    try:
        before = served_requests(kube, paths)
        replies = [(denial, _status(send, denial)) for denial in denials for _ in range(BURST)]
        after = served_requests(kube, paths)
    except MetricsUnreadable as exc:
        return f"{TITLE}: not made: {exc}"
    return _verdict(before, after, replies, skipped)


def _denials(
    send: Send, gateway_url: str, expected: Expected, identities: ProbeIdentities
) -> tuple[list[Denial], list[str]]:
    denials = [
        Denial("401 without a token", 401, ModelCall(gateway_url, m.path, m.name))
        for m in expected.models
    ]
    skipped = []
    parts: list[tuple[str, Callable[[], Denial]]] = [
        ("403", lambda: _forbidden(send, gateway_url, expected, identities)),
        ("429", lambda: _over_limit(send, gateway_url, expected, identities)),
    ]
    for status, prepare in parts:
        try:
            denials.append(prepare())
        except (_Skip, Miss, KubeError) as exc:
            skipped.append(f"no {status} part: {exc}")
        except TRANSPORT_ERRORS as exc:
            skipped.append(f"no {status} part: no answer: {exc}")
    return denials, skipped


def _forbidden(
    send: Send, gateway_url: str, expected: Expected, identities: ProbeIdentities
) -> Denial:
    """A MaaS token of a tier that RBAC does not let `post` to a restricted model."""
    for model in expected.models:
        for tier in expected.tier_names:
            if tier not in model.allowed_tiers and tier in expected.identity_namespaces:
                identity = identities.new(tier, "leak-forbidden")
                token = mint_token(send, gateway_url, identity.token)
                call = ModelCall(gateway_url, model.path, model.name, token)
                return Denial(f"403 for tier {tier}", 403, call)
    raise _Skip("no model is refused to a tier with an identity namespace")


def _over_limit(
    send: Send, gateway_url: str, expected: Expected, identities: ProbeIdentities
) -> Denial:
    """A fresh identity whose request quota is spent (those requests are served, so this
    happens before the counters are read)."""
    subject = probe_subject(expected)
    identity = identities.new(subject.tier, "leak-over-limit")
    token = mint_token(send, gateway_url, identity.token)
    call = ModelCall(gateway_url, subject.model.path, subject.model.name, token)
    for sent in range(1, subject.limit.amount + 1):
        status = call(send).status
        if status == 429:
            break
        if status != 200:
            raise _Skip(f"spending the {subject.tier} quota, request {sent} answered {status}")
    return Denial(f"429 for tier {subject.tier} past {subject.limit}", 429, call)


def _status(send: Send, denial: Denial) -> int | None:
    try:
        return denial.call(send).status
    except TRANSPORT_ERRORS:
        return None


def _verdict(
    before: dict[str, float],
    after: dict[str, float],
    replies: list[tuple[Denial, int | None]],
    skipped: list[str],
) -> str:
    statuses: dict[Denial, list[int | None]] = defaultdict(list)
    for denial, status in replies:
        statuses[denial].append(status)
    burst = "; ".join(f"{d.describe()}: {_counts(s)}" for d, s in statuses.items())
    counters = "; ".join(f"{path}: {before[path]:g} -> {after[path]:g}" for path in before)
    denied = sum(1 for _d, status in replies if status in DENIALS)
    admitted = sum(1 for _d, status in replies if status == 200)
    grown = sum(after[path] - before[path] for path in before)
    details = [f"  burst: {burst}", f"  {SERVED_METRIC}: {counters}"]
    details += [f"  {line}" for line in skipped]
    details += [
        f"  not denied: {d.describe()} answered {_counts(s)}, want {d.status}"
        for d, s in statuses.items()
        if any(status != d.status for status in s)
    ]
    if any(after[path] < before[path] for path in before):
        return "\n".join([f"{TITLE}: inconclusive: a counter went down (pod restarted?)", *details])
    if grown > admitted:
        raise DeniedRequestsServed(
            "\n".join(
                [
                    f"{TITLE}: requests the gateway denied reached the models: {SERVED_METRIC} "
                    f"grew by {grown:g} across a burst of {len(replies)} requests of which "
                    f"{admitted} were let through ({denied} denied)",
                    *details,
                ]
            )
        )
    change = f"grown by {grown:g}, no more than the {admitted} let through"
    if not grown:
        change = "unchanged"
    summary = f"{TITLE}: held: {denied} requests the gateway denied left {SERVED_METRIC} {change}"
    return "\n".join([summary, *details])


def _counts(statuses: list[int | None]) -> str:
    tally: dict[str, int] = defaultdict(int)
    for status in statuses:
        tally["no answer" if status is None else str(status)] += 1
    return ", ".join(f"{status}x{n}" for status, n in tally.items())
