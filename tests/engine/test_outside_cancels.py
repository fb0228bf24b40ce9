"""What the desk says when its orders end at the broker by a hand other than its own.

- The desk's own exit of a cover order's stop leg (a cancel, which Kite turns into a MARKET
  order that fills) is never an outside modification, even after the desk moved the stop (the
  row then reads ``modified``); a stop moved at the broker by someone else still is.
- A working order of the desk's cancelled by someone else (Kite web or mobile, another API
  client) is alerted WARNING, "Order cancelled outside orderdesk", with its strategy and what
  had filled, and its timeline says so; the desk's own cancels and the broker's or exchange's
  ordinary ends of an order (IOC remainder, TTL expiry, exchange or RMS cancellations, the
  square-off and mass cancel times) are not.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from orderdesk.api.event_words import describe
from orderdesk.domain import OrderStatus, OrderType, Product
from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.domain.day import INTRADAY
from orderdesk.domain.events import OrderModified, OrderStatusChanged
from orderdesk.domain.reports import OrderStatusReport
from orderdesk.domain.status import BrokerStatus
from orderdesk.domain.values import Validity
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.config import DayRules
from orderdesk.engine.handle import OrderHandle
from orderdesk.ports.notifier import Alert, Severity
from tests.engine.conftest import FAST
from tests.engine.cover_legs import long_with_cover_order
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import WallClock, eventually

MODIFIED_OUTSIDE = "Order modified outside orderdesk"
CANCELLED_OUTSIDE_TITLE = "Order cancelled outside orderdesk"
DAYS = replace(FAST, days=DayRules(calendar=TradingCalendar(frozenset())))
MONDAY = date(2026, 12, 7)


class KiteLikeBroker(FakeBroker):
    """The fake broker, but a cover order's stop leg cancelled with its parent's id exits as
    Kite's does: the leg becomes a MARKET order (trigger 0) and fills at once."""

    async def cancel_order(
        self, broker_order_id: str, variety: Any, *, parent_order_id: str | None = None
    ) -> None:
        report = self.book[broker_order_id].report
        if parent_order_id is None or report.parent_order_id != parent_order_id:
            await super().cancel_order(broker_order_id, variety, parent_order_id=parent_order_id)
            return
        self.cancel_calls += 1
        self._update(
            broker_order_id,
            order_type=OrderType.MARKET,
            trigger_price=Decimal(0),
            status=BrokerStatus.OPEN,
            broker_status_text="OPEN",
        )
        self.fill(broker_order_id)


def about(notifier: RecordingNotifier, order_id: str, title: str) -> list[Alert]:
    return [a for a in notifier.alerts if a.order_id == order_id and a.title == title]


def cancelled_at_broker(
    broker: FakeBroker, broker_order_id: str, message: str | None = None
) -> OrderStatusReport:
    """What Kite's stream says of an order cancelled by someone (or something) at the broker."""
    report = broker.book[broker_order_id].report
    return broker._update(
        broker_order_id,
        status=BrokerStatus.CANCELLED,
        broker_status_text="CANCELLED",
        cancelled_quantity=report.pending_quantity,
        pending_quantity=0,
        status_message=message,
    )


async def resting_buy(desk: OrderDesk, signal_id: str, **fields: Any) -> OrderHandle:
    """A desk BUY of 15 INFY LIMIT 1490 resting at the broker."""
    terms: dict[str, Any] = {
        "quantity": 15,
        "order_type": OrderType.LIMIT,
        "price": Decimal("1490"),
        "strategy": "meanrev",
        "signal_id": signal_id,
    }
    terms.update(fields)
    handle = await desk.submit(signal(**terms))
    await handle.wait(lambda h: h.status is OrderStatus.OPEN)
    return handle


def words_of_the_end(store: MemoryStore, order_id: str) -> str:
    [ended] = [
        e
        for e in store.events()
        if isinstance(e, OrderStatusChanged)
        and e.order_id == order_id
        and e.base_status is OrderStatus.CANCELLED
    ]
    return describe(ended)


# -- defect 1: the desk's own exit of a stop leg ---------------------------------------------


async def test_the_desks_exit_of_a_stop_leg_it_moved_is_not_a_modification_outside() -> None:
    """A cover order's stop leg moved by the desk (23900 → 23910), then exited by the desk:
    Kite shows the leg MARKET, trigger 0, modified, COMPLETE. That is the exit, not new terms:
    no "modified outside" alert, no outside OrderModified in the log, and the leg ends FILLED
    with the stop the desk gave it."""
    broker, store, notifier = KiteLikeBroker(), MemoryStore(), RecordingNotifier()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        cover_id, leg_id = await long_with_cover_order(desk, broker)
        await desk.modify(leg_id, trigger_price=Decimal("23910"))
        leg = desk.order(leg_id)
        assert leg.trigger_price == Decimal("23910")

        await desk.cancel(cover_id)
        await desk.handle(leg_id).wait()
        await desk.idle()

        assert leg.status is OrderStatus.FILLED
        assert leg.terms.trigger_price == Decimal("23910")
        assert about(notifier, leg_id, MODIFIED_OUTSIDE) == []
        assert about(notifier, leg_id, CANCELLED_OUTSIDE_TITLE) == []
        assert not [e for e in store.events() if isinstance(e, OrderModified) and e.external]


