"""The health panel's order-rate row says Kite refuses only where the broker's own count says
so: a window at Kite's rate reads amber (further requests wait in the desk), and red only when
the day's placements reach Kite's daily cap. It said "Kite refuses more order requests in this
window" while the broker had received at most 10 a second and answered no 429."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import Browser, Route, expect

from tests.browser.conftest import TOKEN, Stack

REFRESH = "async () => (await import('/static/core.js')).emit('event', {type: 'OrderAccepted'})"


def _with_rate(**rate: int) -> Callable[[Route], Awaitable[None]]:
    async def answer(route: Route) -> None:
        reply = await route.fetch()
        body: dict[str, Any] = await reply.json()
        body["order_rate"].update(rate)
        await route.fulfill(response=reply, body=json.dumps(body))

    return answer


@pytest.mark.browser
async def test_the_rate_row_claims_a_refusal_only_at_the_daily_cap(
    stack: Stack, browser: Browser
) -> None:
    page = await browser.new_page()
    await page.goto(stack.api.url)
    await page.get_by_test_id("token-input").fill(TOKEN)
    await page.get_by_test_id("token-submit").click()
    rate = page.locator('#health [data-check="Order rate"]')
    await expect(rate).to_have_attribute("data-level", "ok", timeout=10_000)

    await page.route("**/api/health/detail", _with_rate(second=10, minute=400, day=950))
    await page.evaluate(REFRESH)
    await expect(rate).to_contain_text("10/10 this second · 400/400 this minute")
    await expect(rate).to_have_attribute("data-level", "warn")
    await expect(rate).to_contain_text("wait in the desk until the window passes")
    await expect(rate).not_to_contain_text("refuses")

    await page.unroute("**/api/health/detail")
    await page.route("**/api/health/detail", _with_rate(second=0, minute=3, day=5000))
    await page.evaluate(REFRESH)
    await expect(rate).to_contain_text("5000/5000 placed today")
    await expect(rate).to_have_attribute("data-level", "bad")
    await expect(rate).to_contain_text("Kite's daily cap of placements is reached")
