"""Which objects on a cluster belong to the suite, told by labels that outlive the run.

Every object the suite creates carries `app.kubernetes.io/managed-by: maas-e2e` and the run's id.
A label on the object, not a note in a temporary file, is what survives an interrupted run: the
next run (or `maas-e2e-cleanup`) can tell the suite's leftovers from objects someone else made,
and only ever deletes the former.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

MANAGED_BY = "app.kubernetes.io/managed-by"
OWNER = "maas-e2e"
RUN_LABEL = "maas-e2e.opendatahub.io/run"
OWNED = f"{MANAGED_BY}={OWNER}"


def labels(run_id: str) -> dict[str, str]:
    """The labels of an object this run creates."""
    return {MANAGED_BY: OWNER, RUN_LABEL: run_id}


def run_selector(run_id: str) -> str:
    """A label selector for this run's objects."""
    return f"{OWNED},{RUN_LABEL}={run_id}"


def earlier_runs_selector(run_id: str) -> str:
    """A label selector for the suite's objects of every other run."""
    return f"{OWNED},{RUN_LABEL}!={run_id}"


def stamp(documents: Iterable[Mapping[str, Any]], run_id: str) -> list[dict[str, Any]]:
    """Copies of the documents with this run's labels added to their metadata."""
    stamped = []
    for doc in documents:
        copied = copy.deepcopy(dict(doc))
        meta = copied.setdefault("metadata", {})
        meta["labels"] = {**(meta.get("labels") or {}), **labels(run_id)}
        stamped.append(copied)
    return stamped


def is_owned(obj: Mapping[str, Any]) -> bool:
    """Made by the suite (in this run or an earlier one)."""
    return ((obj.get("metadata") or {}).get("labels") or {}).get(MANAGED_BY) == OWNER


def owner_run(obj: Mapping[str, Any]) -> str | None:
    """The run that made the object, or None when the suite did not make it."""
    if not is_owned(obj):
        return None
    return str(((obj.get("metadata") or {}).get("labels") or {}).get(RUN_LABEL, ""))


def managers(obj: Mapping[str, Any]) -> list[str]:
    """The field managers that wrote the object: who else has a stake in it."""
    entries = (obj.get("metadata") or {}).get("managedFields") or []
    return sorted({str(e.get("manager")) for e in entries if isinstance(e, dict)})
