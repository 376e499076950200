"""JSON Schemas of the custom resources the manifests use, for offline validation.

Written from the fields each API version defines (Gateway API v1; Kuadrant kuadrant.io/v1,
kuadrant.io/v1alpha1 and extensions.kuadrant.io/v1alpha1; KServe serving.kserve.io/v1alpha1):
required fields, types, enums, patterns, and the closed field sets where a typo would otherwise
be silently pruned by the API server. Fields these manifests never use are accepted as objects
so the schemas stay small; `spec.template` of an LLMInferenceService is a PodSpec and is checked
against the Kubernetes schema separately.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
GROUP = r"^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
KIND = r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"
WINDOW = r"^([0-9]{1,5}(h|m|s|ms)){1,4}$"
CONTROLLER_NAME = (
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
    r"\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$"
)
PROTOCOL = (
    r"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|[a-z0-9]([-a-z0-9]*[a-z0-9])?"
    r"(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$"
)

STRING: Schema = {"type": "string"}
NONEMPTY: Schema = {"type": "string", "minLength": 1}
OBJECT: Schema = {"type": "object"}


def closed(properties: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    """An object with exactly these fields (unknown ones are errors, as in a strict apply)."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


def array(items: Schema, **limits: int) -> Schema:
    return {"type": "array", "items": items, **limits}


def string_map(values: Schema = STRING) -> Schema:
    return {"type": "object", "additionalProperties": values}


def envelope(api_version: str, kind: str, spec: Schema) -> Schema:
    return {
        "type": "object",
        "properties": {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": {
                "type": "object",
                "properties": {"name": {"type": "string", "pattern": DNS_SUBDOMAIN}},
                "required": ["name"],
            },
            "spec": spec,
        },
        "required": ["apiVersion", "kind", "metadata", "spec"],
    }


# --- Kuadrant ------------------------------------------------------------------------------

TARGET_REF = closed(
    {
        "group": {
            "type": "string",
            "maxLength": 253,
            "pattern": GROUP,
            "const": "gateway.networking.k8s.io",
        },
        "kind": {"type": "string", "pattern": KIND, "enum": ["Gateway", "HTTPRoute"]},
        "name": {"type": "string", "minLength": 1, "maxLength": 253},
        "sectionName": {"type": "string", "pattern": DNS_SUBDOMAIN},
    },
    ("group", "kind", "name"),
)
PREDICATES = array(closed({"predicate": NONEMPTY}, ("predicate",)))
LIMIT = closed(
    {
        "counters": array(closed({"expression": NONEMPTY}, ("expression",))),
        "rates": array(
            closed(
                {"limit": {"type": "integer"}, "window": {"type": "string", "pattern": WINDOW}},
                ("limit", "window"),
            )
        ),
        "when": PREDICATES,
    }
)
LIMITS = {"type": "object", "additionalProperties": LIMIT}
MERGEABLE_LIMITS = closed(
    {"limits": LIMITS, "strategy": {"enum": ["atomic", "merge"]}, "when": PREDICATES}
)
RATE_LIMIT_SPEC = closed(
    {
        "targetRef": TARGET_REF,
        "limits": LIMITS,
        "defaults": MERGEABLE_LIMITS,
        "overrides": MERGEABLE_LIMITS,
        "when": PREDICATES,
    },
    ("targetRef",),
)

