"""The health panel's stream row past the session's end: Kite's socket stays open after its token
dies at 06:00 IST but carries nothing, and the row said "Live updates connected." (ok) beside
a Session row saying the session had expired."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import Browser, Route, expect

from tests.browser.conftest import TOKEN, Stack


@pytest.mark.browser
async def test_an_open_stream_without_a_session_reads_idle(stack: Stack, browser: Browser) -> None:
    """Connected with a valid session the row is ok; with the session expired and the stream
    still CONNECTED it is bad, says idle and names the login."""
    page = await browser.new_page()
    await page.goto(stack.api.url)
    await page.get_by_test_id("token-input").fill(TOKEN)
    await page.get_by_test_id("token-submit").click()
    stream = page.locator('#health [data-check="Stream"]')
    await expect(stream).to_have_attribute("data-level", "ok", timeout=10_000)
    await expect(stream).to_contain_text("Live updates connected.")

    async def expired(route: Route) -> None:
        answer = await route.fetch()
        body = await answer.json()
        body["session"].update(state="expired", usable=False, reason="the token has expired")
        assert body["broker_connection"] == "CONNECTED"
        await route.fulfill(response=answer, body=json.dumps(body))

    await page.route("**/api/health/detail", expired)
    await page.evaluate(
        "async () => (await import('/static/core.js')).emit('event', {type: 'SessionLost'})"
    )
    await expect(stream).to_have_attribute("data-level", "bad")
    await expect(stream).to_contain_text("Live updates idle: the broker session has ended")
    await expect(stream).to_contain_text("orderdesk login")
    await expect(stream).not_to_contain_text("connected")
    # The header's pill says the same: it read a green "broker: CONNECTED".
    await expect(page.locator("#broker")).to_have_text("broker: idle")
    await expect(page.locator("#broker")).to_have_class("pill signed-in-only bad")
