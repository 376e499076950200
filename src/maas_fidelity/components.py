"""The components the harness compares, and what each comparison sets side by side."""

from __future__ import annotations

IDENTITY = "identity"
MAAS_API = "maas-api"
MAAS_API_UPSTREAM = "maas-api-upstream"
SIMULATOR = "simulator"
ALL = (IDENTITY, MAAS_API, MAAS_API_UPSTREAM, SIMULATOR)
NEED_CLUSTER = (IDENTITY, MAAS_API, MAAS_API_UPSTREAM)

TITLES = {
    IDENTITY: "TokenRequest, TokenReview, OIDC discovery and JWKS",
    MAAS_API: "maas-api behind the gateway, embedded stack against ours on the real API server",
    MAAS_API_UPSTREAM: "maas-api called directly, embedded against the upstream binary",
    SIMULATOR: "the model server, embedded simulator against llm-d-inference-sim",
}
SIDES = {
    IDENTITY: (
        "the embedded API server (`maas-local up`)",
        "kube-apiserver of `maas-local cluster`",
    ),
    MAAS_API: (
        "maas-api of `maas-local up`, through its gateway",
        "maas-api of `maas-local cluster` (ours, on the real kube-apiserver), through its gateway",
    ),
    MAAS_API_UPSTREAM: (
        "maas-api of `maas-local up`, called directly",
        "upstream maas-api e38c15ed on `maas-local cluster`'s kube-apiserver, called directly",
    ),
    SIMULATOR: ("the simulator of `maas-local up`", "llm-d-inference-sim v0.5.1"),
}

MAAS_API_PIN = "e38c15ed"
SIMULATOR_PIN = "v0.5.1"
GO_PROXY_REFUSAL = "`403 Forbidden ... This module version is not available.`"
NO_BINARY = {
    MAAS_API_UPSTREAM: (
        "no --maas-api-binary given: upstream maas-api e38c15ed is a Go module the Go module "
        f"proxy refuses ({GO_PROXY_REFUSAL}); build maas-api/cmd of "
        "opendatahub-io/models-as-a-service at e38c15ed and pass the binary"
    ),
    SIMULATOR: (
        "no --simulator-binary given: llm-d-inference-sim v0.5.1 is a Go module the Go module "
        f"proxy refuses ({GO_PROXY_REFUSAL}); build cmd/llm-d-inference-sim of "
        "llm-d/llm-d-inference-sim at v0.5.1 and pass the binary"
    ),
}
