"""Offline validation of `manifests/`: what a cluster would refuse is caught before any cluster.

Each overlay renders with `kubectl kustomize`; every built-in object validates against the
Kubernetes API schemas (kubernetes-validate, strict: unknown fields are errors); every custom
resource against the fields its API version defines (crd_schemas), plus the CEL rules of those
CRDs that these manifests could break.
"""

from __future__ import annotations

import copy
import os
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from crd_schemas import SCHEMAS, schema_for

from maas_e2e.manifests import load_manifests, object_ref, render_overlay

MANIFESTS = Path(__file__).resolve().parents[3] / "manifests"
KUBERNETES_VERSION = "1.32"  # OpenShift 4.19, the seed's minimum


def _kustomizations(kind: str) -> list[Path]:
    found = []
    for path in sorted(MANIFESTS.rglob("kustomization.yaml")):
        if yaml.safe_load(path.read_text()).get("kind", "Kustomization") == kind:
            found.append(path.parent)
    return found


OVERLAYS = _kustomizations("Kustomization")
COMPONENTS = _kustomizations("Component")


def _name(path: Path) -> str:
    return str(path.relative_to(MANIFESTS))


@cache
def _objects() -> list[tuple[str, dict[str, Any]]]:
    """(overlay, object) for every object any overlay renders, each object once."""
    seen, found = set(), []
    for overlay in OVERLAYS:
        for doc in load_manifests(overlay).documents:
            key = (doc["apiVersion"], object_ref(doc), yaml.safe_dump(doc))
            if key not in seen:
                seen.add(key)
                found.append((_name(overlay), doc))
    return found


def _of(builtin: bool) -> list:
    return [
        pytest.param(doc, id=f"{overlay}:{object_ref(doc)}")
        for overlay, doc in _objects()
        if ((doc["apiVersion"], doc["kind"]) not in SCHEMAS) == builtin
    ]


@pytest.mark.parametrize("overlay", OVERLAYS, ids=_name)
def test_overlay_renders_with_kubectl_kustomize(overlay: Path) -> None:
    rendered = [d for d in yaml.safe_load_all(render_overlay(overlay)) if d]
    assert rendered, f"{_name(overlay)} rendered no objects"


@pytest.mark.parametrize("component", COMPONENTS, ids=_name)
def test_component_renders_on_top_of_the_stack(component: Path, tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                # kustomize takes only relative paths
                "resources": [os.path.relpath(MANIFESTS / "stack", tmp_path)],
                "components": [os.path.relpath(component, tmp_path)],
            }
        )
    )
    rendered = [d for d in yaml.safe_load_all(render_overlay(tmp_path)) if d]
    stack = load_manifests(MANIFESTS / "stack").documents
    assert len(rendered) > len(stack), f"{_name(component)} added nothing to the stack"


@pytest.mark.parametrize("doc", _of(builtin=True))
def test_builtin_object_validates_against_the_kubernetes_schema(doc: dict[str, Any]) -> None:
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path)
        pytest.fail(f"{object_ref(doc)}: {path}: {exc.message}")
    except kubernetes_validate.SchemaNotFoundError as exc:
        pytest.fail(f"{object_ref(doc)}: {exc.message}")


@pytest.mark.parametrize("doc", _of(builtin=False))
def test_custom_resource_has_the_fields_and_types_of_its_api_version(doc: dict[str, Any]) -> None:
    schema = schema_for(doc["apiVersion"], doc["kind"])
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(doc), key=lambda e: list(e.path)
    )
    messages = [f"{'.'.join(str(p) for p in e.path) or '<root>'}: {e.message}" for e in errors]
    assert not messages, f"{object_ref(doc)}:\n  " + "\n  ".join(messages)


def _kinds(kind: str) -> list:
    return [pytest.param(d, id=object_ref(d)) for _, d in _objects() if d["kind"] == kind]


@pytest.mark.parametrize("doc", _kinds("LLMInferenceService"))
def test_model_pod_template_validates_as_a_kubernetes_pod_spec(doc: dict[str, Any]) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "x"},
        "spec": doc["spec"]["template"],
    }
    try:
        kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path)
        pytest.fail(f"{object_ref(doc)}: spec.template.{path.removeprefix('spec.')}: {exc.message}")


