"""Bearer-token authentication for every data route, checked before routing.

It is ASGI middleware rather than a FastAPI dependency on purpose: FastAPI parses a request's
body before it runs dependencies, so malformed JSON sent without a token would get a 422 that
reveals the route's shape. Here every request outside the public paths is refused with a 401
before anything else looks at it. The token is compared in constant time and never logged; the
object holding it does not show it in its repr.
"""

from __future__ import annotations

import json
import secrets

from fastapi.security import HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

PUBLIC_PATHS = frozenset({"/", "/favicon.ico"})
"""The dashboard's page: it holds no data. The schema (``/openapi.json``) is not among them: it
is every route's shape, which the check before routing keeps from callers without the token."""
PUBLIC_PREFIXES = ("/static/", "/webhooks/")
"""The dashboard's assets; ``/webhooks/`` handlers verify their callers themselves (see
:mod:`orderdesk.api.webhooks`)."""

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="The API token: `orderdesk config show-token`.",
)
"""Declared on the routers so the OpenAPI schema documents the security requirement."""


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class BearerToken:
    """The check itself: does a request carry ``Authorization: Bearer <token>``?

    Shared by :class:`BearerAuth` and the signal fast path in front of the app
    (:mod:`orderdesk.api.signal_path`), so both admit exactly the same requests.
    """

    def __init__(self, token: str) -> None:
        if len(token) < 16:
            raise ValueError("the API token is too short to be a secret")
        self._expected = token.encode()

    def __repr__(self) -> str:
        return "BearerToken(<redacted>)"

    def admits(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                # The scheme's case is free (RFC 9110 §11.1): `bearer` is Bearer.
                scheme, _, credentials = value.partition(b" ")
                return scheme.lower() == b"bearer" and secrets.compare_digest(
                    credentials, self._expected
                )
        return False


class BearerAuth:
    """ASGI middleware: a request to a non-public path needs ``Authorization: Bearer <token>``."""

    def __init__(self, app: ASGIApp, *, token: str | BearerToken) -> None:
        self._app = app
        self._token = token if isinstance(token, BearerToken) else BearerToken(token)

    def __repr__(self) -> str:
        return "BearerAuth(token=<redacted>)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["path"]) or self._token.admits(scope):
            await self._app(scope, receive, send)
            return
        await _unauthorised(send)


async def _unauthorised(send: Send) -> None:
    body = json.dumps(
        {"error": "unauthorised", "message": "a valid bearer token is required", "fields": []}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b'Bearer realm="orderdesk"'),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


__all__ = ["PUBLIC_PATHS", "BearerAuth", "BearerToken", "bearer_scheme", "is_public"]
