"""The gateway: Gateway API routing (Envoy), Authorino and Limitador, as one loopback server.

It is the users' single entry point. Where to look:

- ``routing``: which HTTPRoute a path hits and how its prefix is rewritten (Envoy).
- ``authn``: the AuthPolicies' TokenReview and Authorino's 401s.
- ``tiercache``: the ``matchedTier`` metadata (maas-api's tier lookup), cached per user.
- ``authz``: the SubjectAccessReview on the model and Authorino's 403.
- ``ratelimit``: Limitador counting requests (RateLimitPolicy).
- ``tokenlimit`` and ``usage``: Limitador counting tokens (TokenRateLimitPolicy) from responses.
- ``proxy``: forwarding to the backend and streaming its answer back.
- ``replies``: every reply the gateway makes itself instead of the backend.
- ``app``: which policies apply to which route, in Kuadrant's order.
"""