VALUE_OR_SELECTOR = closed({"value": {}, "selector": STRING, "expression": STRING})
COMMON_RULE = {
    "when": array(OBJECT),
    "cache": closed({"key": VALUE_OR_SELECTOR, "ttl": {"type": "integer", "minimum": 0}}, ("key",)),
    "priority": {"type": "integer"},
    "metrics": {"type": "boolean"},
}
AUTHENTICATION_METHODS = (
    "apiKey", "jwt", "oauth2Introspection", "kubernetesTokenReview", "x509", "plain", "anonymous",
)  # fmt: skip
AUTHENTICATION = {
    **closed(
        {
            **COMMON_RULE,
            "credentials": OBJECT,
            "defaults": string_map(VALUE_OR_SELECTOR),
            "overrides": string_map(VALUE_OR_SELECTOR),
            "kubernetesTokenReview": closed({"audiences": array(NONEMPTY, minItems=1)}),
            **{m: OBJECT for m in AUTHENTICATION_METHODS if m != "kubernetesTokenReview"},
        }
    ),
    # "Use one of": exactly one method per rule.
    "oneOf": [{"required": [m]} for m in AUTHENTICATION_METHODS],
}
METADATA = {
    **closed(
        {
            **COMMON_RULE,
            "http": closed(
                {
                    "url": NONEMPTY,
                    "urlExpression": STRING,
                    "method": {
                        "enum": [
                            "GET",
                            "POST",
                            "PUT",
                            "PATCH",
                            "DELETE",
                            "HEAD",
                            "OPTIONS",
                            "CONNECT",
                            "TRACE",
                        ]
                    },
                    "contentType": {
                        "enum": ["application/x-www-form-urlencoded", "application/json"]
                    },
                    "body": VALUE_OR_SELECTOR,
                    "bodyParameters": OBJECT,
                    "headers": string_map(VALUE_OR_SELECTOR),
                    "credentials": OBJECT,
                    "sharedSecretRef": OBJECT,
                    "oauth2": OBJECT,
                }
            ),
            "userInfo": OBJECT,
            "uma": OBJECT,
        }
    ),
    "oneOf": [{"required": [m]} for m in ("http", "userInfo", "uma")],
}
SAR = closed(
    {
        "user": VALUE_OR_SELECTOR,
        "authorizationGroups": VALUE_OR_SELECTOR,
        "resourceAttributes": closed(
            {
                f: VALUE_OR_SELECTOR
                for f in ("namespace", "group", "resource", "name", "subresource", "verb")
            }
        ),
    }
)
AUTHORIZATION = {
    **closed(
        {
            **COMMON_RULE,
            "kubernetesSubjectAccessReview": SAR,
            "patternMatching": OBJECT,
            "opa": OBJECT,
            "spicedb": OBJECT,
        }
    ),
    "oneOf": [
        {"required": [m]}
        for m in ("kubernetesSubjectAccessReview", "patternMatching", "opa", "spicedb")
    ],
}
SUCCESS_ITEM = closed(
    {
        **COMMON_RULE,
        "key": STRING,
        "json": closed({"properties": string_map(VALUE_OR_SELECTOR)}),
        "plain": VALUE_OR_SELECTOR,
        "wristband": OBJECT,
    }
)
AUTH_SCHEME = closed(
    {
        "authentication": {"type": "object", "additionalProperties": AUTHENTICATION},
        "metadata": {"type": "object", "additionalProperties": METADATA},
        "authorization": {"type": "object", "additionalProperties": AUTHORIZATION},
        "response": closed(
            {
                "unauthenticated": OBJECT,
                "unauthorized": OBJECT,
                "success": closed(
                    {"headers": string_map(SUCCESS_ITEM), "filters": string_map(SUCCESS_ITEM)}
                ),
            }
        ),
        "callbacks": OBJECT,
    }
)
AUTH_COMMON = closed(
    {
        "rules": AUTH_SCHEME,
        "patterns": OBJECT,
        "when": array(OBJECT),
        "strategy": {"enum": ["atomic", "merge"]},
    }
)
AUTH_POLICY_SPEC = closed(
    {
        "targetRef": TARGET_REF,
        "rules": AUTH_SCHEME,
        "patterns": OBJECT,
        "when": array(OBJECT),
        "defaults": AUTH_COMMON,
        "overrides": AUTH_COMMON,
    },
    ("targetRef",),
)
TELEMETRY_SPEC = closed(
    {
        "targetRef": {
            **TARGET_REF,
            "properties": {**TARGET_REF["properties"], "kind": {"const": "Gateway"}},
        },
        "metrics": closed(
            {"default": closed({"labels": {**string_map(), "minProperties": 1}}, ("labels",))},
            ("default",),
        ),
        "logging": OBJECT,
    },
    ("targetRef",),
)

# --- Gateway API v1 ------------------------------------------------------------------------

