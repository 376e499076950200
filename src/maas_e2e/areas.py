"""The suite's areas: one pytest marker each, one promise family of the contract each."""

from __future__ import annotations

AREAS: dict[str, str] = {
    "tokens": "Token issuance",
    "claims": "JWT claims",
    "revocation": "Revocation",
    "discovery": "Model discovery",
    "inference": "Inference",
    "rejections": "Rejections",
    "rate_limits": "Request rate limits",
    "token_limits": "Token rate limits",
    "tiers": "Tier lookup",
}
"""Marker name -> the area's title (as reports show it)."""
