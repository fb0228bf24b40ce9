"""Matching: a working order against the market's last price, its fills and the trades they make.

The exchange matches an order once when it is released (placement, an AMO at the open), after
a modification and whenever its instrument's price changes:

- Each history row carries the time of its own state (KITE_API.md §4.5, ``order_info.json``):
  ``order_timestamp`` moves when the OMS takes the order on (its release, an AMO's at the open)
  and when a stop triggers; ``exchange_timestamp`` when the exchange registers it (release,
  trigger) and at each fill; ``exchange_update_timestamp`` at every exchange change.
- MARKET fills at the last price while that lies within its market protection's bound, a
  triggered SL-M at the last price; LIMIT (and a triggered SL) when the last price crosses the
  limit, at the last price (never worse than the limit); SL/SL-M wait in ``TRIGGER PENDING``
  until the last price reaches the trigger, and are pushed when it does.
- IOC cancels what the first matching attempt left.
- An iceberg order fills at most its working leg per pass; the next leg is released when that
  one has filled (:meth:`~orderdesk.sim.orders.Order.iceberg_leg`).
- The ``partial_fill`` fault fills only that fraction of what is open per pass (never on the
  broker's own square-off orders), rounded down to whole lots for an instrument whose lot size
  is above 1 (F&O): at least one lot, at most what is open. Equity, and MCX and CDS (whose
  quantities are already lots, lot size 1), fill any count.
- A filled cover order spawns its stop leg (``parent_order_id``, an SL-M in ``TRIGGER PENDING``
  at the stop the order carried); exiting the cover order turns that leg into a MARKET order
  that fills at once.

Every fill is a trade of the book, a fill of the portfolio and a trade of the market (volume,
last trade), and is pushed.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from orderdesk.sim.book import Trade
from orderdesk.sim.clock import SimClock, fmt
from orderdesk.sim.faults import Faults
from orderdesk.sim.ids import IdGenerator
from orderdesk.sim.orders import (
    Order,
    OrderType,
    Product,
    Side,
    Status,
    Validity,
    Variety,
    as_decimal,
    money,
)
from orderdesk.sim.portfolio import Portfolio
from orderdesk.sim.ports import InstrumentLookup, PriceSource
from orderdesk.sim.recorder import Recorder

ZERO = Decimal(0)
AUTO_PROTECTION = 2
"""Percent of the last price that automatic market protection allows: -1, and 0 on the orders
that carry none (an SL-M placed without the field, the orders Kite places itself). UNVERIFIED:
Kite does not publish its automatic bands; its sample book shows ``mktp:2.00`` on a protected
MARKET order."""


class Matcher:
    """Releases, matches and fills orders of the book at the market's last prices."""

    def __init__(
        self,
        *,
        recorder: Recorder,
        clock: SimClock,
        ids: IdGenerator,
        instruments: InstrumentLookup,
        prices: PriceSource,
        portfolio: Portfolio,
        faults: Faults,
    ) -> None:
        self._recorder = recorder
        self._clock = clock
        self._ids = ids
        self._instruments = instruments
        self._prices = prices
        self._portfolio = portfolio
        self._faults = faults

    def __repr__(self) -> str:
        return f"Matcher({self._recorder!r})"

    def last_price(self, token: int) -> Decimal:
        """The market's last price as a Decimal."""
        return as_decimal(self._prices.last_price(token))

    # -- release -------------------------------------------------------------------------------

    def resting_status(self, order: Order) -> Status:
        """Where a working order rests: ``TRIGGER PENDING`` for a stop not yet triggered."""
        if order.order_type in (OrderType.SL, OrderType.SLM) and not order.triggered:
            return Status.TRIGGER_PENDING
        return Status.OPEN

    def release(self, order: Order) -> None:
        """Hand a validated order to the exchange and match it once."""
        recorder = self._recorder
        # The OMS sends the order on now: an AMO at the open, not when it was placed.
        order.order_timestamp = self._clock.now().replace(microsecond=0)
        recorder.transition(order, Status.OPEN_PENDING)
        order.exchange_order_id = self._ids.exchange_order_id()
        order.exchange_timestamp = self._clock.now().replace(microsecond=0)
        recorder.stamp(order)
        recorder.transition(order, self.resting_status(order))
        self.protect(order)
        self.match(order)
        if order.validity is Validity.IOC and order.status is Status.OPEN:
            self.cancel_rest(order)

    def protect(self, order: Order) -> None:
        """Bound a MARKET order by its market protection, from the last price now.

        Kite turns a protected MARKET order into a LIMIT at the protected price (KITE_API.md
        §4.3, §14.2), so what the book cannot fill within the band rests. The book row keeps
        showing MARKET here (Kite "may" show LIMIT); matching honours the bound, which is what
        a trader meets when the market runs away from an exit.
        """
        if order.order_type is not OrderType.MARKET:
            order.protected_price = None
            return
        percent = Decimal(
            order.market_protection if order.market_protection > 0 else AUTO_PROTECTION
        )
        ltp = self.last_price(order.instrument_token)
        inst = self._instruments.by_token(order.instrument_token)
        tick = as_decimal(inst.tick_size) if inst is not None else ZERO
        band = ltp * percent / 100
        bound = ltp + band if order.is_buy else ltp - band
        if tick > 0:
            # Rounded towards the last price: the bound never exceeds the band.
            steps = (bound / tick).to_integral_value(
                rounding=ROUND_FLOOR if order.is_buy else ROUND_CEILING
            )
            bound = steps * tick
        order.protected_price = max(bound, tick)

    # -- matching ------------------------------------------------------------------------------

    def match(self, order: Order) -> None:
        """Trigger and fill ``order`` as far as the last price lets it (resting orders only).

        An auction order rests: it trades in its auction's session, which the simulator does
        not run (its auction list is empty). Filled at the market price like a regular order,
        it told a developer that auction code worked."""
        if order.status not in (Status.OPEN, Status.TRIGGER_PENDING):
            return
        if order.variety is Variety.AUCTION:
            return
        ltp = self.last_price(order.instrument_token)
        if order.status is Status.TRIGGER_PENDING:
            reached = ltp >= order.trigger_price if order.is_buy else ltp <= order.trigger_price
            if not reached:
                return
            order.triggered = True
            # The triggered stop enters the market now (UNVERIFIED that Kite moves
            # order_timestamp too; its history rows carry each state's time).
            now = self._clock.now().replace(microsecond=0)
            order.order_timestamp = now
            order.exchange_timestamp = now
            self._recorder.stamp(order)
            self._recorder.transition(order, Status.OPEN)
            self._recorder.push(order)
        limit = order.price if order.order_type in (OrderType.LIMIT, OrderType.SL) else None
        if order.order_type is OrderType.MARKET:
            limit = order.protected_price
        if limit is not None:
            crossed = ltp <= limit if order.is_buy else ltp >= limit
            if not crossed:
                return
        self.fill(order, self._fill_quantity(order), ltp)

    def _fill_quantity(self, order: Order) -> int:
        quantity = order.pending_quantity
        if order.is_iceberg:
            _leg, released_before, size = order.iceberg_leg()
            quantity = min(quantity, released_before + size - order.filled_quantity)
        fraction = self._faults.partial_fill
        # The broker's own square-off orders close the whole position: no partial-fill fault.
        if 0 < fraction < 1 and order.placed_by is None:
            # The exchange fills in whole lots: at least one, at most what is open; an
            # instrument of lot size 1 (equity; MCX and CDS count lots) fills any count.
            lot = self._lot_size(order)
            part = max(1, math.floor(quantity * fraction / lot)) * lot
            quantity = min(quantity, part)
        return quantity

    def _lot_size(self, order: Order) -> int:
        inst = self._instruments.by_token(order.instrument_token)
        return max(inst.lot_size, 1) if inst is not None else 1

    def fill(self, order: Order, quantity: int, price: Decimal) -> None:
        """Fill ``quantity`` of ``order`` at ``price``: a trade, a position, the market's volume;
        a filled cover order's stop leg follows."""
        now = self._clock.now().replace(microsecond=0)
        order.filled_quantity += quantity
        order.fill_value += quantity * price
        # The fill's row carries its own time; order_timestamp stays the OMS's (Kite's sample
        # book shows a COMPLETE row whose order_timestamp precedes its exchange times).
        order.exchange_timestamp = now
        order.exchange_update_timestamp = now
        trade_id = self._ids.trade_id()
        wire = {
            "trade_id": trade_id,
            "order_id": order.order_id,
            "exchange": order.exchange,
            "tradingsymbol": order.tradingsymbol,
            "instrument_token": order.instrument_token,
            "product": str(order.product),
            "average_price": money(price),
            "quantity": quantity,
            "exchange_order_id": order.exchange_order_id,
            "transaction_type": str(order.transaction_type),
            "fill_timestamp": fmt(now),
            # Kite's trade rows carry the order time without the date.
            "order_timestamp": now.strftime("%H:%M:%S"),
            "exchange_timestamp": fmt(now),
        }
        self._recorder.book.add_trade(Trade(trade_id, order, quantity, price, wire))
        self._portfolio.apply_fill(
            order.user_id,
            order.exchange,
            order.tradingsymbol,
            order.product,
            order.instrument_token,
            buy=order.is_buy,
            quantity=quantity,
            price=price,
        )
        self._prices.record_trade(order.instrument_token, quantity, float(price))
        if order.pending_quantity == 0:
            self._recorder.transition(order, Status.COMPLETE)
        else:
            self._recorder.record(order)
        self._recorder.push(order)
        first_co_leg = order.variety is Variety.CO and order.parent_order_id is None
        if order.status is Status.COMPLETE and first_co_leg:
            self._spawn_stop_leg(order)

    def cancel_rest(self, order: Order, message: str | None = None) -> None:
        """Cancel what ``order`` has left (fills kept), saying why if ``message``."""
        order.cancelled_quantity = order.quantity - order.filled_quantity
        order.status_message = message
        self._recorder.stamp(order)
        self._recorder.transition(order, Status.CANCELLED)
        self._recorder.push(order)

    # -- cover orders --------------------------------------------------------------------------

    def _spawn_stop_leg(self, parent: Order) -> None:
        now = self._clock.now().replace(microsecond=0)
        leg = Order(
            order_id=self._ids.order_id(),
            user_id=parent.user_id,
            api_key=parent.api_key,
            variety=Variety.CO,
            exchange=parent.exchange,
            tradingsymbol=parent.tradingsymbol,
            instrument_token=parent.instrument_token,
            transaction_type=Side.SELL if parent.is_buy else Side.BUY,
            order_type=OrderType.SLM,
            product=Product.CO,
            validity=Validity.DAY,
            quantity=parent.quantity,
            price=ZERO,
            trigger_price=parent.co_trigger_price,
            placed_at=now,
            parent_order_id=parent.order_id,
            tag=parent.tag,
            tags=list(parent.tags),
            order_timestamp=now,
            exchange_order_id=self._ids.exchange_order_id(),
            exchange_timestamp=now,
        )
        self._recorder.book.add(leg)
        self._recorder.transition(leg, Status.TRIGGER_PENDING)
        self._recorder.push(leg)
        self.match(leg)

    def exit_stop_leg(self, order: Order) -> None:
        """Exit a cover order: its stop leg becomes a market order and fills now."""
        order.order_type = OrderType.MARKET
        order.trigger_price = ZERO
        order.triggered = True
        self._recorder.transition(order, Status.OPEN)
        self.fill(order, order.pending_quantity, self.last_price(order.instrument_token))


__all__ = ["AUTO_PROTECTION", "Matcher"]
