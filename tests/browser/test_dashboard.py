"""The dashboard in headless Chromium against the real desk on the simulator."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Request, expect

from tests.browser.conftest import TOKEN, Stack

WORKING = re.compile(r"^(ACCEPTED|OPEN)$")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"

SIGNAL = {
    "instrument": "NSE:INFY",
    "side": "BUY",
    "quantity": 10,
    "order_type": "LIMIT",
    "product": "CNC",
    "price": "1400",
}


@pytest.mark.browser
async def test_order_appears_fills_and_the_kill_switch_refuses_new_signals(
    stack: Stack, browser: Browser, tmp_path: Path
) -> None:
    """Submit via the API, watch the order open and fill live, engage the kill switch, see a
    new signal refused; the page loads nothing from anywhere but the desk."""
    await stack.set_price("INFY", 1500)
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    failed: list[Request] = []
    page.on("requestfailed", lambda request: failed.append(request))

    await page.goto(stack.api.url)
    await page.get_by_test_id("token-input").fill(TOKEN)
    await page.get_by_test_id("token-submit").click()
    await expect(page.get_by_test_id("stream-state")).to_have_text("stream: live")
    await expect(page.locator("#login")).to_be_hidden()
    await expect(page.get_by_test_id("broker-state")).to_have_text("broker: CONNECTED")

    async with stack.client.post(f"{stack.api.url}/api/signals", json=SIGNAL) as response:
        assert response.status == 201, await response.text()
        order_id = (await response.json())["order"]["order_id"]
    row = page.locator(f'tr[data-order-id="{order_id}"]')
    # Working at the broker; which of the two depends on whether the sim's OPEN update has
    # been applied yet, and the test is about the page following the desk, not that race.
    await expect(row.locator('[data-field="status"]')).to_have_text(WORKING)

    await stack.set_price("INFY", 1399)  # the resting buy at 1400 trades
    await expect(row.locator('[data-field="status"]')).to_have_text("FILLED")
    await expect(row.locator('[data-field="filled"]')).to_have_text("10 / 10")
    position = page.locator('#positions tr[data-instrument="NSE:INFY"]')
    await expect(position).to_contain_text("10")
    await stack.set_price("INFY", 1420)  # a tick marks the position: 10 × (1420 − 1399)
    await expect(position.locator('[data-field="pnl"]')).to_have_text("210.00")

    await page.get_by_test_id("kill-button").click()
    await expect(page.get_by_test_id("kill-state")).to_have_text("kill switch: ENGAGED")
    await expect(page.get_by_test_id("banner")).to_contain_text("Kill switch engaged")

    refused = {**SIGNAL, "signal_id": "after-kill"}
    async with stack.client.post(f"{stack.api.url}/api/signals", json=refused) as response:
        body = await response.json()
    assert response.status == 403
    assert body["check"] == "kill_switch"
    await expect(page.locator('#events li[data-type="SignalDenied"]')).to_have_count(1)
    await expect(page.get_by_test_id("alerts")).to_contain_text("Kill switch engaged")

    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    await page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

    hosts = {urlsplit(url).netloc for url in requested}
    assert hosts == {urlsplit(stack.api.url).netloc}
    # The event stream is aborted when the page closes; nothing else may have failed.
    assert [r.url for r in failed if not r.url.endswith("/api/events")] == []
    html = await page.content()
    assert TOKEN not in html


@pytest.mark.browser
async def test_a_wrong_token_is_refused_and_the_form_comes_back(
    stack: Stack, browser: Browser
) -> None:
    """A mistyped token sends the operator back to the form with a reason, storing nothing."""
    page = await browser.new_page()
    await page.goto(stack.api.url)
    await page.get_by_test_id("token-input").fill("not-the-token")
    await page.get_by_test_id("token-submit").click()
    await expect(page.locator("#login-error")).to_have_text("The token was not accepted.")
    stored = await page.evaluate("sessionStorage.getItem('orderdesk.token')")
    assert stored is None
