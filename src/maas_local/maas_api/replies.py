"""JSON replies that never fail to encode, whatever text from the request they quote."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse


class JSON(JSONResponse):
    """ASCII-escaped JSON: a lone surrogate echoed from the body cannot break the reply."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def error(status: int, message: str) -> JSON:
    """maas-api's usual error body, `{"error": message}`."""
    return JSON({"error": message}, status_code=status)