GATEWAY_CLASS_SPEC = closed(
    {
        "controllerName": {"type": "string", "maxLength": 253, "pattern": CONTROLLER_NAME},
        "parametersRef": OBJECT,
        "description": {"type": "string", "maxLength": 64},
    },
    ("controllerName",),
)
LISTENER = closed(
    {
        "name": {"type": "string", "minLength": 1, "maxLength": 253, "pattern": DNS_SUBDOMAIN},
        "hostname": STRING,
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "protocol": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": PROTOCOL},
        "tls": OBJECT,
        "allowedRoutes": closed(
            {
                "namespaces": closed(
                    {"from": {"enum": ["All", "Selector", "Same", "None"]}, "selector": OBJECT}
                ),
                "kinds": array(OBJECT, maxItems=8),
            }
        ),
    },
    ("name", "port", "protocol"),
)
GATEWAY_SPEC = closed(
    {
        "gatewayClassName": {"type": "string", "minLength": 1, "maxLength": 253},
        "listeners": array(LISTENER, minItems=1, maxItems=64),
        "addresses": array(OBJECT, maxItems=16),
        "infrastructure": OBJECT,
        "backendTLS": OBJECT,
    },
    ("gatewayClassName", "listeners"),
)
PARENT_REF = closed(
    {
        "group": {"type": "string", "pattern": GROUP},
        "kind": {"type": "string", "pattern": KIND},
        "namespace": {"type": "string", "minLength": 1, "maxLength": 63},
        "name": {"type": "string", "minLength": 1, "maxLength": 253},
        "sectionName": {"type": "string", "pattern": DNS_SUBDOMAIN},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
    },
    ("name",),
)
PATH_MATCH = closed(
    {
        "type": {"enum": ["Exact", "PathPrefix", "RegularExpression"]},
        "value": {"type": "string", "maxLength": 1024},
    }
)
URL_REWRITE = closed(
    {
        "hostname": STRING,
        "path": closed(
            {
                "type": {"enum": ["ReplaceFullPath", "ReplacePrefixMatch"]},
                "replaceFullPath": {"type": "string", "maxLength": 1024},
                "replacePrefixMatch": {"type": "string", "maxLength": 1024},
            },
            ("type",),
        ),
    }
)
FILTER_TYPES = [
    "RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect",
    "URLRewrite", "ExtensionRef",
]  # fmt: skip
FILTER = closed(
    {
        "type": {"enum": FILTER_TYPES},
        "requestHeaderModifier": OBJECT,
        "responseHeaderModifier": OBJECT,
        "requestMirror": OBJECT,
        "requestRedirect": OBJECT,
        "urlRewrite": URL_REWRITE,
        "extensionRef": OBJECT,
    },
    ("type",),
)
BACKEND_REF = closed(
    {
        "group": {"type": "string", "pattern": GROUP},
        "kind": {"type": "string", "pattern": KIND},
        "name": {"type": "string", "minLength": 1, "maxLength": 253},
        "namespace": {"type": "string", "minLength": 1, "maxLength": 63},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "weight": {"type": "integer", "minimum": 0, "maximum": 1000000},
        "filters": array(FILTER, maxItems=16),
    },
    ("name",),
)
HTTP_ROUTE_SPEC = closed(
    {
        "parentRefs": array(PARENT_REF, maxItems=32),
        "hostnames": array(STRING, maxItems=16),
        "rules": array(
            closed(
                {
                    "name": STRING,
                    "matches": array(
                        closed(
                            {
                                "path": PATH_MATCH,
                                "headers": array(OBJECT),
                                "queryParams": array(OBJECT),
                                "method": {
                                    "enum": [
                                        "GET",
                                        "HEAD",
                                        "POST",
                                        "PUT",
                                        "DELETE",
                                        "CONNECT",
                                        "OPTIONS",
                                        "TRACE",
                                        "PATCH",
                                    ]
                                },
                            }
                        ),
                        maxItems=64,
                    ),
                    "filters": array(FILTER, maxItems=16),
                    "backendRefs": array(BACKEND_REF, maxItems=16),
                    "timeouts": OBJECT,
                    "retry": OBJECT,
                    "sessionPersistence": OBJECT,
                }
            ),
            maxItems=16,
        ),
    }
)

# --- KServe --------------------------------------------------------------------------------

OBJECT_REF = closed({"name": NONEMPTY, "namespace": STRING, "sectionName": STRING}, ("name",))
LLM_SPEC = {
    "type": "object",
    "properties": {
        "model": closed(
            {
                "uri": {"type": "string", "pattern": r"^[a-z][a-z0-9+.-]*://"},
                "name": NONEMPTY,
                "criticality": {"enum": ["Critical", "Standard", "Sheddable"]},
                "lora": OBJECT,
            },
            ("uri",),
        ),
        "replicas": {"type": "integer", "minimum": 0},
        "router": closed(
            {
                "route": closed({"http": closed({"refs": array(OBJECT), "spec": OBJECT})}),
                "gateway": closed({"refs": array(OBJECT_REF)}),
                "ingress": closed({"refs": array(OBJECT)}),
                "scheduler": OBJECT,
            }
        ),
        "template": OBJECT,
        "worker": OBJECT,
        "prefill": OBJECT,
        "parallelism": OBJECT,
        "labels": string_map(),
        "annotations": string_map(),
        "baseRefs": array(closed({"name": NONEMPTY}, ("name",))),
    },
    "required": ["model"],
}

SCHEMAS: dict[tuple[str, str], Schema] = {
    ("gateway.networking.k8s.io/v1", "GatewayClass"): GATEWAY_CLASS_SPEC,
    ("gateway.networking.k8s.io/v1", "Gateway"): GATEWAY_SPEC,
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): HTTP_ROUTE_SPEC,
    ("kuadrant.io/v1", "AuthPolicy"): AUTH_POLICY_SPEC,
    ("kuadrant.io/v1", "RateLimitPolicy"): RATE_LIMIT_SPEC,
    ("kuadrant.io/v1alpha1", "TokenRateLimitPolicy"): RATE_LIMIT_SPEC,
    ("extensions.kuadrant.io/v1alpha1", "TelemetryPolicy"): TELEMETRY_SPEC,
    ("serving.kserve.io/v1alpha1", "LLMInferenceService"): LLM_SPEC,
}


def schema_for(api_version: str, kind: str) -> Schema | None:
    spec = SCHEMAS.get((api_version, kind))
    return None if spec is None else envelope(api_version, kind, spec)
