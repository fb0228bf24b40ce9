"""The dashboard's kill switch, its trading day and a silent desk, in headless Chromium against
the real desk on the simulator: releasing the kill switch asks first and a double click does
not undo an engage; after the day's session ends the figures say which trading day they are
of until a login opens the next; and when the desk stops answering, the banner's time is the
desk's clock, the kill switch reads "unknown" and the health panel's stream is disconnected;
and a wide chart labels each minute of its x-axis once.

Every wait is on page state or a request, never a sleep.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta

import pytest
from playwright.async_api import Browser, Page, Route, expect

from orderdesk.domain.calendar import IST
from tests.browser.conftest import SCREENSHOTS, Stack, screenshot_written, set_sim_clock
from tests.browser.test_dashboard_columns import signed_in
from tests.browser.test_dashboard_honesty import STATUS_WITH_POINT
from tests.browser.test_station import no_overflow


@pytest.fixture(autouse=True)
def _patient_expect() -> None:
    expect.set_options(timeout=20_000)


async def _signed_in(stack: Stack, browser: Browser, errors: list[str], width: int = 1400) -> Page:
    """A page on ``stack``'s dashboard in a browser on UTC, the token given and the stream
    live; script errors are collected in ``errors``."""
    return await signed_in(browser, stack.api.url, errors, width=width, timezone_id="UTC")


async def _kill_switch(stack: Stack) -> bool:
    async with stack.client.get(f"{stack.api.url}/api/kill-switch") as response:
        assert response.status == 200, await response.text()
        return bool((await response.json())["engaged"])


@pytest.mark.browser
async def test_releasing_the_kill_switch_asks_and_a_double_click_does_not_undo_it(
    stack: Stack, browser: Browser
) -> None:
    """A double click on Engage sends one request (the button waits for its answer); Release
    asks first (Back leaves it engaged, nothing sent), and after a release "cancel open
    orders" is unticked again."""
    errors: list[str] = []
    page = await _signed_in(stack, browser, errors)
    button = page.get_by_test_id("kill-button")
    state = page.get_by_test_id("kill-state")
    cancel = page.get_by_test_id("kill-cancel")
    await expect(button).to_be_enabled()
    posts: list[str] = []
    answer = asyncio.Event()

    async def held(route: Route) -> None:
        if route.request.method != "POST":
            await route.continue_()
            return
        posts.append(route.request.post_data or "")
        await answer.wait()
        await route.continue_()

    await page.route("**/api/kill-switch", held)
    await cancel.check()
    await button.dblclick()
    # The engage is out: the button waits (the second click of the double click found it so).
    await expect(button).to_be_disabled(timeout=5_000)
    answer.set()
    await expect(state).to_have_text("kill switch: ENGAGED")
    await expect(button).to_be_enabled()
    await expect(button).to_have_text("Release kill switch")
    assert len(posts) == 1, posts
    assert await _kill_switch(stack)

    # Releasing asks; Back leaves it engaged and sends nothing.
    await button.click()
    await expect(page.get_by_test_id("confirm-text")).to_have_text(
        re.compile(r"^Release the kill switch\? New orders are taken again")
    )
    await page.get_by_test_id("confirm-no").click()
    await expect(page.get_by_test_id("confirm")).to_be_hidden()
    await expect(state).to_have_text("kill switch: ENGAGED")
    await expect(button).to_be_enabled()
    assert len(posts) == 1, posts
    assert await _kill_switch(stack)

    # Confirmed, it is released and the next engage cancels only if asked again.
    await button.click()
    await page.get_by_test_id("confirm-ok").click()
    await expect(state).to_have_text("kill switch: off")
    await expect(page.get_by_test_id("notice")).to_have_text(
        "Kill switch released: new orders are taken again."
    )
    await expect(cancel).not_to_be_checked()
    assert len(posts) == 2, posts
    assert not await _kill_switch(stack)
    await page.close()
    assert errors == []


@pytest.mark.browser
async def test_figures_of_the_last_trading_day_say_so_until_a_login_opens_the_next(
    days_stack: Stack, browser: Browser
) -> None:
    """Monday: the header names the trading day and "today" reads today. Tuesday 09:16 before
    the login (Monday's session ended at 06:00): the figures are still Monday's, and the page
    says so, a banner and every "today" naming Mon 07 Dec. The login opens Tuesday."""
    stack = days_stack
    errors: list[str] = []
    page = await _signed_in(stack, browser, errors)
    day = page.get_by_test_id("trading-day")
    banner = page.get_by_test_id("day-banner")
    chart_title = page.locator("#panel-chart h2")
    await expect(day).to_have_text("trading day Mon 07 Dec")
    await expect(banner).to_be_hidden()
    await expect(chart_title).to_have_text("P&L today")
    await expect(page.locator("#trades-empty")).to_have_text("No trades today.")

    await set_sim_clock(stack.sim, datetime(2026, 12, 8, 9, 16))
    await expect(banner).to_have_text(
        "Figures of Mon 07 Dec, the trading day the desk has open (today is Tue 08 Dec IST):"
        " the next day opens at the next login on a trading day."
    )
    await expect(day).to_have_text("trading day Mon 07 Dec")
    await expect(day).to_have_class(re.compile(r"\bwarn\b"))
    await expect(chart_title).to_have_text("P&L of Mon 07 Dec")
    await expect(page.locator("#trades-empty")).to_have_text("No trades on Mon 07 Dec.")
    await expect(page.locator("#panel-orders h2")).to_have_text("Orders of Mon 07 Dec")
    await expect(page.locator("#panel-positions h2")).to_have_text("Positions of Mon 07 Dec")
    for width in (420, 1400):  # the pill and the banner fit a phone too
        await no_overflow(page, width)
        path = SCREENSHOTS / f"stale-day-{width}.png"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(path), full_page=width == 1400)
        screenshot_written(path)

    async with stack.client.post(
        f"{stack.api.url}/api/session", json={"access_token": stack.sim.issue_access_token()}
    ) as response:
        assert response.status == 200, await response.text()
    await expect(day).to_have_text("trading day Tue 08 Dec")
    await expect(banner).to_be_hidden()
    await expect(chart_title).to_have_text("P&L today")
    await expect(page.locator("#panel-orders h2")).to_have_text("Orders")
    await page.close()
    assert errors == []


