"""The broker contract: behaviour every adapter must show, as a reusable pytest class.

Subclass :class:`BrokerContract` in your adapter's tests and provide four fixtures::

    class TestMyBroker(BrokerContract):
        @pytest.fixture
        async def broker(self) -> AsyncIterator[Broker]: ...      # started, closed after
        @pytest.fixture
        def market(self) -> MarketControl: ...                    # moves the last price
        @pytest.fixture
        def instrument(self) -> InstrumentKey: ...                # tradable, priced
        @pytest.fixture
        def price(self) -> Decimal: ...                           # its current last price

Each test takes a fresh ``broker`` (function-scoped fixtures: one test's orders are not the
next one's). The tests and the ``broker`` fixture are coroutines, so they need pytest-asyncio
(``pytest-asyncio>=0.24``, as orderdesk's own tests use) with ``asyncio_mode = "auto"`` in the
pytest configuration, e.g. in ``pyproject.toml``::

    [tool.pytest.ini_options]
    asyncio_mode = "auto"
    asyncio_default_fixture_loop_scope = "function"

(In strict mode, mark the test class ``@pytest.mark.asyncio`` and the async fixtures
``@pytest_asyncio.fixture`` instead.)

The tests speak only the :class:`~orderdesk.ports.broker.Broker` protocol, so passing them means
the engine can drive the adapter without change. Its tags are 20 letters and digits, the length
of orderdesk's own client order ids (:func:`orderdesk.domain.ids.client_order_id`). An optional
capability (``HoldingsSource``, ``OrderHistorySource``, ``PositionConverter``,
``ChargesSource`` of :mod:`orderdesk.ports.broker`) is checked when the adapter offers it and
skipped, with the reason, when it does not: an adapter never stubs a capability to pass. The
other capabilities are not checked here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import fields, is_dataclass
from decimal import Decimal
from typing import Protocol

import pytest

from orderdesk.domain.calendar import SEGMENT_OF, Segment
from orderdesk.domain.conversion import PositionConversion
from orderdesk.domain.reports import Fill, MarginsReport, OrderStatusReport, PositionReport, Quote
from orderdesk.domain.signal import Signal
from orderdesk.domain.status import BrokerStatus
from orderdesk.domain.values import InstrumentKey, OrderType, Product, Side, Variety
from orderdesk.errors import BrokerRejected
from orderdesk.ports.broker import (
    Broker,
    BrokerEvent,
    ChargesSource,
    ConnectionState,
    ConnectionStateChanged,
    HoldingsSource,
    OrderChanges,
    OrderHistorySource,
    PlaceOrder,
    PositionConverter,
    PriceTick,
)

TERMINAL = (BrokerStatus.COMPLETE, BrokerStatus.CANCELLED, BrokerStatus.REJECTED)


class MarketControl(Protocol):
    async def set_price(self, instrument: InstrumentKey, price: Decimal) -> None:
        """Make ``price`` the instrument's last traded price (matching resting orders)."""


