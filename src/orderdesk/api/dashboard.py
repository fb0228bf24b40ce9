"""The dashboard's page and assets, served from the package (no CDN, works offline).

The page holds no data, so it is served without a token; every data call it makes carries
the token the operator types in. A strict Content-Security-Policy keeps the page from loading
anything from elsewhere, which also proves the "offline" promise in the browser test.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

router = APIRouter(include_in_schema=False)

ASSETS: dict[str, str] = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    # The page's panels, one ES module each (app.js imports them).
    **{
        f"{name}.js": "text/javascript; charset=utf-8"
        for name in (
            "core",
            "orders",
            "entry",
            "positions",
            "approvals",
            "feeds",
            "chart",
            "health",
            "book",
            "days",
        )
    },
    # The P&L chart's library, vendored with its licence (uPlot 1.6.30, MIT).
    "uPlot.iife.min.js": "text/javascript; charset=utf-8",
    "uPlot.min.css": "text/css; charset=utf-8",
    "uPlot.LICENSE": "text/plain; charset=utf-8",
    # GTTs and price alerts (issue 13): a panel of its own until the dashboard is rebuilt.
    "triggers.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
"""The only files served: a fixed list, so no path from a request ever reaches the file system."""

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@cache
def _read(name: str) -> bytes:
    return resources.files("orderdesk.api").joinpath("static", name).read_bytes()


def _asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(status_code=404)
    return Response(_read(name), media_type=media_type, headers=SECURITY_HEADERS)


@router.get("/")
async def index() -> Response:
    return _asset("index.html")


@router.get("/favicon.ico")
async def favicon() -> Response:
    return _asset("favicon.svg")


@router.get("/static/{name}")
async def static(name: str) -> Response:
    return _asset(name)


__all__ = ["ASSETS", "router"]
