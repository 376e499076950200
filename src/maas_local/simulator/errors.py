"""The simulator's refusals: OpenAI-style JSON errors, and the plain-text ones it also sends."""

from __future__ import annotations

from typing import Any, Literal

# The simulator names the error type after the status, as the OpenAI Python client does; 400 and
# 404 are the only statuses it refuses requests with when no failures are injected, 500 is what a
# fault of the catalogue answers.
_TYPES = {400: "BadRequestError", 404: "NotFoundError", 500: "InternalServerError"}


class ApiError(Exception):
    """A request the simulator refuses; carries the status so handlers need no mapping."""

    def __init__(self, message: str, code: Literal[400, 404, 500] = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def body(self) -> dict[str, Any]:
        """The JSON body, ``{"error": {message, type, param, code}}``."""
        return {
            "error": {
                "message": self.message,
                "type": _TYPES[self.code],
                "param": None,
                "code": self.code,
            }
        }


class PlainError(Exception):
    """A request v0.5.1 refuses through fasthttp's ``ctx.Error``: the status and a text/plain
    body, no JSON (undecodable bodies and invalid tools, tool calls it cannot make)."""

    def __init__(self, text: str, code: int = 400) -> None:
        super().__init__(text)
        self.text = text
        self.code = code
