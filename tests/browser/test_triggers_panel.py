"""The dashboard's GTT and price-alert panel in headless Chromium, on the real desk."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Dialog, expect

from tests.browser.conftest import TOKEN, Stack

GTT = {
    "instrument": "NSE:INFY",
    "trigger_values": ["1600"],
    "last_price": "1500",
    "orders": [{"side": "SELL", "quantity": 1, "price": "1599"}],
    "strategy": "swing",
}


@pytest.mark.browser
async def test_the_panel_lists_a_gtt_and_deletes_it(stack: Stack, browser: Browser) -> None:
    await stack.set_price("INFY", 1500)
    async with stack.client.post(f"{stack.api.url}/api/gtt", json=GTT) as response:
        assert response.status == 201, await response.text()
        trigger = await response.json()
    page = await browser.new_page(viewport={"width": 1400, "height": 900})

    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    page.on("dialog", accept)
    await page.goto(stack.api.url)
    await page.get_by_test_id("token-input").fill(TOKEN)
    await page.get_by_test_id("token-submit").click()
    row = page.locator(f'#triggers tr[data-trigger="{trigger["id"]}"]')
    await expect(row).to_contain_text("swing")
    await expect(row).to_contain_text("LTP reaches 1600")
    await expect(row).to_contain_text("active")
    await row.get_by_role("button", name="Delete").click()
    await expect(row).to_contain_text("deleted")
    await expect(row.get_by_role("button")).to_have_count(0)
    user = stack.sim.config.user_id
    assert stack.sim.gtt.get(user, int(trigger["broker_id"])).status == "deleted"
