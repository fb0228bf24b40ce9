"""Kite's JSON envelopes: ``{"status": "success", "data": …}`` and the error form.

Handlers raise :class:`SimError` (or a subclass) and the error middleware renders it, so every
failure reaches the client with a string ``error_type`` and the right HTTP status — the two things
the official client needs to raise the matching exception class.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

JSON = "application/json"


def _dumps(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"))


def encode_ok(data: Any) -> bytes:
    """The bytes of a success envelope (for replies worth caching)."""
    return _dumps({"status": "success", "data": data}).encode()


def encode_json(value: Any) -> bytes:
    """One value in the envelopes' compact JSON (a piece for :func:`encode_ok_list`)."""
    return _dumps(value).encode()


def encode_ok_list(items: list[bytes]) -> bytes:
    """A success envelope around a list whose items are already encoded with :func:`encode_json`.

    Byte for byte what :func:`encode_ok` gives for the decoded list.
    """
    return b'{"status":"success","data":[' + b",".join(items) + b"]}"


def ok(data: Any, *, status: int = 200) -> web.Response:
    """A success envelope around ``data``."""
    return web.Response(
        text=_dumps({"status": "success", "data": data}), status=status, content_type=JSON
    )


class SimError(Exception):
    """A failure the simulator reports to the client in Kite's error envelope."""

    error_type = "GeneralException"
    http_status = 500

    def __init__(
        self,
        message: str,
        *,
        error_type: str | None = None,
        http_status: int | None = None,
        data: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if error_type is not None:
            self.error_type = error_type
        if http_status is not None:
            self.http_status = http_status
        self.data = data

    def response(self) -> web.Response:
        """Render as Kite's error envelope."""
        body = {
            "status": "error",
            "message": self.message,
            "error_type": self.error_type,
            "data": self.data,
        }
        return web.Response(text=_dumps(body), status=self.http_status, content_type=JSON)


class TokenError(SimError):
    error_type = "TokenException"
    http_status = 403


class InputError(SimError):
    error_type = "InputException"
    http_status = 400


class OrderError(SimError):
    error_type = "OrderException"
    http_status = 400


class MarginError(SimError):
    error_type = "MarginException"
    http_status = 400


class HoldingError(SimError):
    """Kite's ``HoldingException``: a sale of stock the account does not hold (KITE_API.md §2;
    HTTP 400 is the table's likely status, UNVERIFIED)."""

    error_type = "HoldingException"
    http_status = 400


class PermissionDenied(SimError):
    error_type = "PermissionException"
    http_status = 403


class RateLimitError(SimError):
    error_type = "NetworkException"
    http_status = 429

    def __init__(self, message: str = "Too many requests") -> None:
        super().__init__(message)


NOT_SIMULATED_MF = "Mutual funds (/mf/…) are not simulated by orderdesk sim."


class NotFoundError(SimError):
    error_type = "GeneralException"
    http_status = 404


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Turn :class:`SimError` and unknown routes into Kite's error envelope."""
    try:
        response: web.StreamResponse = await handler(request)
    except SimError as exc:
        return exc.response()
    except web.HTTPNotFound:
        if request.path.startswith("/mf/"):
            # Kite's mutual-fund routes are real; "Route not found" read as a client's mistake.
            return NotFoundError(NOT_SIMULATED_MF).response()
        return NotFoundError("Route not found").response()
    except web.HTTPMethodNotAllowed:
        return SimError("Method not allowed", http_status=405).response()
    return response


__all__ = [
    "HoldingError",
    "InputError",
    "MarginError",
    "NotFoundError",
    "OrderError",
    "PermissionDenied",
    "RateLimitError",
    "SimError",
    "TokenError",
    "encode_json",
    "encode_ok",
    "encode_ok_list",
    "error_middleware",
    "ok",
]
