"""The dashboard's order actions say what they do and do what they say, in headless Chromium
against the real desk on the simulator: Exit offers to cancel the stop still working in that
position (checked) and cancels it before exiting; a rejected order is an error, not "sent";
a form without a price asks for one inline; the Modify dialog names only what is sent; the
Orders table shows a variety and keeps Modify/Cancel whole at every desktop width."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import Stack
from tests.browser.test_station import _order, _signal, no_overflow

# Not "page": test_station's fixture, imported by name, would be this module's too.
from tests.browser.test_station import page as page

MIS = {"instrument": "NSE:INFY", "product": "MIS"}

# Each Modify/Cancel button of the orders table: its box, and its panel's.
BUTTONS = """() => [...document.querySelectorAll('#orders [data-action="modify"],'
    + ' #orders [data-action="cancel"]')].map((b) => {
  const r = b.getBoundingClientRect();
  const p = document.getElementById('panel-orders').getBoundingClientRect();
  const inside = r.left >= p.left - 1 && r.right <= p.right + 1;
  return { width: r.width, height: r.height, inside };
})"""


async def _buttons_whole(page: Page, width: int) -> None:
    await no_overflow(page, width)
    boxes: list[dict[str, Any]] = await page.evaluate(BUTTONS)
    assert boxes, width
    for box in boxes:
        # One line, as wide as its word: not squeezed to a letter a line.
        assert box["width"] >= 40, (width, boxes)
        assert box["height"] <= 30, (width, boxes)
        assert box["inside"], (width, boxes)


async def _long_with_a_stop(stack: Stack, page: Page, quantity: int) -> tuple[str, Locator]:
    """A long MIS position of ``quantity`` INFY and a SELL SL-M stop working against it: the
    stop's id and its row in the orders table."""
    bought = await _signal(
        stack,
        {**MIS, "side": "BUY", "quantity": quantity, "order_type": "MARKET", "strategy": "manual"},
    )
    await expect(_order(page, bought).locator('[data-field="status"]')).to_have_text("FILLED")
    stop = await _signal(
        stack,
        {
            **MIS,
            "side": "SELL",
            "quantity": quantity,
            "order_type": "SL-M",
            "trigger_price": "1400",
        },
    )
    row = _order(page, stop)
    await expect(row.locator('[data-field="status"]')).to_have_text("TRIGGER_PENDING")
    return stop, row


