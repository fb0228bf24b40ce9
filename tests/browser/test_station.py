"""The dashboard as a trading station, in headless Chromium against the real desk on the
simulator (Kite adapter): place, modify, cancel, cancel all and exit through the page; approve
and reject; the chart, an order's timeline and the health panel follow real events; nothing
overflows its panel at 420, 1400 and 1920 px. Screenshots at those widths are written under
``artifacts/dashboard/`` (git-ignored); the run prints where.

Every wait is on page state (Playwright's auto-waiting ``expect`` and ``wait_for_function``),
never a sleep, so a loaded machine only makes the tests slower.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import (
    CAREFUL,
    SCREENSHOTS,
    TOKEN,
    Stack,
    screenshot_written,
    set_sim_clock,
)

WIDTHS = (420, 1400, 1920)
WORKING = re.compile(r"^(ACCEPTED|OPEN)$")

# Every element of a panel (and of the header) lies inside it, and the page never scrolls
# sideways. Zero-sized (hidden) elements are skipped.
OVERFLOWS = """() => {
  const bad = [];
  const root = document.documentElement;
  const px = (v) => Math.round(v);
  if (root.scrollWidth > root.clientWidth + 1) {
    bad.push(`page ${root.scrollWidth} > ${root.clientWidth}`);
  }
  for (const panel of document.querySelectorAll('.panel, header.bar')) {
    const box = panel.getBoundingClientRect();
    const name = panel.id || 'bar';
    if (box.width === 0) continue;
    if (panel.scrollWidth > panel.clientWidth + 1) bad.push(`${name} scrolls sideways`);
    for (const node of panel.querySelectorAll('*')) {
      const r = node.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.left < box.left - 1 || r.right > box.right + 1) {
        const what = `<${node.tagName.toLowerCase()} class="${node.getAttribute('class') || ''}">`;
        const where = `${px(r.left)}..${px(r.right)} not in ${px(box.left)}..${px(box.right)}`;
        bad.push(`${name}: ${what} ${where}`);
      }
    }
  }
  return bad;
}"""


@pytest.fixture(autouse=True)
def _patient_expect() -> None:
    # Two loaded cores: give page state time to arrive (expect still returns as soon as it holds).
    expect.set_options(timeout=20_000)


@pytest.fixture
async def page(stack: Stack, browser: Browser) -> AsyncIterator[Page]:
    """A signed-in page at 1400 px; fails the test on any script error."""
    await stack.set_price("INFY", 1500)
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(stack.api.url)
    await page.get_by_test_id("token-input").fill(TOKEN)
    await page.get_by_test_id("token-submit").click()
    await expect(page.get_by_test_id("stream-state")).to_have_text("stream: live")
    await expect(page.get_by_test_id("broker-state")).to_have_text("broker: CONNECTED")
    yield page
    await page.close()
    assert errors == []


async def _signed_in(stack: Stack, browser: Browser) -> Page:
    """A page on ``stack``'s dashboard at 1400 px, the token given."""
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    await page.goto(stack.api.url)
    await page.get_by_test_id("token-input").fill(TOKEN)
    await page.get_by_test_id("token-submit").click()
    return page


async def _confirm(page: Page, says: str | re.Pattern[str]) -> None:
    """The confirmation repeats the action in words; accept it."""
    await expect(page.get_by_test_id("confirm-text")).to_have_text(says)
    await page.get_by_test_id("confirm-ok").click()
    await expect(page.get_by_test_id("confirm")).to_be_hidden()


async def _place(page: Page, *, side: str, quantity: int, price: str, product: str = "CNC") -> str:
    """A LIMIT order on NSE:INFY (CNC unless told) through the order form; returns its id."""
    form = page.get_by_test_id("entry-form")
    await page.get_by_test_id("entry-instrument").fill("NSE:INFY")
    await form.locator(f'input[name="side"][value="{side}"]').check()
    await page.get_by_test_id("entry-quantity").fill(str(quantity))
    await page.get_by_test_id("entry-type").select_option("LIMIT")
    await page.get_by_test_id("entry-price").fill(price)
    await page.get_by_test_id("entry-product").select_option(product)
    await page.get_by_test_id("entry-submit").click()
    words = f"{side.title()} {quantity} NSE:INFY at limit {float(price):,.2f}"
    await _confirm(page, f"{words} ({product}, regular, DAY), for strategy manual.")
    notice = page.get_by_test_id("notice")
    await expect(notice).to_contain_text(words)
    text = await notice.inner_text()
    match = re.search(r"Order (\S+) sent", text)
    assert match is not None, text
    return match.group(1)


