"""``POST /webhooks/<name>``: broker callbacks (Kite's postbacks) into the running desk.

These paths carry no bearer token: the broker cannot know it. Each handler verifies the body
itself (Kite: a SHA-256 checksum over the order id, timestamp and api_secret) and answers 401
to anything forged or malformed, with no side effect. They stay out of the OpenAPI schema
because no client of the API calls them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, Request, Response

from orderdesk.ports.broker import WebhookHandler

PREFIX = "/webhooks/"
MAX_BODY_BYTES = 64 * 1024
"""A Kite postback is about 1 KiB; anything far larger is not one."""


def webhook_router(handlers: Mapping[str, WebhookHandler]) -> APIRouter:
    """Routes for each named handler (none when the broker offers none)."""
    router = APIRouter(include_in_schema=False)
    for name, handler in handlers.items():
        router.add_api_route(
            f"{PREFIX}{name}", _endpoint(handler), methods=["POST"], name=f"webhook_{name}"
        )
    return router


def _endpoint(handler: WebhookHandler) -> Callable[[Request], Awaitable[Response]]:
    async def receive(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return Response("body too large", status_code=413, media_type="text/plain")
        status, text = await handler(body)
        return Response(text, status_code=status, media_type="text/plain")

    return receive


__all__ = ["PREFIX", "webhook_router"]