@pytest.mark.browser
async def test_exit_cancels_the_stop_left_working_and_notices_say_what_happened(
    stack: Stack, page: Page
) -> None:
    stop, row = await _long_with_a_stop(stack, page, 6)
    iceberg = await _signal(
        stack,
        {
            "instrument": "NSE:INFY",
            "side": "BUY",
            "quantity": 4,
            "order_type": "LIMIT",
            "price": "1400",
            "product": "CNC",
            "variety": "iceberg",
            "iceberg_legs": 2,
            "iceberg_quantity": 2,
        },
    )
    # The variety, when not regular, shows in the table.
    await expect(_order(page, iceberg).locator('[data-field="variety"]')).to_have_text("iceberg")
    await expect(row.locator('[data-field="variety"]')).to_have_count(0)

    # The buttons keep their width and stay in the panel, table or cards.
    for width in (1000, 1400, 1450, 1530, 1700, 1920):
        await _buttons_whole(page, width)
    await page.set_viewport_size({"width": 1400, "height": 1000})

    # Cancel's dialog names what the order carries (its validity and legs, from the order's
    # row), nothing made up: it read "(CNC, iceberg, DAY, undefined legs of undefined)".
    await _order(page, iceberg).locator('[data-action="cancel"]').click()
    await expect(page.get_by_test_id("confirm-text")).to_contain_text(
        "Buy 4 NSE:INFY at limit 1,400.00 (CNC, iceberg, DAY, 2 legs of 2), 0 of 4 filled so far?"
    )
    await page.get_by_test_id("confirm-no").click()

    # Modify SL-M -> LIMIT: no trigger is sent, so none is described; no price, no modify.
    await row.locator('[data-action="modify"]').click()
    await page.locator('#modify-form select[name="order_type"]').select_option("LIMIT")
    await page.get_by_test_id("modify-price").fill("1600")
    text = page.get_by_test_id("modify-text")
    await expect(text).to_have_text(
        re.compile(r"→ Sell 6 NSE:INFY at limit 1,600\.00 \(MIS, regular, DAY\)$")
    )
    await page.get_by_test_id("modify-price").fill("")
    await expect(page.locator("#modify-error")).to_have_text(
        "A LIMIT order needs a price: a number above 0."
    )
    await page.get_by_test_id("modify-ok").click()
    await expect(page.locator("#modify-error")).to_have_text(re.compile("needs a price"))
    await page.locator('#modify-form button[value="cancel"]').click()
    await expect(page.get_by_test_id("modify")).to_be_hidden()

    # A LIMIT with no price is refused inline, before any confirmation.
    await page.get_by_test_id("entry-instrument").fill("NSE:INFY")
    await page.get_by_test_id("entry-quantity").fill("1")
    await page.get_by_test_id("entry-type").select_option("LIMIT")
    await page.get_by_test_id("entry-price").fill("abc")
    await page.get_by_test_id("entry-submit").click()
    await expect(page.get_by_test_id("entry-error")).to_have_text(
        "A LIMIT order needs a price: a number above 0."
    )
    await expect(page.get_by_test_id("confirm")).to_be_hidden()

    # The broker's rejection (as the API answers it) is an error with its reason, not "sent".
    rejected = {"order_id": "od-rejected", "status": "REJECTED", "reason": "Price out of band"}

    async def reject(route: Any) -> None:
        await route.fulfill(status=201, json={"outcome": "submitted", "order": rejected})

    await page.route("**/api/signals", reject)
    await page.get_by_test_id("entry-price").fill("1800")
    await page.get_by_test_id("entry-submit").click()
    await page.get_by_test_id("confirm-ok").click()
    notice = page.get_by_test_id("notice")
    await expect(notice).to_contain_text(
        "Order od-rejected rejected by the broker: Price out of band."
    )
    await expect(notice).to_have_class(re.compile(r"\bbad\b"))
    await page.unroute("**/api/signals", reject)

    # A refusal replaces the notice above: "sent" stood there, read as this order's.
    async def refuse(route: Any) -> None:
        body = {"error": "risk_denied", "message": "price_band: price 1800 is 20% from 1500"}
        await route.fulfill(status=403, json=body)

    await page.route("**/api/signals", refuse)
    await page.get_by_test_id("entry-submit").click()
    await page.get_by_test_id("confirm-ok").click()
    await expect(notice).to_contain_text("Order not placed: price_band: price 1800")
    await expect(notice).to_have_class(re.compile(r"\bbad\b"))
    await page.unroute("**/api/signals", refuse)

    # Exit names the working stop, offers to cancel it (checked), and does so first.
    position = page.locator('#positions tr[data-instrument="NSE:INFY"][data-product="MIS"]')
    await expect(position.locator('[data-field="quantity"]')).to_have_text("6")
    await position.locator('[data-action="exit"]').click()
    confirm = page.get_by_test_id("confirm-text")
    await expect(confirm).to_contain_text(
        "Sell 6 NSE:INFY at market (MIS) to close the account's position"
    )
    await expect(confirm).not_to_contain_text("for strategy manual")
    await expect(confirm).to_contain_text("also cancel the 1 working order in NSE:INFY MIS")
    await expect(confirm).to_contain_text(stop)
    await expect(page.get_by_test_id("exit-cancel-working")).to_be_checked()
    await page.get_by_test_id("confirm-ok").click()
    await expect(row.locator('[data-field="status"]')).to_have_text("CANCELLED")
    await expect(position.locator('[data-field="quantity"]')).to_have_text("0")
    await expect(notice).to_contain_text("Exit order")
    await expect(notice).to_have_class(re.compile(r"\bok\b"))


@pytest.mark.browser
async def test_an_exit_that_keeps_the_stop_working_says_so(stack: Stack, page: Page) -> None:
    """The box unticked, the exit goes and the stop stays: the notice says which order is
    still working and that it opens the opposite position if it fills (it said "Exit order …
    sent" alone, and faded)."""
    stop, row = await _long_with_a_stop(stack, page, 4)
    position = page.locator('#positions tr[data-instrument="NSE:INFY"][data-product="MIS"]')
    await position.locator('[data-action="exit"]').click()
    await page.get_by_test_id("exit-cancel-working").uncheck()
    await page.get_by_test_id("confirm-ok").click()
    notice = page.get_by_test_id("notice")
    await expect(notice).to_contain_text(f"Still working, as asked: {stop}")
    await expect(notice).to_contain_text("opens the opposite position")
    await expect(notice).to_have_class(re.compile(r"\bwarn\b"))
    await expect(row.locator('[data-field="status"]')).to_have_text("TRIGGER_PENDING")
