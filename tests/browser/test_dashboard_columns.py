"""What the dashboard shows of an order's terms and of estimated figures, in headless Chromium:
the orders table's type, product and trigger price (the real desk on the simulator), and the
"est." and "squared off" markers of a trading day and its positions (the real app over the API
tests' in-memory desk, which can hold a day closed late with a square-off the desk inferred)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from playwright.async_api import Browser, Page, expect

from orderdesk.api import AlertFeed, create_app, serve_api
from orderdesk.api.desk import DayRecord
from orderdesk.domain import InstrumentKey, Product
from orderdesk.domain.day import PositionSnapshot
from tests.api.fakes import FakeDesk
from tests.browser.conftest import SCREENSHOTS, TOKEN, Stack, screenshot_written
from tests.browser.test_station import no_overflow

THURSDAY = date(2026, 12, 3)
FRIDAY = date(2026, 12, 4)
INFY = InstrumentKey.parse("NSE:INFY")
TCS = InstrumentKey.parse("NSE:TCS")


@pytest.fixture(autouse=True)
def _patient_expect() -> None:
    # A loaded machine: give page state time to arrive (expect returns as soon as it holds).
    expect.set_options(timeout=20_000)


async def signed_in(
    browser: Browser,
    url: str,
    errors: list[str],
    *,
    width: int = 1400,
    timezone_id: str | None = None,
) -> Page:
    """A page on the dashboard at ``url``, ``width`` px wide (in the browser's ``timezone_id``
    when given), the token given and the stream live; script errors are collected in
    ``errors``."""
    page = await browser.new_page(
        viewport={"width": width, "height": 1000}, timezone_id=timezone_id
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(url)
    await page.get_by_test_id("token-input").fill(TOKEN)
    await page.get_by_test_id("token-submit").click()
    await expect(page.get_by_test_id("stream-state")).to_have_text("stream: live")
    return page


async def fits(page: Page, name: str) -> None:
    """Nothing overflows its panel from a phone to a wide screen, across the widths where the
    orders table turns from cards into a table (a panel of 900 px); a screenshot at 420 and
    1400 px for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in (420, 1000, 1200, 1340, 1360, 1400, 1920):
        await no_overflow(page, width)
        if width in (420, 1400):
            path = SCREENSHOTS / f"{name}-{width}.png"
            await page.screenshot(path=str(path), full_page=True)
            screenshot_written(path)


@pytest.mark.browser
async def test_the_orders_table_shows_type_product_and_trigger(
    stack: Stack, browser: Browser
) -> None:
    """A stop-loss MIS buy shows SL, MIS, its limit and its trigger; a CNC limit shows LIMIT,
    CNC and no trigger; prices keep every decimal they have (USDINR's 88.1125 read 88.11)."""
    await stack.set_price("INFY", 1500)
    errors: list[str] = []
    page = await signed_in(browser, stack.api.url, errors)
    signals = {
        "stop": {"order_type": "SL", "product": "MIS", "price": "1512", "trigger_price": "1510"},
        "limit": {"order_type": "LIMIT", "product": "CNC", "price": "1400"},
    }
    ids: dict[str, str] = {}
    for name, terms in signals.items():
        signal = {"instrument": "NSE:INFY", "side": "BUY", "quantity": 1, **terms}
        async with stack.client.post(f"{stack.api.url}/api/signals", json=signal) as response:
            assert response.status == 201, await response.text()
            ids[name] = (await response.json())["order"]["order_id"]

    for name, want in {
        "stop": ("SL", "MIS", "1,512.00", "1,510.00"),
        "limit": ("LIMIT", "CNC", "1,400.00", "–"),
    }.items():
        row = page.locator(f'#orders tr[data-order-id="{ids[name]}"]')
        for field, text in zip(("order-type", "product", "price", "trigger"), want, strict=True):
            await expect(row.locator(f'[data-field="{field}"]')).to_have_text(text)
    # A price keeps every decimal it has, as the CLI shows it (a currency future's tick is
    # 0.0025); an amount of money stays at two.
    shown = await page.evaluate(
        """async () => {
          const core = await import("/static/core.js");
          return [core.priceText("88.1125"), core.priceText("88.1150"), core.priceText("1512"),
                  core.money("88.1125")];
        }"""
    )
    assert shown == ["88.1125", "88.115", "1,512.00", "88.11"]
    headers = await page.locator('[data-testid="orders"] thead th').all_inner_texts()
    columns = ("Type", "Product", "Price", "Trigger")
    assert [h for h in headers if h in columns] == list(columns)
    await fits(page, "order-terms")
    await page.close()
    assert errors == []