async def test_a_stop_leg_moved_at_the_broker_is_still_a_modification_outside() -> None:
    """The leg's trigger moved by someone else (23900 → 23850) is alerted as before."""
    broker, store, notifier = KiteLikeBroker(), MemoryStore(), RecordingNotifier()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        _, leg_id = await long_with_cover_order(desk, broker)
        leg = desk.order(leg_id)
        assert leg.broker_order_id is not None

        broker._update(leg.broker_order_id, trigger_price=Decimal("23850"), modified=True)

        [alert] = await eventually(lambda: about(notifier, leg_id, MODIFIED_OUTSIDE))
        assert "trigger 23900 → 23850" in alert.body
        assert leg.trigger_price == Decimal("23850")


# -- defect 2: cancels made outside the desk --------------------------------------------------


async def test_a_cancel_made_outside_the_desk_is_alerted_with_what_had_filled() -> None:
    """10 of 15 filled, then cancelled on Kite web: a WARNING naming the order, its strategy
    and the 10 filled; the timeline says it was cancelled outside orderdesk."""
    broker, store, notifier = FakeBroker(), MemoryStore(), RecordingNotifier()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        handle = await resting_buy(desk, "partly")
        order = handle.order
        assert order.broker_order_id is not None
        broker.fill(order.broker_order_id, 10)
        await handle.wait(lambda h: h.order.filled_quantity == 10)

        await broker.cancel_order(order.broker_order_id, order.signal.variety)

        [alert] = await eventually(lambda: about(notifier, order.order_id, CANCELLED_OUTSIDE_TITLE))
        assert alert.severity is Severity.WARNING
        assert order.order_id in alert.body
        assert "meanrev" in alert.body
        assert "10 of 15 filled at 1,490.00" in alert.body
        assert "someone cancelled it outside orderdesk" in alert.body
        assert order.status is OrderStatus.CANCELLED
        assert order.reason == "cancelled outside orderdesk"
        assert words_of_the_end(store, order.order_id) == (
            "Cancelled outside orderdesk (broker: CANCELLED), 10 filled at 1490"
        )


async def test_the_alert_says_an_average_of_fills_at_two_prices_to_four_decimals() -> None:
    """Fills of 1 at 1490 and 2 at 1489.95: the alert said "3 of 15 filled at
    1489.966666666666666666666667", the average to Decimal's 28 digits."""
    broker, store, notifier = FakeBroker(), MemoryStore(), RecordingNotifier()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        handle = await resting_buy(desk, "averaged")
        order = handle.order
        assert order.broker_order_id is not None
        broker.fill(order.broker_order_id, 1)
        broker._update(order.broker_order_id, price=Decimal("1489.95"))
        broker.fill(order.broker_order_id, 2)
        await handle.wait(lambda h: h.order.filled_quantity == 3)

        # Cancelled on Kite web; Kite's report holds the two prices' average, unrounded.
        broker._update(
            order.broker_order_id,
            status=BrokerStatus.CANCELLED,
            broker_status_text="CANCELLED",
            cancelled_quantity=12,
            pending_quantity=0,
            average_price=(1490 + 2 * Decimal("1489.95")) / 3,
        )

        [alert] = await eventually(lambda: about(notifier, order.order_id, CANCELLED_OUTSIDE_TITLE))
        assert "3 of 15 filled at 1,489.9667;" in alert.body, alert.body


async def test_the_desks_own_cancels_are_not_alerted_as_outside() -> None:
    """A cancel by the desk (one order, and cancel-all): the broker's CANCELLED is the desk's
    own, said as the broker's news and alerted to nobody."""
    broker, store, notifier = FakeBroker(), MemoryStore(), RecordingNotifier()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        one = await resting_buy(desk, "one")
        other = await resting_buy(desk, "other")

        await desk.cancel(one.order_id)
        await one.wait()
        await desk.cancel_all()
        await other.wait()
        await desk.idle()

        assert (one.status, other.status) == (OrderStatus.CANCELLED, OrderStatus.CANCELLED)
        assert CANCELLED_OUTSIDE_TITLE not in notifier.titles()
        assert words_of_the_end(store, one.order_id) == "Broker: CANCELLED"


