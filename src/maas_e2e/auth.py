"""A credential as httpx sends it, so no call site writes an Authorization header by hand.

MaaS has two credentials that travel the same way: a cluster identity's token (to mint MaaS
tokens) and a MaaS token (to reach models). Both are `Bearer`s; a request without one is sent
with `auth=None`. The token never shows in a repr, so it cannot leak into a failure report.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

import httpx


@dataclass(frozen=True, eq=False)
class Bearer(httpx.Auth):
    """`Authorization: Bearer <token>` on every request made with it. Two credentials are equal
    only when they are the same object: a token is never compared, so never printed in a diff."""

    token: str = field(repr=False, compare=False)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request
