"""The paper broker's cash pays each trading day's charges at the 06:00 rollover, as the
simulator's does, and its ``opening_balance`` is the cash the day began with, not the cash
now; a book kept before it knew the day's cash still loads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import msgspec

from orderdesk.brokers.paper import PaperBroker
from orderdesk.brokers.paper.state import state_path
from orderdesk.domain.calendar import IST
from orderdesk.domain.reports import OrderStatusReport, SegmentMargins
from orderdesk.domain.values import Product, Side
from tests.contract.test_paper_days import INFY, TCS, command, paper
from tests.contract.test_paper_walk_days import restarted, sell
from tests.support import WallClock

MONDAY, TUESDAY = date(2026, 12, 7), date(2026, 12, 8)
CASH = Decimal(1_000_000)
CNC, MIS = Product.CNC, Product.MIS
DP = Decimal("15.93")
"""The DP charge (13.50 + 18 % GST) of a scrip sold from holdings: the ledger's, once a day."""


async def equity(broker: PaperBroker) -> SegmentMargins:
    margins = (await broker.margins()).equity
    assert margins is not None
    return margins


async def day_charges(broker: PaperBroker) -> Decimal:
    """What the desk's ``charges`` is told the book's executed orders cost."""
    executed = [o for o in await broker.orders() if o.filled_quantity]
    return sum((c.total for c in await broker.order_charges(executed)), Decimal(0))


async def charged_as(
    broker: PaperBroker, lines: Sequence[tuple[OrderStatusReport, Product, int]]
) -> Decimal:
    """What the calculator charges parts of orders, each (order, product, quantity), as the
    desk asks for a day's delivery bought and sold in the day."""
    reports = [replace(r, product=p, filled_quantity=q) for r, p, q in lines]
    return sum((c.total for c in await broker.order_charges(reports)), Decimal(0))


async def test_the_cash_pays_the_days_charges_at_the_rollover(tmp_path: Path) -> None:
    """Monday: 10 INFY bought CNC at 1500, 5 TCS bought MIS at 4000 and squared off by the
    broker at 15:20. Tuesday 06:00 takes what the calculator charges those three orders off
    the cash, rounded to the paisa, and Tuesday opens with that cash."""
    clock = WallClock(datetime(2026, 12, 7, 10, 0, tzinfo=IST))
    broker = paper(clock, tmp_path)
    await broker.place_order(command(INFY, Product.CNC, 10, "cnc"))
    await broker.place_order(command(TCS, Product.MIS, 5, "mis"))
    clock.set(MONDAY, 16, 30)
    assert len([o for o in await broker.orders() if o.filled_quantity]) == 3
    charged = await day_charges(broker)
    assert charged > Decimal(20)  # two MIS orders' brokerage, and the STT of the CNC buy
    traded = CASH - 15_000  # the MIS round trip at 4000 both ways nets nothing
    assert (await equity(broker)).cash == traded  # charges are not taken during the day

    clock.set(TUESDAY, 9, 20)
    after = await equity(broker)
    assert after.cash == traded - charged.quantize(Decimal("0.01"))
    assert after.cash < traded
    assert after.opening_balance == after.cash
    kept = msgspec.json.decode(state_path(tmp_path).read_bytes())
    assert Decimal(kept["cash"]) == Decimal(kept["day_cash"]) == after.cash
    # Tuesday's rollover done, Wednesday's charges nothing again (its book is empty).
    clock.set(date(2026, 12, 9), 9, 20)
    assert (await equity(broker)).cash == after.cash
    await broker.close()


async def test_a_day_missed_while_the_desk_was_down_pays_its_charges(tmp_path: Path) -> None:
    """Monday's MIS round trip, the desk stopped at 11:00 and started Tuesday: the rollover
    found on the restart charges Monday's orders, as a running desk's would have."""
    clock = WallClock(datetime(2026, 12, 7, 10, 0, tzinfo=IST))
    monday = paper(clock, tmp_path)
    await monday.place_order(command(INFY, Product.MIS, 10, "in"))
    await monday.place_order(sell(INFY, Product.MIS, 10, "out"))
    charged = await day_charges(monday)
    assert charged > 0
    clock.set(MONDAY, 11, 0)
    await monday.close()

    clock.set(TUESDAY, 9, 20)
    tuesday = restarted(clock, tmp_path)
    await tuesday.start()
    after = await equity(tuesday)
    assert after.cash == CASH - charged.quantize(Decimal("0.01"))
    assert after.opening_balance == after.cash
    await tuesday.close()