@pytest.mark.browser
async def test_a_silent_desk_reads_unknown_since_the_desks_own_time(
    days_stack: Stack, browser: Browser
) -> None:
    """The desk's clock (the simulator's Monday 09:30) is not the browser's. Stopped, the
    desk's banner gives the time of the desk's clock, the kill switch reads "unknown" (not a
    green "off"), the health panel's stream reads disconnected, and the GTT panel says the desk
    did not answer (not fetch's "Failed to fetch")."""
    stack = days_stack
    errors: list[str] = []
    page = await _signed_in(stack, browser, errors)
    await expect(page.get_by_test_id("kill-state")).to_have_text("kill switch: off")
    stream = page.locator('#health [data-check="Stream"]')
    await expect(stream).to_contain_text("Live updates connected.")
    await expect(page.locator("#triggers-empty")).to_have_text("No GTTs or price alerts.")

    desk_time = stack.sim.clock.now()  # IST wall time of the desk's clock
    await stack.api.stop()
    shown = {f"{desk_time - timedelta(minutes=1):%H:%M}", f"{desk_time:%H:%M}"}
    shown |= {f"{desk_time + timedelta(minutes=1):%H:%M}"}
    down = page.get_by_test_id("desk-down")
    await expect(down).to_contain_text(
        re.compile(rf"The desk is not answering since ({'|'.join(sorted(shown))}) IST")
    )
    kill = page.get_by_test_id("kill-state")
    await expect(kill).to_have_text("kill switch: unknown")
    await expect(kill).not_to_have_class(re.compile(r"\bok\b"))
    await expect(stream).to_contain_text("Live updates disconnected: the desk is not answering.")
    await expect(stream).to_have_attribute("data-level", "bad")
    empty = page.locator("#triggers-empty")
    await expect(empty).to_have_text(
        "GTTs and alerts: the desk did not answer (is `orderdesk run` running?)"
    )
    await page.close()
    assert errors == []


@pytest.mark.browser
async def test_a_wide_charts_x_axis_labels_each_minute_once(stack: Stack, browser: Browser) -> None:
    """Ten minutes of P&L on a 1920 px page: ticks fall a whole minute apart, each labelled
    once (uPlot's own spacing put them 30 s apart, "09:21 09:21")."""
    errors: list[str] = []
    page = await _signed_in(stack, browser, errors, width=1920)
    later = (datetime.now(IST) + timedelta(days=2)).replace(hour=9, minute=20, second=0)
    for at in (later, later + timedelta(minutes=10)):
        point = {"at": at.isoformat(), "total": "1.00", "strategies": {}}
        await page.evaluate(STATUS_WITH_POINT, point)
    chart = page.locator("#pnl-chart")
    await expect(chart).to_have_attribute("data-points", "2")
    await expect(chart).to_have_attribute("data-ticks", re.compile(r"09:2\d"))
    ticks = (await chart.get_attribute("data-ticks") or "").split(" ")
    assert all(re.fullmatch(r"\d\d:\d\d", t) for t in ticks), ticks
    assert len(ticks) == len(set(ticks)) > 1, ticks
    await page.close()
    assert errors == []


@pytest.mark.browser
async def test_an_option_settled_at_expiry_is_in_the_charges_line(
    stack: Stack, browser: Browser
) -> None:
    """A day whose only charges are an option exercised at expiry (no order of the desk's did
    it) shows them, and says what they are on, rather than hiding the line."""
    errors: list[str] = []
    page = await _signed_in(stack, browser, errors)
    kinds = {
        "brokerage": "20.00",
        "transaction_tax": "2.06",
        "exchange_turnover_charge": "0",
        "sebi_turnover_charge": "0",
        "stamp_duty": "0",
        "gst": "3.60",
        "total": "25.66",
    }
    exercised = {
        **kinds,
        "instrument": "NFO:NIFTY26DEC25000CE",
        "product": "NRML",
        "quantity": 65,
        "settlement_price": "21.15",
    }

    async def expiry_day(route: Route) -> None:
        body = {"charges": kinds, "orders": [], "uncharged": [], "exercised": [exercised]}
        await route.fulfill(json=body)

    await page.route("**/api/charges", expiry_day)
    await page.locator("#book-refresh").click()
    await expect(page.get_by_test_id("charges")).to_contain_text(
        "25.66 on 1 option settled at expiry (brokerage 20.00, STT 2.06, other 3.60)"
    )
    assert errors == []