@pytest.fixture
async def late_close() -> AsyncIterator[str]:
    """The app over an in-memory desk whose Thursday was closed late: its INFY MIS line lost 3
    to a square-off the desk inferred (estimated), its TCS line is exact; Friday is open.
    Yields the app's URL."""
    desk = FakeDesk()
    desk.open_day(THURSDAY)
    closed = desk.close_day()

    flat = PositionSnapshot(
        instrument=TCS,
        product=Product.CNC,
        quantity=0,
        overnight_quantity=0,
        average_price=Decimal("1500"),
        last_price=Decimal("1510"),
        realised=Decimal("30"),
        unrealised=Decimal("0"),
        pnl=Decimal("30"),
        buy_quantity=3,
        sell_quantity=3,
    )
    positions = (
        replace(
            flat,
            instrument=INFY,
            product=Product.MIS,
            sell_quantity=0,
            squared_off=3,
            estimated=True,
        ),
        flat,
    )
    late = replace(closed, positions=positions, pnl=Decimal("60"), late=True, estimated=True)
    desk.records[-1] = DayRecord(desk.records[-1].opened, late)
    desk.next_day(FRIDAY)
    server = await serve_api(create_app(desk, token=TOKEN, alerts=AlertFeed()), "127.0.0.1", 0)
    try:
        yield server.url
    finally:
        desk.close()
        await server.stop()


@pytest.mark.browser
async def test_a_late_close_and_a_square_off_are_marked_as_estimates(
    late_close: str, browser: Browser
) -> None:
    """Thursday's P&L carries "est." with why in its title; its positions, opened from the
    list, mark the inferred square-off and the estimate on the INFY line and nothing on the
    exact TCS line; Friday (live, exact) has no marker."""
    errors: list[str] = []
    page = await signed_in(browser, late_close, errors)
    thursday = page.locator('#days tr[data-day="2026-12-03"]')
    friday = page.locator('#days tr[data-day="2026-12-04"]')
    await expect(thursday.locator('[data-field="pnl"]')).to_have_text("60.00")
    estimate = thursday.locator('[data-field="estimated"]')
    await expect(estimate).to_have_text("est.")
    await expect(estimate).to_have_attribute(
        "title",
        "Estimated: the day was closed late, after the broker's books of it were gone (see its "
        "positions).",
    )
    await expect(friday.locator('[data-field="status"]')).to_have_text("open")
    await expect(friday.locator('[data-field="estimated"]')).to_have_count(0)

    await thursday.locator('[data-action="day-positions"]').click()
    detail = page.get_by_test_id("day-detail")
    await expect(detail).to_be_visible()
    await expect(page.locator("#day-detail-title")).to_contain_text(
        "Positions of 2026-12-03 (at its close)"
    )
    infy = detail.locator('tr[data-instrument="NSE:INFY"]')
    squared = infy.locator('[data-field="squared-off"]')
    await expect(squared).to_have_text("3 squared off")
    await expect(squared).to_have_attribute(
        "title",
        "3 squared off by the broker: no trade of the desk's shows it; inferred at a close made "
        "the next trading day and counted at the day's close price (an estimate).",
    )
    await expect(infy.locator('[data-field="estimated"]')).to_have_text("est.")
    await expect(infy.locator('[data-field="quantity"]')).to_have_text("0")
    tcs = detail.locator('tr[data-instrument="NSE:TCS"]')
    await expect(tcs.locator('[data-field="pnl"]')).to_have_text("30.00")
    await expect(tcs.locator(".marker")).to_have_count(0)

    await fits(page, "day-estimates")
    await page.set_viewport_size({"width": 1400, "height": 1000})
    await page.locator("#day-detail-close").click()
    await expect(detail).to_be_hidden()
    await page.close()
    assert errors == []
