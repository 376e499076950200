"""The identity plane: the slice of kube-apiserver that MaaS relies on.

Cluster users (`oc whoami -t`), namespaces and service accounts, TokenRequest/TokenReview,
SubjectAccessReview against the manifests' RBAC, OIDC discovery with a JWKS, and the
LLMInferenceService objects with the status KServe would give them.
"""