async def eventually(probe: Callable[[], Awaitable[object]], *, within: float = 5.0) -> None:
    """Poll an async probe until it returns something truthy (bounded, not a sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = await probe()
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within}s (last: {result!r})")
        await asyncio.sleep(0.01)


async def row_when(
    broker: Broker,
    broker_order_id: str,
    predicate: Callable[[OrderStatusReport], bool] = lambda _: True,
    *,
    within: float = 5.0,
) -> OrderStatusReport:
    """The order-book row of ``broker_order_id`` once ``predicate`` holds for it."""
    found: list[OrderStatusReport] = []

    async def probe() -> bool:
        row = await _row(broker, broker_order_id)
        if row is not None and predicate(row):
            found.append(row)
            return True
        return False

    await eventually(probe, within=within)
    return found[-1]


def _limit(instrument: InstrumentKey, side: Side, price: Decimal, quantity: int = 1) -> Signal:
    return Signal(
        instrument=instrument,
        side=side,
        quantity=quantity,
        order_type=OrderType.LIMIT,
        product=Product.MIS,
        price=price,
    )


async def _row(broker: Broker, broker_order_id: str) -> OrderStatusReport | None:
    return next((r for r in await broker.orders() if r.broker_order_id == broker_order_id), None)


async def stream_until(
    broker: Broker, done: Callable[[BrokerEvent], bool], *, within: float = 5.0
) -> list[BrokerEvent]:
    """Read ``broker.events()`` from its start until an event satisfies ``done``; every event
    read, that one last. Fails if none does within ``within`` seconds."""
    seen: list[BrokerEvent] = []

    async def read() -> None:
        async for event in broker.events():
            seen.append(event)
            if done(event):
                return

    try:
        await asyncio.wait_for(read(), within)
    except TimeoutError:
        told = [e for e in seen if not isinstance(e, PriceTick)]
        raise AssertionError(
            f"the stream did not deliver what was awaited within {within}s "
            f"(it gave, ticks left out: {told!r})"
        ) from None
    return seen


def _is_order_news(event: BrokerEvent) -> bool:
    return isinstance(event, OrderStatusReport | Fill)


def _floats(report: object, path: str = "") -> list[str]:
    """The fields of a report (and of the reports in it) that hold a float."""
    if isinstance(report, float):
        return [path or "value"]
    if not is_dataclass(report) or isinstance(report, type):
        return []
    found: list[str] = []
    for f in fields(report):
        found += _floats(getattr(report, f.name), f"{path}.{f.name}" if path else f.name)
    return found


class BrokerContract:
    """Every adapter passes these. See the module docstring for the fixtures to provide."""

    async def test_is_the_engines_broker(self, broker: Broker) -> None:
        """The adapter has every member of the Broker protocol the engine calls."""
        assert isinstance(broker, Broker)
        assert broker.name

    async def test_reads_answer_with_the_reports(
        self, broker: Broker, instrument: InstrumentKey, price: Decimal
    ) -> None:
        """Each read answers with the port's report types (dicts or the broker's own objects
        reach the engine as a crash at its first use, as in reconciliation)."""
        above = (price * Decimal("1.1")).quantize(Decimal("0.05"))
        broker_id = await broker.place_order(
            PlaceOrder("odcontractreads00001", _limit(instrument, Side.BUY, above))
        )
        answers: list[tuple[str, object, type]] = [
            ("orders()", row, OrderStatusReport) for row in await broker.orders()
        ]
        answers += [("trades()", fill, Fill) for fill in await broker.trades()]
        answers += [("order_trades()", fill, Fill) for fill in await broker.order_trades(broker_id)]
        answers += [("positions()", p, PositionReport) for p in await broker.positions()]
        answers += [("margins()", await broker.margins(), MarginsReport)]
        answers += [("quotes()", q, Quote) for q in (await broker.quotes([instrument])).values()]
        wrong = [
            f"{read} gave {type(value).__name__}, not {wanted.__name__}"
            for read, value, wanted in answers
            if not isinstance(value, wanted)
        ]
        assert not wrong, "; ".join(wrong)
        assert any(read == "orders()" for read, _, _ in answers), "orders() left out the order"

    async def test_tag_travels_with_the_order(
        self, broker: Broker, instrument: InstrumentKey, price: Decimal
    ) -> None:
        """The client order id sent as the tag comes back in the order book."""
        far = (price * Decimal("0.95")).quantize(Decimal("0.05"))
        broker_id = await broker.place_order(
            PlaceOrder("odcontracttag0000001", _limit(instrument, Side.BUY, far))
        )
        row = await row_when(broker, broker_id)
        assert row.tag == "odcontracttag0000001"
        assert row.instrument == instrument

    async def test_resting_limit_fills_when_price_crosses(
        self, broker: Broker, market: MarketControl, instrument: InstrumentKey, price: Decimal
    ) -> None:
        """A buy below the market rests, then completes when the price falls to it."""
        limit = (price * Decimal("0.9")).quantize(Decimal("0.05"))
        broker_id = await broker.place_order(
            PlaceOrder("odcontractfill000001", _limit(instrument, Side.BUY, limit, 2))
        )

        await row_when(broker, broker_id, lambda r: r.status is BrokerStatus.OPEN)
        await market.set_price(instrument, limit)
        row = await row_when(broker, broker_id, lambda r: r.status is BrokerStatus.COMPLETE)
        assert row.filled_quantity == 2
        trades = await broker.order_trades(broker_id)
        assert sum(t.quantity for t in trades) == 2
        assert all(t.broker_order_id == broker_id for t in trades)

    async def test_modify_then_cancel(
        self, broker: Broker, instrument: InstrumentKey, price: Decimal
    ) -> None:
        """A resting order takes new terms, then cancels to CANCELLED."""
        limit = (price * Decimal("0.92")).quantize(Decimal("0.05"))
        broker_id = await broker.place_order(
            PlaceOrder("odcontractmod0000001", _limit(instrument, Side.BUY, limit))
        )
        new_price = limit - Decimal("0.05")
        await broker.modify_order(broker_id, Variety.REGULAR, OrderChanges(price=new_price))

        await row_when(
            broker, broker_id, lambda r: r.price == new_price and r.status is BrokerStatus.OPEN
        )
        await broker.cancel_order(broker_id, Variety.REGULAR)
        await row_when(broker, broker_id, lambda r: r.status is BrokerStatus.CANCELLED)

    async def test_cancelling_a_finished_order_is_rejected(
        self, broker: Broker, market: MarketControl, instrument: InstrumentKey, price: Decimal
    ) -> None:
        """Cancelling an order that already completed raises a BrokerRejected error."""
        broker_id = await broker.place_order(
            PlaceOrder("odcontractdone000001", _limit(instrument, Side.BUY, price))
        )

        await row_when(broker, broker_id, lambda r: r.status in TERMINAL)
        with pytest.raises(BrokerRejected) as exc_info:
            await broker.cancel_order(broker_id, Variety.REGULAR)
        assert exc_info.value.message

    async def test_stream_delivers_the_order_reports(
        self, broker: Broker, market: MarketControl, instrument: InstrumentKey, price: Decimal
    ) -> None:
        """The live stream carries a report for the order reaching its terminal status."""
        seen: list[OrderStatusReport] = []

        async def consume() -> None:
            async for event in broker.events():
                if isinstance(event, OrderStatusReport):
                    seen.append(event)

        consumer = asyncio.create_task(consume())
        try:
            broker_id = await broker.place_order(
                PlaceOrder("odcontractstream0001", _limit(instrument, Side.BUY, price))
            )

            async def terminal_seen() -> bool:
                return any(r.broker_order_id == broker_id and r.status in TERMINAL for r in seen)

            await eventually(terminal_seen)
        finally:
            consumer.cancel()

    async def test_stream_says_it_is_connected_before_its_order_news(
        self, broker: Broker, instrument: InstrumentKey, price: Decimal
    ) -> None:
        """The stream announces ``ConnectionStateChanged(state=CONNECTED)`` before the first
        order news it carries. The desk counts the stream as down until it is told CONNECTED:
        without it the desk reports itself degraded, polls the order book and keeps warning
        that the broker stream is still down."""
        await broker.place_order(
            PlaceOrder("odcontractconnect001", _limit(instrument, Side.BUY, price))
        )
        seen = await stream_until(broker, _is_order_news)
        assert any(
            isinstance(e, ConnectionStateChanged) and e.state is ConnectionState.CONNECTED
            for e in seen
        ), f"order news came before the stream said CONNECTED: {seen[-1]!r}"

    async def test_news_from_before_the_stream_is_read_is_kept(
        self, broker: Broker, instrument: InstrumentKey, price: Decimal
    ) -> None:
        """An order that ended before anyone read the stream is still told when it is read
        (the desk reads it only after ``start()``, its log's replay and the instrument
        list)."""
        broker_id = await broker.place_order(
            PlaceOrder("odcontractkept000001", _limit(instrument, Side.BUY, price))
        )
        await row_when(broker, broker_id, lambda r: r.status in TERMINAL)

        def ended(event: BrokerEvent) -> bool:
            return (
                isinstance(event, OrderStatusReport)
                and event.broker_order_id == broker_id
                and event.status in TERMINAL
            )

        await stream_until(broker, ended)

    async def test_money_is_decimal(
        self, broker: Broker, instrument: InstrumentKey, price: Decimal
    ) -> None:
        """Every amount of money in the reports is a Decimal, never a float: the order book's
        row, the order's trades, positions, funds and the quote."""
        above = (price * Decimal("1.1")).quantize(Decimal("0.05"))
        broker_id = await broker.place_order(
            PlaceOrder("odcontractmoney00001", _limit(instrument, Side.BUY, above))
        )
        row = await row_when(broker, broker_id, lambda r: r.status is BrokerStatus.COMPLETE)
        trades = await broker.order_trades(broker_id)
        assert trades
        reports: list[object] = [row, *trades, *await broker.positions()]
        reports += [await broker.margins(), (await broker.quotes([instrument]))[instrument]]
        assert [(type(r).__name__, f) for r in reports for f in _floats(r)] == []
        assert isinstance(row.average_price, Decimal)
        assert all(isinstance(t.price, Decimal) for t in trades)

    async def test_positions_and_margins_answer(
        self, broker: Broker, instrument: InstrumentKey, price: Decimal
    ) -> None:
        """Positions, margins and quotes answer with broker-neutral reports."""
        await broker.positions()
        margins = await broker.margins()
        assert margins.equity is not None
        quotes = await broker.quotes([instrument])
        assert quotes[instrument].last_price > 0

    async def test_order_history_ends_at_the_book_row_if_offered(
        self, broker: Broker, instrument: InstrumentKey, price: Decimal
    ) -> None:
        """An adapter offering order history lists an order's states, the book's row last."""
        if not isinstance(broker, OrderHistorySource):
            pytest.skip(f"the {broker.name} broker does not offer order history")
        far = (price * Decimal("0.95")).quantize(Decimal("0.05"))
        broker_id = await broker.place_order(
            PlaceOrder("odcontracthistory001", _limit(instrument, Side.BUY, far))
        )
        row = await row_when(broker, broker_id, lambda r: r.status is BrokerStatus.OPEN)
        history = await broker.order_history(broker_id)
        assert history
        assert {h.broker_order_id for h in history} == {broker_id}
        assert history[-1].status is row.status

    async def test_a_position_converts_if_offered(
        self, broker: Broker, instrument: InstrumentKey, price: Decimal
    ) -> None:
        """An adapter offering conversions moves a filled MIS buy's quantity to the carry
        product (CNC in the cash market, NRML in derivatives) without a trade."""
        if not isinstance(broker, PositionConverter):
            pytest.skip(f"the {broker.name} broker does not convert positions")
        carry = Product.CNC if SEGMENT_OF[instrument.exchange] is Segment.EQUITY else Product.NRML

        async def held() -> dict[Product, int]:
            return {
                p.product: p.quantity
                for p in await broker.positions()
                if p.instrument == instrument
            }

        before = await held()
        above = (price * Decimal("1.1")).quantize(Decimal("0.05"))
        broker_id = await broker.place_order(
            PlaceOrder("odcontractconvert001", _limit(instrument, Side.BUY, above, 2))
        )
        await row_when(broker, broker_id, lambda r: r.status is BrokerStatus.COMPLETE)
        await broker.convert_position(
            PositionConversion(
                instrument=instrument,
                side=Side.BUY,
                quantity=1,
                old_product=Product.MIS,
                new_product=carry,
            )
        )
        after = await held()
        assert after.get(Product.MIS, 0) == before.get(Product.MIS, 0) + 1
        assert after.get(carry, 0) == before.get(carry, 0) + 1

    async def test_an_executed_order_is_charged_if_offered(
        self, broker: Broker, instrument: InstrumentKey, price: Decimal
    ) -> None:
        """An adapter offering a charge calculator answers one entry per executed order, in
        the order asked, its total the sum of its parts (to the paisa)."""
        if not isinstance(broker, ChargesSource):
            pytest.skip(f"the {broker.name} broker has no charge calculator")
        above = (price * Decimal("1.1")).quantize(Decimal("0.05"))
        broker_id = await broker.place_order(
            PlaceOrder("odcontractcharges001", _limit(instrument, Side.BUY, above, 2))
        )
        row = await row_when(broker, broker_id, lambda r: r.status is BrokerStatus.COMPLETE)
        [charged] = await broker.order_charges([row])
        assert (charged.broker_order_id, charged.instrument) == (broker_id, instrument)
        parts = (
            charged.transaction_tax
            + charged.exchange_turnover_charge
            + charged.sebi_turnover_charge
            + charged.brokerage
            + charged.stamp_duty
            + charged.gst
        )
        assert charged.total > 0
        assert abs(charged.total - parts) < Decimal("0.01")

    async def test_holdings_answer_if_offered(self, broker: Broker) -> None:
        """An adapter offering holdings answers with broker-neutral holding reports."""
        if not isinstance(broker, HoldingsSource):
            pytest.skip(f"the {broker.name} broker keeps no holdings")
        for holding in await broker.holdings():
            assert holding.quantity >= 0
            assert holding.instrument.tradingsymbol


__all__ = ["BrokerContract", "MarketControl", "eventually", "row_when", "stream_until"]
