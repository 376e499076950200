"""Authorization as the gateway AuthPolicy's `tier-access` rule: a SubjectAccessReview.

May the caller `post` to the LLMInferenceService named by the path? Model URLs are
`/<namespace>/<name>/...`, so the policy takes path segment 1 as the namespace and segment 2 as
the name. A denial (or an API server that cannot answer) is Authorino's 403, whose reason
header says why as Authorino words it.
"""

from __future__ import annotations

import logging

import httpx

from maas_local.gateway import replies
from maas_local.gateway.authn import Identity
from maas_local.gateway.replies import Denied

SUBJECT_ACCESS_REVIEW_PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews"

log = logging.getLogger(__name__)


def resource_attributes(path: str) -> dict[str, str]:
    """What the review asks about; a missing segment is empty, like Authorino's `@extract`."""
    segments = path.split("/")
    return {
        "group": "serving.kserve.io",
        "resource": "llminferenceservices",
        "namespace": segments[1] if len(segments) > 1 else "",
        "name": segments[2] if len(segments) > 2 else "",
        "verb": "post",
    }


async def authorize(
    client: httpx.AsyncClient,
    apiserver_url: str,
    identity: Identity,
    path: str,
    faults: frozenset[str] = frozenset(),
) -> None:
    """Returns when allowed; raises Denied with Authorino's 403 otherwise."""
    reason = await denial(client, apiserver_url, identity, path)
    if reason is None:
        return
    if "rbac-reason-wrong" in faults:
        reason = replies.NOT_AUTHENTICATED  # the regression: the 403 reuses the 401's reason
    raise Denied(replies.forbidden(reason))


async def denial(
    client: httpx.AsyncClient, apiserver_url: str, identity: Identity, path: str
) -> str | None:
    """None when the review allows; otherwise Authorino's reason: "not authorized: " and the
    review's `status.reason` ("unknown reason" when it has none), or why the review failed."""
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": identity.username,
            "groups": list(identity.groups),
            "resourceAttributes": resource_attributes(path),
        },
    }
    try:
        resp = await client.post(apiserver_url + SUBJECT_ACCESS_REVIEW_PATH, json=body)
        resp.raise_for_status()
        status = resp.json()["status"]
        allowed, reason = status.get("allowed") is True, status.get("reason")
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("SubjectAccessReview failed: %s", exc)
        return f"SubjectAccessReview failed: {exc}"
    if allowed:
        return None
    said = reason if isinstance(reason, str) and reason else replies.UNKNOWN_REASON
    return replies.NOT_AUTHORIZED + said
