"""Bearer-token enforcement: every data route refuses a missing or wrong token with 401."""

from __future__ import annotations

import re

import pytest

from orderdesk.api import create_app
from orderdesk.api.auth import BearerAuth
from tests.api.conftest import TOKEN, Api
from tests.api.fakes import FakeDesk


def operations() -> list[tuple[str, str]]:
    """Every (method, path) the published schema declares, with path parameters filled in."""
    schema = create_app(FakeDesk(), token=TOKEN).openapi()
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "x1", path))
        for path, item in schema["paths"].items()
        for method in item
    ]


@pytest.mark.parametrize(("method", "path"), operations())
async def test_every_operation_needs_the_token(api: Api, method: str, path: str) -> None:
    """Without a token, and with a wrong one, each operation answers 401 and names Bearer."""
    async with api.anonymous.request(method, path, json={}) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = {"Authorization": f"Bearer {TOKEN}x"}
    async with api.anonymous.request(method, path, json={}, headers=wrong) as response:
        assert response.status == 401


async def test_malformed_body_without_token_is_401_not_422(api: Api) -> None:
    """Authentication is checked before the body is parsed, so a bad body reveals nothing."""
    async with api.anonymous.post(
        "/api/signals", data=b"{not json", headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 401


async def test_unknown_path_without_token_is_401(api: Api) -> None:
    """Even the shape of the route table is hidden from callers without the token."""
    async with api.anonymous.get("/api/nothing-here") as response:
        assert response.status == 401


async def test_the_page_is_public_and_holds_no_token(api: Api) -> None:
    """The dashboard page and its assets load without a token and never embed it."""
    for path in ("/", "/static/app.js", "/static/app.css"):
        async with api.anonymous.get(path) as response:
            assert response.status == 200, path
            assert TOKEN not in await response.text()


async def test_the_schema_needs_the_token(api: Api) -> None:
    """The schema is every route's shape, which a caller without the token is not told (it was
    served to anyone)."""
    async with api.anonymous.get("/openapi.json") as response:
        assert response.status == 401
    async with api.client.get("/openapi.json") as response:
        assert response.status == 200
        assert "/api/signals" in (await response.json())["paths"]


async def test_interactive_docs_are_off(api: Api) -> None:
    """Swagger UI would load scripts from a CDN, so the docs pages are not served."""
    async with api.client.get("/docs") as response:
        assert response.status == 404


def test_middleware_repr_hides_the_token() -> None:
    """The middleware holding the token never shows it."""
    middleware = BearerAuth(lambda *_: None, token=TOKEN)  # type: ignore[arg-type]
    assert TOKEN not in repr(middleware)


def test_a_short_token_is_refused() -> None:
    """A guessable token is a configuration bug, refused at start-up."""
    with pytest.raises(ValueError, match="too short") as exc_info:
        BearerAuth(lambda *_: None, token="abc")  # type: ignore[arg-type]
    assert "abc" not in str(exc_info.value)


@pytest.mark.parametrize("scheme", ["bearer", "BEARER"])
async def test_the_schemes_case_is_free(api: Api, scheme: str) -> None:
    """RFC 9110 makes the scheme case-insensitive; `bearer <token>` was answered 401, on the
    app's routes and on the signal path in front of them alike."""
    headers = {"Authorization": f"{scheme} {TOKEN}"}
    async with api.anonymous.get("/api/health", headers=headers) as response:
        assert response.status == 200
    signal = {
        "instrument": "NSE:INFY",
        "side": "BUY",
        "quantity": 1,
        "order_type": "MARKET",
        "product": "CNC",
    }
    async with api.anonymous.post("/api/signals", json=signal, headers=headers) as response:
        assert response.status == 201, await response.text()


@pytest.mark.parametrize("header", ["Basic {t}", "Bearer  {t}", "Bearer{t}", "{t}", "Bearer"])
async def test_another_scheme_or_a_mangled_header_is_refused(api: Api, header: str) -> None:
    headers = {"Authorization": header.format(t=TOKEN)}
    async with api.anonymous.get("/api/health", headers=headers) as response:
        assert response.status == 401
