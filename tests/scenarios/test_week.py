"""A trading week through the desk and the Kite adapter on the simulator, every day a trading day.

Five trading days, a weekend and a holiday among them, with the simulator keeping NSE's hours
(``market_hours="nse"``) and the desk following its clock. Every day: the token of the day
before is dead, an AMO sent to the desk's HTTP API is refused for want of a session (503
``session_expired``), a login reaches the running desk through ``POST /api/session`` (what
``orderdesk login`` does; no restart), the day opens from the broker's books and the same AMO,
same signal id, is placed; CNC, MIS and NRML orders fill; an MIS
position is left for the broker's 15:20 square-off; a resting order is mass-cancelled at 16:00;
the desk closes the day. Reconciliation finds nothing at every close and every opening, the
positions and holdings equal the broker's each morning, the day's P&L starts again each day,
the loss limit trips on Tuesday's loss alone, and the whole week's log verifies.

Every fill is a resting LIMIT order crossed by a price the test sets after the desk has seen the
order open, and each step waits for the desk to agree with the broker: so the same seed gives
the same log, event for event (wall-clock fields aside): the week runs once on SQLite and once
on PostgreSQL, and the two logs are compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from orderdesk.api.app import create_app
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.api.schemas import SignalIn
from orderdesk.api.server import serve_api
from orderdesk.client import DeskClient, DeskClientError
from orderdesk.domain import (
    InstrumentKey,
    OrderStatus,
    OrderType,
    Product,
    Side,
    Signal,
    Variety,
)
from orderdesk.domain.calendar import TradingCalendar
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.config import DayRules
from orderdesk.engine.handle import OrderHandle
from orderdesk.errors import RiskDenied
from orderdesk.ports.notifier import Severity
from orderdesk.sim.app import SimServer
from orderdesk.store import SqlEventStore
from orderdesk.store.location import sqlite_url
from tests import pg
from tests.scenarios.harness import (
    SCENARIO_CONFIG,
    BrokerView,
    ListNotifier,
    SimAddress,
    SimTime,
    compare,
    open_desk,
    running_sim,
)
from tests.support import eventually

pytestmark = pytest.mark.slow

HOLIDAY = date(2026, 12, 9)
WEEK = (
    date(2026, 12, 7),  # Monday
    date(2026, 12, 8),  # Tuesday; Wednesday the 9th is a holiday
    date(2026, 12, 10),  # Thursday
    date(2026, 12, 11),  # Friday; then a weekend
    date(2026, 12, 14),  # Monday
)
INFY = InstrumentKey.parse("NSE:INFY")
TCS = InstrumentKey.parse("NSE:TCS")
SBIN = InstrumentKey.parse("NSE:SBIN")
EQUITY_BASE = {INFY: Decimal("1500"), TCS: Decimal("3100"), SBIN: Decimal("850")}
FUT_CLOSE = (Decimal("25000"), Decimal("24900"), Decimal("24900"), Decimal("24950"))
"""Where the future closes each day but the last (Tuesday's is a 6,500 loss on 65)."""
LOSS_LIMIT = Decimal("3000")
API_TOKEN = "week-api-token-0123456789"  # the desk's own bearer token, made up for the test
CONFIG = replace(
    SCENARIO_CONFIG,
    days=DayRules(calendar=TradingCalendar(frozenset({HOLIDAY})), close_at=time(16, 15)),
    clock_interval=0.02,
    first_look=0.05,  # a resting order is seen at once: the week waits for each of its 60
    quiet_after=30 * 86400.0,  # no catch-up polls after the clock's jumps: the stream tells all
)


@dataclass
class Week:
    """The running pieces, and the broker's view with today's token."""

    sim: SimServer
    address: SimAddress
    desk: OrderDesk
    notifier: ListNotifier
    api: DeskClient | None = None

    futures: dict[str, InstrumentKey] = field(default_factory=dict)

    def future(self, name: str) -> InstrumentKey:
        """``name``'s nearest monthly future that outlives the week, chosen once (the simulator
        lists its contracts from the real date it starts on, and more as its days pass, so no
        contract name is fixed here)."""
        if name not in self.futures:
            futures = [
                inst
                for inst in self.sim.master
                if inst.name == name and inst.instrument_type == "FUT"
                if date.fromisoformat(inst.expiry) > WEEK[-1]
            ]
            nearest = min(futures, key=lambda inst: inst.expiry)
            self.futures[name] = InstrumentKey.parse(nearest.key)
        return self.futures[name]

    @property
    def fut(self) -> InstrumentKey:
        return self.future("NIFTY")

    @property
    def bank(self) -> InstrumentKey:
        return self.future("BANKNIFTY")

    @property
    def base(self) -> dict[InstrumentKey, Decimal]:
        return {**EQUITY_BASE, self.bank: Decimal("56000")}

    @property
    def view(self) -> BrokerView:
        return BrokerView(self.address)

    async def clock(self, day: date, hour: int, minute: int = 0) -> Any:
        when = datetime.combine(day, time(hour, minute))
        return await self.view.control("clock", {"set": f"{when:%Y-%m-%d %H:%M:%S}"})

    async def prices(self, prices: dict[InstrumentKey, Decimal]) -> None:
        await self.view.control("prices", {str(k): float(v) for k, v in prices.items()})

    async def agreed(self) -> None:
        """Wait until the desk's orders, fills and positions are the broker's."""

        async def differences() -> str:
            found = compare(self.desk, await self.view.books())
            return "" if not found else str(found)

        async def agree() -> bool:
            return not await differences()

        await eventually(agree, timeout=15, what="the desk agreeing with the broker")

    async def fill(
        self,
        day: date,
        name: str,
        instrument: InstrumentKey,
        side: Side,
        quantity: int,
        product: Product,
        at: Decimal,
    ) -> OrderHandle:
        """A LIMIT order resting at ``at`` until the price is set there (then back)."""
        handle = await self.desk.submit(
            Signal(
                instrument=instrument,
                side=side,
                quantity=quantity,
                order_type=OrderType.LIMIT,
                product=product,
                price=at,
                strategy="week",
                signal_id=f"{day}-{name}",
            )
        )
        await handle.wait(lambda h: h.status is OrderStatus.OPEN, timeout=10)
        await self.prices({instrument: at})
        await handle.wait(timeout=10)
        assert handle.status is OrderStatus.FILLED, handle.order.reason
        await self.agreed()
        return handle


def count(desk: OrderDesk, kind: str) -> int:
    return sum(1 for row in desk.store.read(kind=kind))


def signal(day: date, name: str, **fields: Any) -> Signal:
    values: dict[str, Any] = {
        "instrument": INFY,
        "side": Side.BUY,
        "quantity": 1,
        "order_type": OrderType.LIMIT,
        "price": Decimal("1400"),
        "product": Product.CNC,
        "strategy": "week",
        "signal_id": f"{day}-{name}",
    }
    values.update(fields)
    return Signal(**values)


async def morning(week: Week, index: int, day: date) -> None:
    """After 06:00 the old token is dead: refused signals, the login, the day opens."""
    desk = week.desk
    if index:
        await week.clock(day, 8, 45)
        await eventually(lambda: count(desk, "SessionLost") == index, what="the session ended")
        assert not desk.session_info().usable
        assert week.api is not None
        early = SignalIn(
            instrument=str(INFY),
            side=Side.BUY,
            quantity=1,
            order_type=OrderType.LIMIT,
            price=Decimal("1400"),
            product="CNC",
            variety=Variety.AMO,  # before the open: an after-market order, released at 09:15
            strategy="week",
            signal_id=f"{day}-early",
        )
        with pytest.raises(DeskClientError) as refused:
            await week.api.submit(early)
        assert (refused.value.status, refused.value.error) == (503, "session_expired")
        token = week.sim.issue_access_token()
        week.address = replace(week.address, access_token=token)
        session = await week.api.renew_session(token)
        assert session.usable
        assert str(session.trading_day) == day.isoformat()
        placed = await week.api.submit(early)  # the same signal, once the login is in
        assert placed.order is not None
        assert placed.order.status == OrderStatus.ACCEPTED  # held for the open
        await week.agreed()
    assert desk.trading_day == day
    assert count(desk, "DayOpened") == index + 1
    report = await desk.reconcile()
    assert report.ok, report.rows
    books = await week.view.books()
    assert not compare(desk, books), str(compare(desk, books))
    theirs = {
        (row["exchange"], row["tradingsymbol"]): row["quantity"] + row["t1_quantity"]
        for row in await week.view.holdings()
        if row["quantity"] + row["t1_quantity"]
    }
    ours = {
        (h.instrument.exchange.value, h.instrument.tradingsymbol): h.total for h in desk.holdings()
    }
    assert ours == theirs
    assert desk.day_pnl() == 0  # carried positions start at the close, which is the last price


async def trading(week: Week, index: int, day: date) -> None:
    """The day's orders: CNC, an MIS round trip, an MIS left open, an NRML round trip, the NRML
    future carried from Monday to Monday, a resting order."""
    desk = week.desk
    await week.clock(day, 9, 20)
    fut_open = FUT_CLOSE[index - 1] if index else Decimal("25000")
    fut, bank = week.fut, week.bank
    await week.prices({**week.base, fut: fut_open})
    await week.agreed()
    # The morning's AMO was released at 09:15: the desk's first look at the book sees it rest.
    await eventually(
        lambda: all(o.status is not OrderStatus.ACCEPTED for o in desk.orders()),
        what="the released AMO resting",
    )
    await week.fill(day, "cnc", INFY, Side.BUY, 10, Product.CNC, Decimal("1499"))
    await week.fill(day, "mis-in", TCS, Side.BUY, 5, Product.MIS, Decimal("3099"))
    await week.fill(day, "mis-out", TCS, Side.SELL, 5, Product.MIS, Decimal("3101"))
    await week.fill(day, "mis-open", SBIN, Side.BUY, 3, Product.MIS, Decimal("849"))
    await week.fill(day, "bank-in", bank, Side.BUY, 30, Product.NRML, Decimal("55990"))
    await week.fill(day, "bank-out", bank, Side.SELL, 30, Product.NRML, Decimal("56010"))
    if index == 0:
        await week.fill(day, "nrml-in", fut, Side.BUY, 65, Product.NRML, Decimal("24990"))
    if index == len(WEEK) - 1:
        await week.fill(day, "nrml-out", fut, Side.SELL, 65, Product.NRML, Decimal("25010"))
    await week.prices(week.base)
    resting = await desk.submit(signal(day, "rest"))
    await resting.wait(lambda h: h.status is OrderStatus.OPEN, timeout=10)
    if index < len(FUT_CLOSE):
        await week.prices({fut: FUT_CLOSE[index]})
        await eventually(lambda: desk.book.last_prices.get(fut) == FUT_CLOSE[index], what="mark")
    if index == 1:
        # Tuesday: the carried future lost 6,500 since Monday's close; new risk is refused.
        assert desk.day_pnl() <= -LOSS_LIMIT
        # Told (and logged, LossLimitReached) by the desk's clock loop: waited for, so that
        # the log's order is the same in every run (the comparison below is event for event).
        await eventually(
            lambda: bool(list(desk.store.read(kind="LossLimitReached"))),
            what="the loss limit told",
        )
        with pytest.raises(RiskDenied) as denied:
            await desk.submit(signal(day, "after-loss", price=Decimal("1450")))
        assert denied.value.check == "daily_loss_limit"
    else:
        assert desk.day_pnl() > -LOSS_LIMIT


async def evening(week: Week, index: int, day: date) -> None:
    """15:20 square-off, 16:00 mass cancel, the desk's close at 16:15."""
    desk = week.desk
    await week.clock(day, 15, 21)
    await eventually(
        lambda: desk.position(SBIN, Product.MIS).quantity == 0, what="the broker's square-off"
    )
    await week.agreed()
    assert count(desk, "BrokerSquaredOff") == index + 1
    with pytest.raises(RiskDenied) as late:
        await desk.submit(signal(day, "late-mis", product=Product.MIS))
    assert late.value.check == "square_off"
    await week.clock(day, 16, 5)
    rest = desk.order(
        next(o.order_id for o in desk.orders() if o.signal.signal_id == f"{day}-rest")
    )
    await eventually(lambda: rest.status is OrderStatus.CANCELLED, what="the mass cancel")
    assert rest.reason == "exchange mass cancel"
    await week.agreed()
    await week.clock(day, 16, 20)
    await eventually(lambda: count(desk, "DayClosed") == index + 1, what="the day closed")
    report = await desk.reconcile()
    assert report.ok, report.rows


async def run_week(tmp_path: Path, store_url: str, *, seed: int = 11) -> list[tuple[str, str, Any]]:
    """The week on a fresh simulator and store; the log, wall-clock fields stripped."""
    async with running_sim(
        seed=seed, rate_limits=False, market_hours="nse", holidays=frozenset({HOLIDAY})
    ) as (sim, address):
        notifier = ListNotifier()
        week = Week(sim, address, None, notifier)  # type: ignore[arg-type]
        for name in ("NIFTY", "BANKNIFTY"):
            week.future(name)  # chosen before the clock moves and the simulator lists more
        await week.clock(WEEK[0], 8, 30)
        token = sim.issue_access_token()
        week.address = address = replace(address, access_token=token)
        async with open_desk(
            address,
            store_url,
            tmp_path,
            notifier=notifier,
            config=CONFIG,
            clock=SimTime(sim),
            limits=RiskLimits(daily_loss_limit=LOSS_LIMIT),
            # The simulator limits nothing either: the week is about days, and the desk's
            # spacing of its reads (tests/kite/test_ratelimit_limiter.py) made it wait 70% of
            # its time.
            rate_limits_enabled=False,
        ) as desk:
            week.desk = desk
            server = await serve_api(create_app(EngineDesk(desk), token=API_TOKEN))
            try:
                async with DeskClient(server.url, API_TOKEN) as api:
                    week.api = api
                    for index, day in enumerate(WEEK):
                        await morning(week, index, day)
                        await trading(week, index, day)
                        await evening(week, index, day)
            finally:
                await server.stop()
            days = desk.past_days()
            assert [d.day for d in days] == list(WEEK)
            pnl = [d.closed.pnl if d.closed else None for d in days]
            assert pnl[1] is not None
            assert pnl[1] <= -LOSS_LIMIT
            assert "Squared off by the broker" in notifier.titles(Severity.WARNING)
        store = SqlEventStore(store_url)
        try:
            verified = store.verify()
            assert verified.ok, verified
            return [(row.stream, row.type, _without_times(row.payload)) for row in store.read()]
        finally:
            store.close()


def _without_times(value: Any) -> Any:
    """The payload with every timestamp dropped (they carry the real time the test ran)."""
    if isinstance(value, dict):
        return {
            key: _without_times(item)
            for key, item in value.items()
            if not (isinstance(item, str) and _is_timestamp(item))
        }
    if isinstance(value, list):
        return [_without_times(item) for item in value]
    return value


def _is_timestamp(text: str) -> bool:
    if len(text) < 19 or text[10] != "T":
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


async def test_a_trading_week_on_the_simulator(tmp_path: Path, postgres: pg.PostgresServer) -> None:
    """Five trading days with a weekend and a holiday: logins reach the running desk, every
    close and opening reconciles clean, and the week's log verifies; on SQLite and on
    PostgreSQL, and the same seed gives the same log on both, event for event (so the week is
    deterministic, whichever store keeps it)."""
    on_sqlite = await run_week(tmp_path / "sqlite", sqlite_url(tmp_path / "desk.db"))
    on_postgres = await run_week(tmp_path / "postgresql", postgres.new_database())
    for log in (on_sqlite, on_postgres):
        types = [kind for _, kind, _ in log]
        assert types.count("DayOpened") == 5
        assert types.count("SessionRenewed") == 4
        assert types.count("SignalDenied") == 1 + 5  # Tuesday's loss, and every day's late MIS
        assert "ReconciliationMismatch" not in types
    assert len(on_sqlite) == len(on_postgres)
    for index, (one, two) in enumerate(zip(on_sqlite, on_postgres, strict=True)):
        assert one == two, f"event {index + 1} differs"