def _order(page: Page, order_id: str) -> Any:
    return page.locator(f'#orders tr[data-order-id="{order_id}"]')


async def no_overflow(page: Page, width: int) -> None:
    """Nothing overflows its panel at ``width`` once the layout has settled (within 20 s).

    Polled with ``evaluate``, not ``wait_for_function``: with the latter a loaded run timed
    out with the page settled ("at 420 px: []"), and another left the page error "Evaluating a
    string as JavaScript violates the ... Content Security Policy" (the dashboard allows no
    'unsafe-eval'), which is how a string predicate is run there."""
    await page.set_viewport_size({"width": width, "height": 1000})
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while problems := await page.evaluate(OVERFLOWS):
        if loop.time() > deadline:
            raise AssertionError(f"at {width} px: {problems[:10]}")
        await page.wait_for_timeout(50)  # the next look at the condition, not a guess


async def _screenshots(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        await no_overflow(page, width)
        path = SCREENSHOTS / f"{name}-{width}.png"
        await page.screenshot(path=str(path), full_page=True)
        screenshot_written(path)


@pytest.mark.browser
async def test_place_modify_fill_exit_cancel_and_cancel_all_through_the_page(
    stack: Stack, page: Page
) -> None:
    """The whole day of one trader, through the page only; the chart, the timeline and the
    health panel follow what the desk recorded."""
    order_id = await _place(page, side="BUY", quantity=10, price="1400")
    row = _order(page, order_id)
    await expect(row.locator('[data-field="status"]')).to_have_text(WORKING)

    # Modify: the dialog repeats the change in words; the new price comes back from the broker.
    await row.locator('[data-action="modify"]').click()
    await page.get_by_test_id("modify-price").fill("1401")
    await expect(page.get_by_test_id("modify-text")).to_contain_text(
        "→ Buy 10 NSE:INFY at limit 1,401.00"
    )
    await page.get_by_test_id("modify-ok").click()
    await expect(row.locator('[data-field="price"]')).to_have_text("1,401.00")

    # The resting buy trades; the trade book, the position and the chart follow.
    await stack.set_price("INFY", 1399)
    await expect(row.locator('[data-field="status"]')).to_have_text("FILLED")
    await expect(page.locator("#trades tr")).to_have_count(1)
    await expect(page.locator("#trades")).to_contain_text(order_id)
    # What it cost: the broker's calculator, as the API answers it (STT on a delivery buy).
    async with stack.client.get(f"{stack.api.url}/api/charges") as response:
        charges = (await response.json())["charges"]
    assert Decimal(charges["transaction_tax"]) > 0
    await expect(page.get_by_test_id("charges")).to_contain_text(
        f"Charges today: {Decimal(charges['total']):,.2f} on 1 order (brokerage 0.00, STT "
        f"{Decimal(charges['transaction_tax']):,.2f}"
    )
    position = page.locator('#positions tr[data-instrument="NSE:INFY"][data-product="CNC"]')
    await expect(position.locator('[data-field="quantity"]')).to_have_text("10")
    await expect(position.locator('[data-action="keep"]')).to_have_count(0)  # not MIS
    await stack.set_price("INFY", 1420)
    await expect(position.locator('[data-field="pnl"]')).to_have_text("210.00")
    legend = page.get_by_test_id("pnl-legend")
    await expect(legend.locator('[data-series="total"] [data-field="pnl"]')).to_have_text("210.00")
    await expect(legend.locator('[data-series="manual"] [data-field="pnl"]')).to_have_text("210.00")
    chart = page.get_by_test_id("pnl-chart")
    await expect(chart).to_have_attribute("data-series", "total manual")
    await expect(chart.locator("canvas")).to_have_count(1)
    await expect(chart).not_to_have_attribute("data-points", re.compile(r"^[01]$"))
    await expect(page.locator('#strategies tr[data-strategy="manual"]')).to_contain_text("210.00")

    # The order's timeline, one click away: signal to fill, in words.
    await row.locator('[data-action="timeline"]').click()
    timeline = page.get_by_test_id("timeline-events")
    await expect(timeline.locator("li").first).to_contain_text(
        "Signal from manual: BUY 10 NSE:INFY LIMIT @ 1400 CNC"
    )
    for words in ("Sent to the broker", "Accepted by the broker", "Modify sent", "10 filled at"):
        await expect(timeline).to_contain_text(words)
    await page.get_by_test_id("timeline-close").click()
    await expect(page.get_by_test_id("timeline")).to_be_hidden()

    # Exit: a market sell of the broker's position.
    await position.locator('[data-action="exit"]').click()
    await _confirm(
        page,
        "Sell 10 NSE:INFY at market (CNC) to close the account's position, re-priced while it"
        " does not fill (booked to account_exit).",
    )
    await expect(position.locator('[data-field="quantity"]')).to_have_text("0")
    await expect(page.locator("#trades tr")).to_have_count(2)

    # Cancel one resting order, then cancel all of two more.
    # 1,360: resting below the market, inside the day's circuit band (1,350 to 1,650).
    resting = await _place(page, side="BUY", quantity=5, price="1360")
    await expect(_order(page, resting).locator('[data-field="status"]')).to_have_text(WORKING)
    await _order(page, resting).locator('[data-action="cancel"]').click()
    await _confirm(page, re.compile(rf"^Cancel {resting}: Buy 5 NSE:INFY at limit 1,360\.00"))
    await expect(_order(page, resting).locator('[data-field="status"]')).to_have_text("CANCELLED")
    others = [await _place(page, side="BUY", quantity=n, price="1360") for n in (1, 2)]
    for other in others:
        await expect(_order(page, other).locator('[data-field="status"]')).to_have_text(WORKING)
    await page.get_by_test_id("cancel-all").click()
    await _confirm(
        page,
        "Cancel every open order (2 now), protective stops included? A cover order's stop leg"
        " is cancelled too, which exits that position at market.",
    )
    for other in others:
        await expect(_order(page, other).locator('[data-field="status"]')).to_have_text("CANCELLED")

    # Health: the day's placements the broker answered (5: Kite's daily cap counts no modify
    # or cancel), a reconciliation asked for here, the log verified here, the session and the
    # stream.
    health = page.get_by_test_id("health")
    await expect(health.locator('[data-check="Order rate"]')).to_contain_text("5/5000 placed today")
    await page.get_by_test_id("reconcile-now").click()
    await expect(health.locator('[data-check="Reconciliation"]')).to_have_attribute(
        "data-level", "ok"
    )
    await expect(health.locator('[data-check="Reconciliation"]')).to_contain_text("no differences")
    await page.get_by_test_id("verify-now").click()
    await expect(health.locator('[data-check="Audit log"]')).to_contain_text("Hash chain intact")
    await expect(health.locator('[data-check="Stream"]')).to_contain_text("connected")
    await expect(health.locator('[data-check="Session"]')).to_contain_text("ends in")
    await page.get_by_test_id("check-address").click()
    await expect(health.locator('[data-check="Address"]')).not_to_contain_text("Not checked")

    # A reload keeps the history: the feed is read back from the log.
    await page.reload()
    await expect(page.get_by_test_id("stream-state")).to_have_text("stream: live")
    await expect(page.locator("#events")).to_contain_text("10 filled at")
    await expect(page.locator("#events")).to_contain_text("Cancel sent")
    await expect(legend.locator('[data-series="total"] [data-field="pnl"]')).not_to_have_text(
        "0.00"
    )

    await _screenshots(page, "trading")
    # No secret on the page: not the API token, not the broker session's.
    html = await page.content()
    assert TOKEN not in html
    assert stack.access_token not in html


@pytest.mark.browser
async def test_approve_and_reject_on_the_page_and_the_cards_fit_a_phone(
    stack: Stack, page: Page
) -> None:
    """Signals of a strategy that needs approval wait on the page; one is approved (and
    placed), the other rejected (and never placed); the waiting cards fit at every width."""
    await page.set_viewport_size({"width": 420, "height": 1000})
    ids = []
    for n, price in ((3, "1350"), (4, "1340")):
        signal = {
            "instrument": "NSE:INFY",
            "side": "BUY",
            "quantity": n,
            "order_type": "LIMIT",
            "product": "CNC",
            "price": price,
            "strategy": CAREFUL,
        }
        async with stack.client.post(f"{stack.api.url}/api/signals", json=signal) as response:
            assert response.status == 202, await response.text()
            ids.append((await response.json())["pending"]["approval_id"])
    cards = page.locator("#approvals li")
    await expect(cards).to_have_count(2)
    # The expiry with its day: a parked signal may lapse on another day than today.
    await expect(cards.first.locator(".card-meta")).to_have_text(
        re.compile(r"expires [A-Z][a-z]{2} \d{2} [A-Z][a-z]{2} \d{2}:\d{2}:\d{2} IST$")
    )
    await _screenshots(page, "approvals")

    approve, reject = (page.locator(f'#approvals li[data-approval-id="{i}"]') for i in ids)
    await approve.locator('[data-action="approve"]').click()
    await _confirm(page, "Place careful: Buy 3 NSE:INFY at limit 1,350.00 (CNC, regular, DAY)?")
    placed = page.locator("#orders tr", has_text=CAREFUL)
    await expect(placed).to_have_count(1)
    await expect(placed.locator('[data-field="filled"]')).to_have_text("0 / 3")
    # The approved card leaves the list first: clicked while the list is redrawn (a loaded
    # machine's late update), the click can land on the card that is going.
    await expect(cards).to_have_count(1)

    await reject.locator('[data-action="reject"]').click()
    await _confirm(page, "Drop careful: Buy 4 NSE:INFY at limit 1,340.00 (CNC, regular, DAY)?")
    await expect(cards).to_have_count(0)
    await expect(page.locator("#approvals-empty")).to_be_visible()

    # Per strategy: a manual order beside the approved one; the strategies panel filters.
    manual = {**signal, "strategy": "manual", "quantity": 1, "price": "1330"}
    async with stack.client.post(f"{stack.api.url}/api/signals", json=manual) as response:
        assert response.status == 201, await response.text()
    rows = page.locator("#orders tr")
    await expect(rows).to_have_count(2)
    await page.locator(f'#strategies tr[data-strategy="{CAREFUL}"] [data-action="filter"]').click()
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text(CAREFUL)
    await expect(page.get_by_test_id("orders-filter")).to_contain_text(f"{CAREFUL} only")
    await page.get_by_test_id("orders-filter").click()
    await expect(rows).to_have_count(2)
    async with stack.client.get(
        f"{stack.api.url}/api/approvals", params={"include_decided": "true"}
    ) as response:
        states = {item["approval_id"]: item["state"] for item in await response.json()}
    assert states == {ids[0]: "APPROVED", ids[1]: "REJECTED"}
    await expect(placed).to_have_count(1)
    # Both decisions are in the audit log, the rejection's only trace included.
    decisions = [
        (row.payload["command"], row.payload["params"])
        for row in stack.desk.store.read(kind="OperatorCommandHandled")
    ]
    assert decisions == [("approve", ids[0]), ("reject", ids[1])]
    await expect(page.locator("#events")).to_contain_text(f"api: /reject {ids[1]}: rejected")


@pytest.mark.browser
async def test_signed_out_the_header_offers_nothing_to_act_on(
    stack: Stack, browser: Browser
) -> None:
    """Before the token, no kill switch, no sign-out, no stream pill; after signing out, the
    same again."""
    page = await browser.new_page(viewport={"width": 420, "height": 800})
    await page.goto(stack.api.url)
    await expect(page.get_by_test_id("token-input")).to_be_visible()
    for test_id in ("kill-button", "sign-out", "kill-state", "stream-state", "broker-state"):
        await expect(page.get_by_test_id(test_id)).to_be_hidden()
    await page.get_by_test_id("token-input").fill(TOKEN)
    await page.get_by_test_id("token-submit").click()
    await expect(page.get_by_test_id("kill-button")).to_be_enabled()
    await expect(page.get_by_test_id("sign-out")).to_be_visible()
    await page.get_by_test_id("sign-out").click()
    await expect(page.get_by_test_id("token-input")).to_be_visible()
    await expect(page.get_by_test_id("kill-button")).to_be_hidden()
    await expect(page.get_by_test_id("sign-out")).to_be_hidden()
    await page.close()


@pytest.mark.browser
async def test_a_refused_session_turns_the_health_panel_red_with_what_to_do(
    stack: Stack, page: Page
) -> None:
    """The broker refuses the session (Kite's 06:00 expiry, on the simulator): the order
    placed from the page is held, and the health panel's session row turns red and says to
    log in again."""
    health = page.get_by_test_id("health")
    session = health.locator('[data-check="Session"]')
    await expect(session).to_have_attribute("data-level", re.compile("^(ok|warn)$"))
    async with stack.client.post(
        f"{stack.sim.rest_root}/_sim/faults", json={"expire_tokens": True}
    ) as response:
        assert response.status == 200, await response.text()

    form = page.get_by_test_id("entry-form")
    await page.get_by_test_id("entry-instrument").fill("NSE:INFY")
    await form.locator('input[name="side"][value="BUY"]').check()
    await page.get_by_test_id("entry-quantity").fill("1")
    await page.get_by_test_id("entry-price").fill("1400")
    await page.get_by_test_id("entry-submit").click()
    await _confirm(page, re.compile(r"^Buy 1 NSE:INFY at limit 1,400\.00"))

    await expect(session).to_have_attribute("data-level", "bad")
    await expect(session.locator('[data-field="todo"]')).to_contain_text("orderdesk login")
    await expect(page.locator("#events")).to_contain_text("Broker session ended")
    await _screenshots(page, "session-refused")


@pytest.mark.browser
async def test_an_order_placed_outside_the_desk_is_reported_in_words(
    stack: Stack, page: Page
) -> None:
    """An order placed at the broker behind the desk's back (on Kite web, say) is adopted; the
    alert and the feed say so in words, not with the finding's internal name."""
    external = {
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "quantity": 2,
        "order_type": "LIMIT",
        "product": "CNC",
        "price": 1400,
        "validity": "DAY",
    }
    async with stack.client.post(
        f"{stack.sim.rest_root}/_sim/orders/external", json=external
    ) as response:
        assert response.status == 200, await response.text()
    await page.get_by_test_id("reconcile-now").click()
    words = "an order placed outside orderdesk was found and adopted"
    await expect(page.get_by_test_id("alerts")).to_contain_text(f"Reconciliation: {words}")
    await expect(page.get_by_test_id("alerts")).not_to_contain_text("external_order")
    await expect(page.locator("#events")).to_contain_text(f"Reconciliation: {words}")
    await expect(page.locator("#orders tr")).to_have_count(1)
    reconciliation = page.get_by_test_id("health").locator('[data-check="Reconciliation"]')
    await expect(reconciliation).to_contain_text("1 order, 0 trades checked")


@pytest.mark.browser
async def test_the_days_panel_shows_the_open_day_and_its_close(
    days_stack: Stack, browser: Browser
) -> None:
    """On a desk that keeps trading days, Monday is open (live P&L) and, once the simulator's
    clock passes the close, closed with the P&L it closed at."""
    stack = days_stack
    await stack.set_price("INFY", 1500)
    page = await _signed_in(stack, browser)
    monday = page.locator('#days tr[data-day="2026-12-07"]')
    await expect(monday.locator('[data-field="status"]')).to_have_text("open")

    order_id = await _place(page, side="BUY", quantity=10, price="1400")
    await stack.set_price("INFY", 1399)
    await expect(_order(page, order_id).locator('[data-field="status"]')).to_have_text("FILLED")
    await stack.set_price("INFY", 1420)
    await expect(monday.locator('[data-field="pnl"]')).to_have_text("210.00")

    await set_sim_clock(stack.sim, datetime(2026, 12, 7, 16, 30))  # past the 16:15 close
    await expect(monday.locator('[data-field="status"]')).to_have_text("closed")
    await expect(monday.locator('[data-field="pnl"]')).to_have_text("210.00")
    await expect(page.locator("#events")).to_contain_text("Trading day 2026-12-07 closed")
    await no_overflow(page, 420)
    await page.close()


@pytest.mark.browser
async def test_a_sale_out_of_holdings_reads_as_stock_sold_with_nothing_to_exit(
    holdings_stack: Stack, browser: Browser
) -> None:
    """Selling the 10 held at 1610: the row keeps the broker's -10, says they came from
    holdings, counts +1,100 against the 1500 close, and offers no Exit (a buy-back); the day's
    positions under the days list mark it the same; the holding reads 4 settled and 6 T1 apart,
    as `orderdesk holdings` and Kite show them."""
    stack = holdings_stack
    await stack.set_price("INFY", 1610)
    page = await _signed_in(stack, browser)
    order_id = await _place(page, side="SELL", quantity=10, price="1610")
    await expect(_order(page, order_id).locator('[data-field="status"]')).to_have_text("FILLED")
    await stack.set_price("INFY", 1700)
    position = page.locator('#positions tr[data-instrument="NSE:INFY"]')
    await expect(position.locator('[data-field="quantity"]')).to_have_text("-10")
    await expect(position.locator('[data-field="from-holdings"]')).to_have_text(
        " (10 from holdings)"
    )
    await expect(position.locator('[data-field="pnl"]')).to_have_text("1,100.00")
    await expect(position.locator('[data-action="exit"]')).to_have_count(0)
    holding = page.locator('[data-testid="holdings"] tr[data-instrument="NSE:INFY"]')
    await expect(holding.locator('[data-field="quantity"]')).to_have_text("4")
    await expect(holding.locator('[data-field="t1"]')).to_have_text("6")
    await expect(holding.locator('[data-field="sold-today"]')).to_have_text("10")
    await page.locator('#days tr[data-day="2026-12-07"] [data-action="day-positions"]').click()
    day_line = page.locator('#day-positions tr[data-instrument="NSE:INFY"]')
    await expect(day_line.locator('[data-field="quantity"]')).to_have_text("-10")
    await expect(day_line.locator('[data-field="from-holdings"]')).to_have_text(
        " (10 from holdings)"
    )
    await page.close()


async def _fill_form(page: Page, fields: dict[str, str]) -> None:
    form = page.get_by_test_id("entry-form")
    for name, value in fields.items():
        field = form.locator(f'[name="{name}"]')
        if name == "side":
            await form.locator(f'input[name="side"][value="{value}"]').check()
        elif await field.evaluate("node => node.tagName") == "SELECT":
            await field.select_option(value)
        else:
            await field.fill(value)


@pytest.mark.parametrize(
    ("fields", "words", "status"),
    [
        pytest.param(
            {"order_type": "SL", "price": "1515", "trigger_price": "1510"},
            "Buy 4 NSE:INFY stop-loss limit 1,515.00, trigger 1,510.00 (CNC, regular, DAY)",
            "TRIGGER_PENDING",
            id="stop-loss",
        ),
        pytest.param(
            {"variety": "iceberg", "iceberg_legs": "2", "iceberg_quantity": "2"},
            "Buy 4 NSE:INFY at limit 1,400.00 (CNC, iceberg, DAY, 2 legs of 2)",
            "OPEN",
            id="iceberg",
        ),
        pytest.param(
            {"validity": "TTL", "validity_ttl": "5"},
            "Buy 4 NSE:INFY at limit 1,400.00 (CNC, regular, valid 5 min)",
            "OPEN",
            id="ttl",
        ),
        pytest.param(
            {"variety": "co", "product": "MIS", "trigger_price": "1390"},
            "Buy 4 NSE:INFY at limit 1,400.00, trigger 1,390.00 (MIS, co, DAY)",
            "OPEN",
            id="cover",
        ),
        pytest.param(
            {"variety": "amo"},
            "Buy 4 NSE:INFY at limit 1,400.00 (CNC, amo, DAY)",
            r"(AMO_REQ_RECEIVED|OPEN|ACCEPTED)",
            id="amo",
        ),
    ],
)
@pytest.mark.browser
async def test_the_order_form_places_each_variety_in_words(
    stack: Stack, page: Page, fields: dict[str, str], words: str, status: str
) -> None:
    """The form's other varieties, types and validities reach the broker as the confirmation
    said."""
    base = {"instrument": "NSE:INFY", "side": "BUY", "quantity": "4", "order_type": "LIMIT"}
    await _fill_form(page, {**base, "price": "1400", **fields})
    await page.get_by_test_id("entry-submit").click()
    await _confirm(page, f"{words}, for strategy manual.")
    notice = page.get_by_test_id("notice")
    await expect(notice).to_contain_text("sent")
    match = re.search(r"Order (\S+) sent", await notice.inner_text())
    assert match is not None
    row = _order(page, match.group(1))
    await expect(row.locator('[data-field="status"]')).to_have_text(re.compile(f"^{status}$"))


async def _signal(stack: Stack, body: dict[str, Any]) -> str:
    """An order from "a strategy" through the API; returns its id."""
    async with stack.client.post(f"{stack.api.url}/api/signals", json=body) as response:
        assert response.status == 201, await response.text()
        return str((await response.json())["order"]["order_id"])


@pytest.mark.browser
async def test_the_kill_switchs_cancel_shows_the_cover_leg_it_kept(
    stack: Stack, page: Page
) -> None:
    """A filled cover order's stop leg and a resting buy: Cancel all's confirmation warns that
    cancelling the leg exits at market (Back leaves both); engaging the kill switch with
    "cancel open orders" cancels the buy, keeps the leg working, and the page names the leg
    and why it was kept."""
    cover = {
        "instrument": "NSE:INFY",
        "side": "BUY",
        "quantity": 10,
        "order_type": "MARKET",
        "product": "MIS",
        "variety": "co",
        "trigger_price": "1390",
    }
    cover_id = await _signal(stack, cover)
    buy = {**cover, "quantity": 1, "order_type": "LIMIT", "product": "CNC", "price": "1360"}
    resting = await _signal(stack, {**buy, "variety": "regular", "trigger_price": None})
    await expect(_order(page, cover_id).locator('[data-field="status"]')).to_have_text("FILLED")
    leg = page.locator("#orders tr").filter(has_text="SL-M")
    await expect(leg.locator('[data-field="status"]')).to_have_text("TRIGGER_PENDING")
    leg_id = await leg.get_attribute("data-order-id")
    await expect(_order(page, resting).locator('[data-field="status"]')).to_have_text(WORKING)

    await page.get_by_test_id("cancel-all").click()
    await expect(page.get_by_test_id("confirm-text")).to_have_text(
        "Cancel every open order (2 now), protective stops included? Among them the stop leg"
        f" of cover order {cover_id}: cancelling a stop leg exits its position at market."
    )
    await page.get_by_test_id("confirm-no").click()
    await expect(page.get_by_test_id("confirm")).to_be_hidden()

    await page.get_by_test_id("kill-cancel").check()
    await page.get_by_test_id("kill-button").click()

    await expect(page.get_by_test_id("kill-state")).to_have_text("kill switch: ENGAGED")
    notice = page.get_by_test_id("notice")
    await expect(notice).to_contain_text(
        "Kill switch engaged: cancels sent for 1 open order(s). Kept 1 protective order(s) working:"
    )
    kept = page.get_by_test_id("kept-orders").locator("li")
    await expect(kept).to_have_count(1)
    await expect(kept).to_have_attribute("data-order-id", str(leg_id))
    await expect(kept).to_contain_text(f"stop leg of cover order {cover_id}: cancelling it would")
    await expect(_order(page, resting).locator('[data-field="status"]')).to_have_text("CANCELLED")
    await expect(leg.locator('[data-field="status"]')).to_have_text("TRIGGER_PENDING")

    # Released (after its confirmation), the notice says so: the engage's warning of kept
    # orders stood under "off".
    await page.get_by_test_id("kill-button").click()
    await _confirm(page, re.compile(r"^Release the kill switch\?"))
    await expect(page.get_by_test_id("kill-state")).to_have_text("kill switch: off")
    await expect(notice).to_have_text("Kill switch released: new orders are taken again.")


@pytest.mark.browser
async def test_an_mis_position_is_kept_as_cnc_through_the_page(stack: Stack, page: Page) -> None:
    """Keep, on an MIS position: the confirmation says what moves where, the desk converts it
    at the broker, and the position reads CNC with its P&L as it was."""
    order_id = await _place(page, side="BUY", quantity=10, price="1400", product="MIS")
    await stack.set_price("INFY", 1399)
    await expect(_order(page, order_id).locator('[data-field="status"]')).to_have_text("FILLED")
    intraday = page.locator('#positions tr[data-instrument="NSE:INFY"][data-product="MIS"]')
    await expect(intraday.locator('[data-field="quantity"]')).to_have_text("10")
    await stack.set_price("INFY", 1420)
    await expect(intraday.locator('[data-field="pnl"]')).to_have_text("210.00")  # bought at 1,399

    await intraday.locator('[data-action="keep"]').click()
    await _confirm(
        page,
        "Convert 10 NSE:INFY from MIS to CNC: kept past the broker's square-off, at its cost."
        " No order is placed.",
    )
    await expect(page.get_by_test_id("notice")).to_contain_text(
        "Converted NSE:INFY: 10 of the long MIS position to CNC."
    )
    kept = page.locator('#positions tr[data-instrument="NSE:INFY"][data-product="CNC"]')
    await expect(kept.locator('[data-field="quantity"]')).to_have_text("10")
    await expect(kept.locator('[data-field="pnl"]')).to_have_text("210.00")
    await expect(intraday.locator('[data-field="quantity"]')).to_have_text("0")
    await expect(intraday.locator('[data-action="keep"]')).to_have_count(0)
    await expect(page.locator("#trades tr")).to_have_count(1)  # no order, no trade
