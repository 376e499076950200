"""The sides of the two maas-api comparisons, and playing the corpus on each pair.

`maas-api`: the embedded stack's gateway and maas-api against the cluster's (ours, on the real
kube-apiserver). `maas-api-upstream`: the embedded maas-api, called directly, against the real
upstream binary on the cluster.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx

from maas_fidelity import maas_api
from maas_fidelity.cluster import GATEWAY_STATUS_URL, Cluster
from maas_fidelity.components import MAAS_API, MAAS_API_UPSTREAM, TITLES
from maas_fidelity.corpus import Outcome, play
from maas_fidelity.embedded import EmbeddedStack
from maas_fidelity.exchange import Observation
from maas_fidelity.maas_api import Context, review_verdict, service_account_groups, user_name
from maas_fidelity.normalise import Normaliser
from maas_fidelity.upstream import UpstreamMaasApi

GATEWAY_PREFIX = "/maas-api"
TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
HTTP_TIMEOUT_S = 30.0


def _reviewer(api: Callable[[], httpx.Client]) -> Callable[[str, list[str]], Observation]:
    def review(token: str, audiences: list[str]) -> Observation:
        body = {"spec": {"token": token, "audiences": audiences}}
        with api() as client:
            return review_verdict(client.post(TOKEN_REVIEWS, json=body))

    return review


def embedded_context(
    stack: EmbeddedStack, cluster: Cluster, run_id: str, tier: str, *, direct: bool
) -> Context:
    deployment = cluster.deployment

    def new_user(user_tier: str, name: str) -> str:
        namespace = deployment.identity_namespace(user_tier)
        return stack.user_token(user_name(namespace, name), service_account_groups(namespace))

    base = stack.urls["maas_api"] if direct else stack.urls["gateway"]
    return Context(
        client=httpx.Client(base_url=base, timeout=HTTP_TIMEOUT_S),
        prefix="" if direct else GATEWAY_PREFIX,
        new_user=new_user,
        review=_reviewer(stack.apiserver),
        run_id=run_id,
        tier=tier,
    )


def cluster_context(cluster: Cluster, base: str, prefix: str, run_id: str, tier: str) -> Context:
    return Context(
        client=httpx.Client(base_url=base, timeout=HTTP_TIMEOUT_S),
        prefix=prefix,
        new_user=cluster.user_token,
        review=_reviewer(cluster.api),
        run_id=run_id,
        tier=tier,
    )


def _normaliser(run_id: str, urls: dict[str, str]) -> Normaliser:
    """The run's names (maas-api adds a hash of the user name to what it names after it) and
    the side's own URLs."""
    hashed = re.compile(re.escape(run_id) + r"-([a-z]+)-[0-9a-f]{8}\b")
    return Normaliser({run_id: "<run>", **urls}, [(hashed, r"<run>-\1-<hash>")])


def _cluster_urls(cluster: Cluster) -> dict[str, str]:
    return {cluster.gateway_url: "<gateway>", f"{GATEWAY_STATUS_URL}/": "<gateway>/"}


def _a_tier(cluster: Cluster) -> str:
    """The users' tier: any does (every tier may mint tokens); the first by name, so runs
    compare alike."""
    return min(cluster.deployment.identity_namespaces)


def compare_stacks(stack: EmbeddedStack, cluster: Cluster) -> Outcome:
    """The corpus through both stacks' gateways."""
    run_id, tier = maas_api.new_run_id(), _a_tier(cluster)
    left = embedded_context(stack, cluster, run_id, tier, direct=False).prepare()
    right = cluster_context(cluster, cluster.gateway_url, GATEWAY_PREFIX, run_id, tier).prepare()
    with left.client, right.client:
        ids, found = play(
            MAAS_API,
            maas_api.cases(),
            (left, _normaliser(run_id, {stack.urls["gateway"]: "<gateway>"})),
            (right, _normaliser(run_id, _cluster_urls(cluster))),
        )
    return Outcome(
        MAAS_API,
        TITLES[MAAS_API],
        embedded=f"maas-api of {stack.version}, through its gateway",
        real=f"maas-api of {stack.version} on {cluster.version}, through its gateway",
        cases=ids,
        differences=found,
    )


def compare_upstream(stack: EmbeddedStack, cluster: Cluster, upstream: UpstreamMaasApi) -> Outcome:
    """The corpus sent directly to the embedded maas-api and to the upstream binary."""
    run_id, tier = maas_api.new_run_id(), _a_tier(cluster)
    left = embedded_context(stack, cluster, run_id, tier, direct=True).prepare()
    right = cluster_context(cluster, upstream.url, "", run_id, tier).prepare()
    with left.client, right.client:
        ids, found = play(
            MAAS_API_UPSTREAM,
            maas_api.cases(),
            (left, _normaliser(run_id, {stack.urls["gateway"]: "<gateway>"})),
            (right, _normaliser(run_id, _cluster_urls(cluster))),
        )
    return Outcome(
        MAAS_API_UPSTREAM,
        TITLES[MAAS_API_UPSTREAM],
        embedded=f"maas-api of {stack.version}",
        real=upstream.version,
        cases=ids,
        differences=found,
    )
