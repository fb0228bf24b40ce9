"""The dashboard's alert list in a storm of one alert, in headless Chromium: raised again, the
alert takes its earlier line's place with its count, live as on load."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from orderdesk.api import AlertFeed, create_app, serve_api
from tests.api.fakes import FakeDesk
from tests.api.test_alert_storm import CLOSE, LOST
from tests.browser.conftest import TOKEN
from tests.browser.test_dashboard_columns import signed_in


@pytest.fixture
async def served() -> AsyncIterator[tuple[str, AlertFeed]]:
    desk, feed = FakeDesk(), AlertFeed()
    server = await serve_api(create_app(desk, token=TOKEN, alerts=feed), "127.0.0.1", 0)
    try:
        yield server.url, feed
    finally:
        desk.close()
        await server.stop()


@pytest.mark.browser
async def test_a_repeated_alert_is_one_line_with_its_count(
    served: tuple[str, AlertFeed], browser: Browser
) -> None:
    url, feed = served
    await feed.notify(CLOSE)
    await feed.notify(LOST)
    await feed.notify(LOST)
    errors: list[str] = []
    page = await signed_in(browser, url, errors)
    lines = page.get_by_test_id("alerts").locator("li")
    await expect(lines).to_have_count(2)
    await expect(lines.first).to_contain_text("Broker stream lost")
    await expect(lines.first).to_contain_text("×2")

    await feed.notify(LOST)  # live, over the stream
    await expect(lines.first).to_contain_text("×3")
    await expect(lines).to_have_count(2)
    await expect(lines.nth(1)).to_contain_text("Trading day closed")
    assert errors == []
