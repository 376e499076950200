"""Allure labels of a test: for an e2e test, from the area marker it carries.

A reviewer browses the report by what broke (epic, feature) and triages by how bad it is
(severity): a promise that guards access or spending (issuing and revoking tokens, refusing
bad credentials, the 429s of the limits) is critical, the rest normal. The story is the promise
itself, the test function's name in words, so parametrised cases of one promise sit together.
The project's own tests get an epic of their own, apart from the verdicts on the product.
"""

from __future__ import annotations

from typing import Final

from maas_e2e.areas import AREAS

SELF_TESTS: Final = "Self-tests of the suite and the embedded stack"
IDENTITY: Final = "Identity and tokens"
MODELS: Final = "Model access"
LIMITS: Final = "Limits"

EPICS: Final = {
    "tokens": IDENTITY,
    "claims": IDENTITY,
    "revocation": IDENTITY,
    "tiers": IDENTITY,
    "discovery": MODELS,
    "inference": MODELS,
    "rejections": MODELS,
    "rate_limits": LIMITS,
    "token_limits": LIMITS,
}
"""Area marker -> the epic its feature belongs to (the feature is the area's title)."""

CRITICAL: Final = frozenset({"tokens", "revocation", "rejections", "rate_limits", "token_limits"})
"""Areas whose promises guard access or spending; the others are `normal`."""


def story(function_name: str) -> str:
    """`test_expiration_below_10m_is_400` -> `expiration below 10m is 400`."""
    return function_name.removeprefix("test_").replace("_", " ")


def labels_for(marker_names: set[str], module: str, function_name: str) -> list[tuple[str, str]]:
    """(label type, value) pairs of a test: from its area marker for an e2e test, from its
    module for the project's own tests (so they sit apart from the product's verdicts)."""
    areas = sorted(marker_names & AREAS.keys())
    if "e2e" not in marker_names or not areas:
        feature = module.removeprefix("test_").removesuffix(".py").replace("_", " ")
        return [("epic", SELF_TESTS), ("feature", feature), ("story", story(function_name))]
    area = areas[0]
    return [
        ("epic", EPICS.get(area, "Other promises")),
        ("feature", AREAS[area]),
        ("story", story(function_name)),
        ("severity", "critical" if area in CRITICAL else "normal"),
    ]