@pytest.mark.parametrize("doc", _kinds("HTTPRoute"))
def test_route_prefix_rewrite_has_exactly_one_path_prefix_match(doc: dict[str, Any]) -> None:
    """Gateway API's CEL rule: a ReplacePrefixMatch rewrite needs one PathPrefix match."""
    for index, rule in enumerate(doc["spec"].get("rules") or []):
        rewrites = [
            f for f in rule.get("filters") or []
            if f.get("type") == "URLRewrite"
            and (f.get("urlRewrite", {}).get("path") or {}).get("type") == "ReplacePrefixMatch"
        ]  # fmt: skip
        if not rewrites:
            continue
        matches = rule.get("matches") or []
        path_types = [(m.get("path") or {}).get("type") for m in matches]
        assert path_types == ["PathPrefix"], f"{object_ref(doc)} rules[{index}]: {path_types}"
        assert "replacePrefixMatch" in rewrites[0]["urlRewrite"]["path"], rewrites[0]


@pytest.mark.parametrize("doc", _kinds("HTTPRoute"))
def test_route_service_backends_name_a_port(doc: dict[str, Any]) -> None:
    """Gateway API's CEL rule: a backendRef to a Service must have a port."""
    for index, rule in enumerate(doc["spec"].get("rules") or []):
        for ref in rule.get("backendRefs") or []:
            if ref.get("kind", "Service") == "Service" and ref.get("group", "") == "":
                assert "port" in ref, f"{object_ref(doc)} rules[{index}]: {ref}"


@pytest.mark.parametrize(
    "doc", _kinds("AuthPolicy") + _kinds("RateLimitPolicy") + _kinds("TokenRateLimitPolicy")
)
def test_policy_uses_one_of_implicit_defaults_defaults_or_overrides(doc: dict[str, Any]) -> None:
    """Kuadrant's CEL rules: implicit rules/limits, `defaults` and `overrides` exclude each
    other, and a rate-limit policy defines at least one limit."""
    spec = doc["spec"]
    implicit = "rules" if doc["kind"] == "AuthPolicy" else "limits"
    used = [key for key in (implicit, "defaults", "overrides") if key in spec]
    assert len(used) <= 1, f"{object_ref(doc)} mixes {used}"
    if doc["kind"] != "AuthPolicy":
        section = spec.get("limits") or (spec.get(used[0], {}) if used else {}).get("limits")
        assert section, f"{object_ref(doc)} defines no limit"


def _find(kind: str, name: str) -> dict[str, Any]:
    return copy.deepcopy(
        next(d for _, d in _objects() if (d["kind"], d["metadata"]["name"]) == (kind, name))
    )


def _broken_rate(doc: dict[str, Any]) -> None:
    doc["spec"]["limits"]["free"]["rates"][0]["window"] = "2 minutes"


def _typo_rates(doc: dict[str, Any]) -> None:
    limit = doc["spec"]["limits"]["free-user-tokens"]
    limit["rate"] = limit.pop("rates")


def _service_target(doc: dict[str, Any]) -> None:
    doc["spec"]["targetRef"]["kind"] = "Service"


def _two_methods(doc: dict[str, Any]) -> None:
    doc["spec"]["rules"]["authentication"]["service-accounts"]["anonymous"] = {}


def _port_zero(doc: dict[str, Any]) -> None:
    doc["spec"]["listeners"][0]["port"] = 0


def _bad_filter(doc: dict[str, Any]) -> None:
    doc["spec"]["rules"][1]["filters"][0]["type"] = "URLRewriter"


def _no_model_uri(doc: dict[str, Any]) -> None:
    del doc["spec"]["model"]["uri"]


@pytest.mark.parametrize(
    ("kind", "name", "breakage", "where"),
    [
        ("RateLimitPolicy", "gateway-rate-limits", _broken_rate, "spec.limits.free.rates.0.window"),
        (
            "TokenRateLimitPolicy",
            "gateway-token-rate-limits",
            _typo_rates,
            "spec.limits.free-user-tokens",
        ),
        ("AuthPolicy", "gateway-auth-policy", _service_target, "spec.targetRef.kind"),
        (
            "AuthPolicy",
            "gateway-auth-policy",
            _two_methods,
            "spec.rules.authentication.service-accounts",
        ),
        ("Gateway", "maas-default-gateway", _port_zero, "spec.listeners.0.port"),
        ("HTTPRoute", "maas-api-route", _bad_filter, "spec.rules.1.filters.0.type"),
        ("LLMInferenceService", "premium-simulated", _no_model_uri, "spec.model"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else None,
)
def test_custom_resource_schemas_refuse_what_the_api_server_would(
    kind: str, name: str, breakage: Any, where: str
) -> None:
    doc = _find(kind, name)
    breakage(doc)
    errors = jsonschema.Draft202012Validator(schema_for(doc["apiVersion"], kind)).iter_errors(doc)
    paths = {".".join(str(p) for p in e.path) for e in errors}
    assert where in paths, f"expected an error at {where}, got {paths or 'none'}"


def test_kubernetes_schema_refuses_an_unknown_field() -> None:
    doc = _find("Deployment", "maas-api")
    doc["spec"]["replica"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
