"""The dashboard says what it knows and no more, in headless Chromium against the real desk on
the simulator, in a browser whose clock is UTC: times read in IST (Kite's clock) and say so;
the header shows the broker session's state; alerts are not doubled; the book and the chart
read again when a session is renewed or a day opens; a one-point chart has minute ticks;
success notices fade, errors stay; and when the desk stops, a banner says since when, the
broker is "unknown" rather than green, and a request says the desk did not answer.

One page session covers it all; every wait is on page state or a request, never a sleep.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from playwright.async_api import Browser, Route, expect

from orderdesk.domain.calendar import IST
from tests.browser.conftest import TOKEN, Stack

# The page's own modules, as app.js imported them (same URL: the same module instance).
EMIT = """async ([kind, data]) => {
  const core = await import('/static/core.js');
  core.emit(kind, data);
}"""
STATUS_WITH_POINT = """async (point) => {
  const core = await import('/static/core.js');
  const s = core.state;
  core.emit('status', { kill_switch: s.kill, broker_connection: s.broker,
    positions: s.positions, approvals: s.approvals, pnl: point });
}"""


@pytest.fixture(autouse=True)
def _patient_expect() -> None:
    expect.set_options(timeout=20_000)


@pytest.mark.browser
async def test_the_page_says_what_it_knows(stack: Stack, browser: Browser) -> None:
    await stack.set_price("INFY", 1500)
    page = await browser.new_page(viewport={"width": 1400, "height": 1000}, timezone_id="UTC")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(stack.api.url)
    await page.get_by_test_id("token-input").fill(TOKEN)
    await page.get_by_test_id("token-submit").click()
    await expect(page.get_by_test_id("stream-state")).to_have_text("stream: live")
    await expect(page.get_by_test_id("broker-state")).to_have_text("broker: CONNECTED")
    session = page.get_by_test_id("session-state")
    await expect(session).to_have_text("session: valid")

    # Times are IST whatever the browser's zone, and the columns say so.
    await expect(page.locator("#orders").locator("xpath=..").locator("th").first).to_have_text(
        "Time (IST)"
    )
    signal = {
        "instrument": "NSE:INFY",
        "side": "BUY",
        "quantity": 1,
        "order_type": "LIMIT",
        "product": "CNC",
        "price": "1300",
        "strategy": "manual",
    }
    async with stack.client.post(f"{stack.api.url}/api/signals", json=signal) as response:
        assert response.status == 201, await response.text()
        order = (await response.json())["order"]
    created = datetime.fromisoformat(order["created_at"]).astimezone(IST)
    row = page.locator(f'#orders tr[data-order-id="{order["order_id"]}"]')
    await expect(row.locator('td[data-label="Time"]')).to_have_text(f"{created:%H:%M:%S}")

    # The session's age is the desk's use of it, not the login's.
    await expect(page.locator('#health [data-check="Session"]')).to_contain_text(
        "in use by the desk for"
    )

    # An alert sent twice (a day's snapshot, then its queued message) is shown once.
    alert = {
        "severity": "warning",
        "title": "Twice told",
        "body": "once shown",
        "key": "test:twice",
        "order_id": None,
        "at": "2026-12-07T04:03:28+00:00",
    }
    await page.evaluate(EMIT, ["alert", alert])
    await page.evaluate(EMIT, ["alert", alert])
    shown = page.locator("#alerts li", has_text="Twice told")
    await expect(shown).to_have_count(1)
    await expect(shown.locator("time")).to_have_text("09:33:28")

    # A renewed session and a new day read the book and the chart again; a new session checks
    # the address afresh (the row kept a refused session's "unknown" after the login).
    async with (
        page.expect_request(re.compile(r"/api/funds$")),
        page.expect_request(re.compile(r"/api/doctor$")),
    ):
        await page.evaluate(EMIT, ["event", {"type": "SessionRenewed", "at": alert["at"]}])
    # An address the probe could not judge (no session) is no static-IP fault: it says so.
    unknown = {
        "broker": "kite",
        "order_path": {
            "local_address": "127.0.0.1",
            "ip_family": "IPv4",
            "verdict": "unknown",
            "answer": "the session was refused.",
        },
    }

    async def unjudged(route: Route) -> None:
        await route.fulfill(json=unknown)

    await page.route("**/api/doctor", unjudged)
    await page.get_by_test_id("check-address").click()
    address = page.locator('#health [data-check="Address"]')
    await expect(address).to_contain_text("Log in if the session has ended")
    await expect(address).not_to_contain_text("Register this address")
    await page.unroute("**/api/doctor", unjudged)
    async with page.expect_request(re.compile(r"/api/pnl$")):
        await page.evaluate(EMIT, ["event", {"type": "DayOpened", "at": alert["at"]}])

    # A point of a later day starts a new curve; one point draws on minute ticks, in IST.
    later = (datetime.now(IST) + timedelta(days=1)).replace(hour=9, minute=20, second=0)
    point = {"at": later.isoformat(), "total": "12.50", "strategies": {}}
    await page.evaluate(STATUS_WITH_POINT, point)
    chart = page.locator("#pnl-chart")
    await expect(chart).to_have_attribute("data-points", "1")
    await expect(chart).to_have_attribute("data-ticks", re.compile(r"09:2\d"))
    ticks = (await chart.get_attribute("data-ticks") or "").split()
    assert ticks
    assert all(re.fullmatch(r"\d\d:\d\d", t) for t in ticks), ticks

    # A success fades by itself.
    await page.get_by_test_id("reconcile-now").click()
    notice = page.get_by_test_id("notice")
    await expect(notice).to_contain_text("Reconciled")
    await expect(notice).to_be_hidden()

    # An unusable session shows in the header, not only in the health panel.
    async def expired(route: Route) -> None:
        answer = await route.fetch()
        body = await answer.json()
        body["session"].update(state="expired", usable=False, reason="the token has expired")
        await route.fulfill(response=answer, body=json.dumps(body))

    await page.route("**/api/health/detail", expired)
    await page.evaluate(EMIT, ["event", {"type": "SessionLost", "at": alert["at"]}])
    await expect(session).to_have_text("session expired: log in")
    await expect(session).to_have_class(re.compile(r"\bbad\b"))
    await expect(page.get_by_test_id("session-banner")).to_contain_text("orderdesk login")
    await page.unroute("**/api/health/detail")
    await page.evaluate(EMIT, ["event", {"type": "SessionRenewed", "at": alert["at"]}])
    await expect(session).to_have_text("session: valid")
    await expect(page.get_by_test_id("session-banner")).to_be_hidden()

    # The desk stops: the page says so, stops looking live, and a request says why it failed.
    await stack.api.stop()
    down = page.get_by_test_id("desk-down")
    await expect(down).to_contain_text(
        re.compile(r"The desk is not answering since \d\d:\d\d IST: figures are as of then")
    )
    await expect(page.get_by_test_id("broker-state")).to_have_text("broker: unknown")
    await expect(page.get_by_test_id("broker-state")).not_to_have_class(re.compile(r"\bok\b"))
    await expect(session).to_have_text("session: unknown")
    await page.get_by_test_id("reconcile-now").click()
    await expect(notice).to_contain_text("the desk did not answer")
    await expect(notice).not_to_contain_text("Failed to fetch")

    await page.close()
    assert errors == []