async def test_the_brokers_and_the_exchanges_own_cancellations_are_not_alerted() -> None:
    """An IOC order's remainder, and an order the exchange cancelled (its words say so)."""
    broker, store, notifier = FakeBroker(), MemoryStore(), RecordingNotifier()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        ioc = await resting_buy(desk, "ioc", validity=Validity.IOC)
        by_exchange = await resting_buy(desk, "lpp")
        assert ioc.order.broker_order_id
        assert by_exchange.order.broker_order_id

        cancelled_at_broker(broker, ioc.order.broker_order_id)
        cancelled_at_broker(
            broker,
            by_exchange.order.broker_order_id,
            "Order cancelled by the exchange: beyond the limit price protection range",
        )
        await ioc.wait()
        await by_exchange.wait()
        await desk.idle()

        assert CANCELLED_OUTSIDE_TITLE not in notifier.titles()
        assert words_of_the_end(store, ioc.order_id) == "Broker: CANCELLED"


async def test_a_cancellation_with_words_the_desk_does_not_know_is_alerted_saying_so() -> None:
    """Broker's words the desk cannot put down to the broker or the exchange: alerted, with
    the words and the doubt, rather than not at all."""
    broker, store, notifier = FakeBroker(), MemoryStore(), RecordingNotifier()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        handle = await resting_buy(desk, "unsure")
        order = handle.order
        assert order.broker_order_id is not None

        cancelled_at_broker(broker, order.broker_order_id, "Cancelled: user request")

        [alert] = await eventually(lambda: about(notifier, order.order_id, CANCELLED_OUTSIDE_TITLE))
        assert "'Cancelled: user request'" in alert.body
        assert "or the broker or the exchange, cancelled it" in alert.body
        assert "nothing of 15 filled" in alert.body
        assert words_of_the_end(store, order.order_id) == (
            "Cancelled outside orderdesk (broker: CANCELLED) (Cancelled: user request)"
        )
        assert order.reason == (
            "cancelled outside orderdesk (the broker's words: Cancelled: user request)"
        )


async def test_cancellations_at_the_square_off_and_of_a_ttl_past_its_minutes_are_not_alerted() -> (
    None
):
    """On a Monday: an MIS order cancelled at 15:21 (the broker's square-off, alerted by the
    desk's own square-off clock) and a TTL order of 1 minute cancelled 2 minutes on (its
    expiry) say nothing of a cancel outside; a CNC order cancelled at 10:05 does."""
    broker, store, notifier = FakeBroker(), MemoryStore(), RecordingNotifier()
    clock = WallClock(datetime(2026, 12, 7, 10, 0, tzinfo=IST))
    async with OrderDesk(
        broker, store, notifier=notifier, clock=clock, config=DAYS, limits=RiskLimits()
    ) as desk:
        ttl = await resting_buy(desk, "ttl", validity=Validity.TTL, validity_ttl=1)
        held = await resting_buy(desk, "cnc", product=Product.CNC)
        intraday = await resting_buy(desk, "mis")
        assert intraday.order.signal.product in INTRADAY
        assert ttl.order.broker_order_id
        assert held.order.broker_order_id
        assert intraday.order.broker_order_id

        clock.at += timedelta(minutes=2)
        cancelled_at_broker(broker, ttl.order.broker_order_id)
        await ttl.wait()
        cancelled_at_broker(broker, held.order.broker_order_id)
        await eventually(lambda: about(notifier, held.order_id, CANCELLED_OUTSIDE_TITLE))

        clock.set(MONDAY, 15, 21)
        cancelled_at_broker(broker, intraday.order.broker_order_id)
        await intraday.wait()
        await desk.idle()

        titled = [a.order_id for a in notifier.alerts if a.title == CANCELLED_OUTSIDE_TITLE]
        assert titled == [held.order_id]


async def test_an_exit_cancelled_outside_is_told_once_by_the_exits_alert() -> None:
    """The exit's own WARNING says it was cancelled outside orderdesk and that the position may
    still be open; the general "Order cancelled outside orderdesk" is not said besides (both
    were, for one cancel)."""
    broker, store, notifier = FakeBroker(), MemoryStore(), RecordingNotifier()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        bought = await desk.submit(signal(quantity=15, strategy="meanrev"))
        await bought.wait()
        broker.fill_market = False  # the exit rests at the broker
        exit_ = await desk.exit_position(INFY, product=Product.MIS)
        assert exit_ is not None
        await exit_.wait(lambda h: h.status is OrderStatus.OPEN)
        order = exit_.order
        assert order.broker_order_id is not None

        await broker.cancel_order(order.broker_order_id, order.signal.variety)

        [alert] = await eventually(lambda: about(notifier, order.order_id, "Exit cancelled"))
        assert "cancelled outside orderdesk with 15 not filled" in alert.body
        assert "the position may still be open" in alert.body
        await desk.idle()
        assert about(notifier, order.order_id, CANCELLED_OUTSIDE_TITLE) == []
        assert order.reason == "cancelled outside orderdesk"