async def test_opening_is_the_cash_the_day_began_with(tmp_path: Path) -> None:
    """A fresh book buys 10 INFY at 1500 and 1 TCS at 4000: its cash and live balance are
    981,000, its opening balance still 1,000,000, also after a restart the same day; the
    next day opens with the cash the old one left, less its charges."""
    clock = WallClock(datetime(2026, 12, 7, 10, 0, tzinfo=IST))
    broker = paper(clock, tmp_path)
    await broker.place_order(command(INFY, Product.CNC, 10, "infy"))
    await broker.place_order(command(TCS, Product.CNC, 1, "tcs"))
    now = await equity(broker)
    assert (now.opening_balance, now.cash, now.live_balance) == (CASH, 981_000, 981_000)
    await broker.close()

    clock.set(MONDAY, 11, 0)
    again = restarted(clock, tmp_path)
    await again.start()
    assert (await equity(again)).opening_balance == CASH
    charged = await day_charges(again)

    clock.set(TUESDAY, 9, 20)
    tuesday = await equity(again)
    assert tuesday.opening_balance == 981_000 - charged.quantize(Decimal("0.01"))
    await again.place_order(sell(TCS, Product.CNC, 1, "tcs-out"))
    sold = await equity(again)
    assert (sold.opening_balance, sold.cash) == (
        tuesday.opening_balance,
        tuesday.opening_balance + 4000,
    )
    await again.close()


async def test_a_book_kept_before_the_days_cash_was_still_opens_at_it(tmp_path: Path) -> None:
    """A kept book without ``day_cash`` (written before it was kept) loads; its day began
    with the cash before the day's trades, and its rollover charges that day."""
    clock = WallClock(datetime(2026, 12, 7, 10, 0, tzinfo=IST))
    first = paper(clock, tmp_path)
    await first.place_order(command(INFY, Product.CNC, 10, "infy"))
    await first.place_order(sell(INFY, Product.CNC, 4, "part"))
    # The 4 sold were bought the same day: charged, and 4 of the buy, as intraday.
    bought, sold = await first.orders()
    charged = await charged_as(first, [(bought, CNC, 6), (bought, MIS, 4), (sold, MIS, 4)])
    await first.close()
    path = state_path(tmp_path)
    kept = msgspec.json.decode(path.read_bytes())
    kept.pop("day_cash", None)
    path.write_bytes(msgspec.json.encode(kept))

    clock.set(MONDAY, 11, 0)
    old = restarted(clock, tmp_path)
    await old.start()
    now = await equity(old)
    assert (now.opening_balance, now.cash) == (CASH, CASH - 15_000 + 6_000)
    assert [(t.side, t.quantity) for t in await old.trades()] == [(Side.BUY, 10), (Side.SELL, 4)]

    clock.set(TUESDAY, 9, 20)
    assert (await equity(old)).opening_balance == now.cash - charged.quantize(Decimal("0.01"))
    await old.close()


async def test_delivery_squared_off_in_the_day_is_charged_as_intraday(tmp_path: Path) -> None:
    """The walk: INFY 100 bought CNC at 1500, 30 sold CNC at 1520. Tuesday's cash is lower by
    the buy's 70 as delivery and its 30 and the sale as intraday, not all as delivery."""
    clock = WallClock(datetime(2026, 12, 7, 10, 0, tzinfo=IST))
    broker = paper(clock, tmp_path)
    await broker.place_order(command(INFY, CNC, 100, "in"))
    broker.set_price(INFY, Decimal(1520))
    await broker.place_order(sell(INFY, CNC, 30, "out"))
    bought, sold = await broker.orders()
    charged = await charged_as(broker, [(bought, CNC, 70), (bought, MIS, 30), (sold, MIS, 30)])
    assert charged < await day_charges(broker) - 50  # STT 116.40, not 195.60
    traded = (await equity(broker)).cash
    assert traded == CASH - 150_000 + 45_600

    clock.set(TUESDAY, 9, 20)
    assert (await equity(broker)).cash == traded - charged.quantize(Decimal("0.01"))
    await broker.close()


async def test_a_sale_from_holdings_pays_the_dp_charge(tmp_path: Path) -> None:
    """10 INFY bought CNC on Monday and carried (the paper book's holdings); Tuesday sells 4 in
    two orders: one DP charge on top of the calculator's, at Wednesday's rollover."""
    clock = WallClock(datetime(2026, 12, 7, 10, 0, tzinfo=IST))
    broker = paper(clock, tmp_path)
    await broker.place_order(command(INFY, CNC, 10, "in"))
    clock.set(TUESDAY, 10, 0)
    await broker.place_order(sell(INFY, CNC, 2, "out1"))
    await broker.place_order(sell(INFY, CNC, 2, "out2"))
    charged = await day_charges(broker)
    traded = (await equity(broker)).cash

    clock.set(date(2026, 12, 9), 9, 20)
    assert (await equity(broker)).cash == traded - (charged + DP).quantize(Decimal("0.01"))
    await broker.close()
