"""Who the tests act as: the shapes of the fixtures that make fresh users and their tokens.

Every call makes a new user, so each test counts against limits of its own; the fixtures that
implement these live in `tests/fixtures/identities.py`.
"""

from __future__ import annotations

from collections.abc import Callable

from maas_e2e.auth import Bearer
from maas_e2e.quota import LimitedUser
from maas_e2e.targets.base import Identity

NewIdentity = Callable[[str], Identity]
"""A brand-new cluster identity of a tier."""
IssueToken = Callable[..., Bearer]
"""`issue_token(identity, expiration="1h")`: a MaaS token for the identity, asserting the 201."""
TokenFor = Callable[[str], Bearer]
"""A MaaS token of a brand-new user of a tier."""
LimitedUserOf = Callable[[str], LimitedUser]
"""A brand-new user of a rate-limited tier with its quota (skips for a tier without a limit)."""
