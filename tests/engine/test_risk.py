"""Risk checks, one by one: each denies what it should and lets everything else through."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from orderdesk.domain import Exchange, InstrumentKey, OrderType, Product, Side, Signal
from orderdesk.engine import (
    AllowedExchanges,
    AllowedSymbols,
    BlockedSymbols,
    DailyLossLimit,
    MarginAvailable,
    MaxOpenOrders,
    MaxOrderValue,
    MaxQuantity,
    OrderDesk,
    OrdersPerMinute,
    PriceBand,
    RiskLimits,
)
from orderdesk.engine.risk import KillSwitch, KillSwitchCheck, RiskGate, checks_for
from orderdesk.errors import RiskDenied
from tests.engine.conftest import FAST
from tests.engine.fakes import FakeBroker, MemoryStore, RecordingNotifier, signal


@dataclass
class Context:
    """A RiskContext with every answer set by the test."""

    open_orders: int = 0
    pnl: Decimal = Decimal(0)
    net: int = 0
    now: float = 0.0
    price: Decimal | None = Decimal("1500")
    margin: Decimal = Decimal(100)
    funds: Decimal = Decimal(1000)
    broken_margins: bool = False
    asked: list[str] = field(default_factory=list)

    def open_order_count(self) -> int:
        return self.open_orders

    def day_pnl(self) -> Decimal:
        return self.pnl

    def net_position(self, instrument: InstrumentKey, product: Product) -> int:
        return self.net

    def monotonic(self) -> float:
        return self.now

    async def last_price(self, instrument: InstrumentKey) -> Decimal | None:
        return self.price

    async def required_margin(self, signal: Signal) -> Decimal:
        if self.broken_margins:
            raise OSError("margins endpoint down")
        return self.margin

    async def available_funds(self, signal: Signal) -> Decimal:
        return self.funds


def limit_at(price: str, **overrides: object) -> Signal:
    return signal(order_type=OrderType.LIMIT, price=Decimal(price), **overrides)


async def test_max_quantity() -> None:
    """Quantity above the limit is denied; at the limit it passes."""
    check = MaxQuantity(100)
    assert await check.check(signal(quantity=100), Context()) is None
    assert "101" in (await check.check(signal(quantity=101), Context()) or "")


async def test_max_order_value_uses_price_or_last_price() -> None:
    """Limit orders are valued at their price, market orders at the last price; unknown denies."""
    check = MaxOrderValue(Decimal(15_000))
    assert await check.check(limit_at("1500", quantity=10), Context()) is None
    assert await check.check(limit_at("1500.05", quantity=10), Context()) is not None
    assert await check.check(signal(quantity=10), Context(price=Decimal(1500))) is None
    assert await check.check(signal(quantity=11), Context(price=Decimal(1500))) is not None
    assert await check.check(signal(quantity=1), Context(price=None)) is not None


async def test_max_order_value_counts_a_lots_multiplier() -> None:
    """One lot of MCX crude at 5,600 is 100 barrels: 560,000 against the limit, not 5,600."""
    crude = InstrumentKey.parse("MCX:CRUDEOIL27JANFUT")
    check = MaxOrderValue(Decimal(100_000))
    denied = await check.check(limit_at("5600", quantity=1, instrument=crude), Context())
    assert denied == "order value 560000.00 exceeds the limit of 100000"
    assert await check.check(limit_at("5600", quantity=17), Context()) is None  # NSE: shares


async def test_allowed_exchanges() -> None:
    """Only the listed exchanges pass."""
    check = AllowedExchanges(frozenset({Exchange.NSE}))
    assert await check.check(signal(), Context()) is None
    bse = signal(instrument=InstrumentKey.parse("BSE:INFY"))
    assert "BSE" in (await check.check(bse, Context()) or "")


async def test_allowed_symbols_by_key_or_bare_symbol() -> None:
    """An instrument passes if listed as EXCHANGE:SYMBOL or as a bare symbol."""
    keyed = AllowedSymbols(frozenset({"NSE:INFY"}))
    bare = AllowedSymbols(frozenset({"INFY"}))
    tcs = signal(instrument=InstrumentKey.parse("NSE:TCS"))
    bse_infy = signal(instrument=InstrumentKey.parse("BSE:INFY"))
    assert await keyed.check(signal(), Context()) is None
    assert await keyed.check(bse_infy, Context()) is not None
    assert await bare.check(bse_infy, Context()) is None
    assert await bare.check(tcs, Context()) is not None


async def test_blocked_symbols_by_key_or_bare_symbol() -> None:
    """A blocked instrument is refused, named, whether listed with its exchange or bare."""
    keyed = BlockedSymbols(frozenset({"NSE:INFY"}))
    bare = BlockedSymbols(frozenset({"INFY"}))
    bse_infy = signal(instrument=InstrumentKey.parse("BSE:INFY"))
    assert await keyed.check(signal(), Context()) == "NSE:INFY is a blocked symbol"
    assert await keyed.check(bse_infy, Context()) is None
    assert await bare.check(bse_infy, Context()) == "BSE:INFY is a blocked symbol"
    assert await bare.check(signal(instrument=InstrumentKey.parse("NSE:TCS")), Context()) is None


async def test_max_open_orders() -> None:
    """A new order is denied once the open-order count reaches the limit."""
    check = MaxOpenOrders(3)
    assert await check.check(signal(), Context(open_orders=2)) is None
    assert await check.check(signal(), Context(open_orders=3)) is not None


async def test_daily_loss_limit_still_allows_reducing_orders() -> None:
    """At the loss limit, orders that add exposure are denied; closing ones are not."""
    check = DailyLossLimit(Decimal(5000))
    assert await check.check(signal(), Context(pnl=Decimal(-4999))) is None
    at_limit = Context(pnl=Decimal(-5000), net=10)
    assert await check.check(signal(side=Side.BUY), at_limit) is not None
    assert await check.check(signal(side=Side.SELL, quantity=10), at_limit) is None
    assert await check.check(signal(side=Side.SELL, quantity=11), at_limit) is not None


async def test_price_band_fat_finger() -> None:
    """Limit prices more than the band away from the last price are denied; market orders pass."""
    check = PriceBand(Decimal(5))
    context = Context(price=Decimal(1000))
    assert await check.check(limit_at("1050"), context) is None
    assert await check.check(limit_at("950"), context) is None
    assert "5.01%" in (await check.check(limit_at("1050.10"), context) or "")
    assert await check.check(limit_at("940"), context) is not None
    assert await check.check(signal(), context) is None
    assert await check.check(limit_at("1000"), Context(price=None)) is not None


async def test_margin_against_available_funds() -> None:
    """Denied when the order needs more margin than is available, or margins cannot be read."""
    check = MarginAvailable()
    assert await check.check(signal(), Context(margin=Decimal(1000))) is None
    assert await check.check(signal(), Context(margin=Decimal("1000.01"))) is not None
    assert "could not check" in (await check.check(signal(), Context(broken_margins=True)) or "")


async def test_orders_per_minute_per_strategy() -> None:
    """Each strategy gets its own sliding one-minute window of the signals recorded."""
    gate = RiskGate([OrdersPerMinute(2)])
    context = Context(now=100.0)
    assert await gate.evaluate(signal(strategy="a"), context) is None
    assert await gate.evaluate(signal(strategy="a"), context) is None
    assert await gate.evaluate(signal(strategy="a"), context) is not None
    assert await gate.evaluate(signal(strategy="b"), context) is None
    context.now = 160.0
    assert await gate.evaluate(signal(strategy="a"), context) is None


async def test_a_screening_counts_nothing() -> None:
    """``evaluate(record=False)`` asks the rate check without spending the strategy's budget:
    a signal screened before it waits for approval is counted once, when it is submitted."""
    gate = RiskGate([OrdersPerMinute(1)])
    context = Context(now=100.0)
    assert await gate.evaluate(signal(), context, record=False) is None
    assert await gate.evaluate(signal(), context, record=False) is None
    assert await gate.evaluate(signal(), context) is None
    denial = await gate.evaluate(signal(), context, record=False)
    assert denial is not None
    assert denial.check == "orders_per_minute"


async def test_a_signal_denied_by_a_later_check_is_not_counted() -> None:
    """The rate check counts only a signal every check let through, wherever it stands."""
    gate = RiskGate([OrdersPerMinute(1), MaxQuantity(5)])
    context = Context(now=100.0)
    denial = await gate.evaluate(signal(quantity=6), context)
    assert denial is not None
    assert denial.check == "max_quantity"
    assert await gate.evaluate(signal(quantity=5), context) is None


async def test_kill_switch_check() -> None:
    """The kill switch denies everything while engaged and nothing otherwise."""
    switch = KillSwitch()
    check = KillSwitchCheck(switch)
    assert await check.check(signal(), Context()) is None
    switch.engaged, switch.reason = True, "drill"
    assert "drill" in (await check.check(signal(), Context()) or "")


def test_limits_switch_on_only_the_configured_checks() -> None:
    """RiskLimits maps each set field to its check; the kill switch is always there."""
    names = [c.name for c in checks_for(RiskLimits(), KillSwitch())]
    assert names == ["kill_switch"]
    full = RiskLimits(
        max_quantity=1,
        max_order_value=Decimal(1),
        allowed_exchanges=frozenset({Exchange.NSE}),
        allowed_symbols=frozenset({"INFY"}),
        blocked_symbols=frozenset({"TCS"}),
        max_open_orders=1,
        daily_loss_limit=Decimal(1),
        price_band_percent=Decimal(1),
        check_margin=True,
        max_orders_per_minute=1,
    )
    names = [c.name for c in checks_for(full, KillSwitch())]
    assert len(names) == 11
    assert names[-1] == "orders_per_minute"


async def test_denial_is_an_event_an_alert_and_an_error(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """A denied signal reaches nobody: SignalDenied in the log, an alert, RiskDenied raised."""
    limits = RiskLimits(max_quantity=5)
    async with OrderDesk(broker, store, notifier=notifier, config=FAST, limits=limits) as desk:
        with pytest.raises(RiskDenied) as exc_info:
            await desk.submit(signal(quantity=6))
        allowed = await desk.submit(signal(quantity=5))
    assert exc_info.value.check == "max_quantity"
    assert "SignalDenied" in store.types("desk")
    assert "Signal denied by max_quantity" in notifier.titles()
    assert [p.client_order_id for p in broker.placements] == [allowed.order_id]


async def test_screen_denies_as_submit_does_and_places_nothing(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Screening a signal (before it waits for approval) denies it with the same event, alert
    and error as a submission, places nothing, and leaves the order rate for the submission."""
    limits = RiskLimits(max_quantity=5, max_orders_per_minute=1)
    async with OrderDesk(broker, store, notifier=notifier, config=FAST, limits=limits) as desk:
        with pytest.raises(RiskDenied) as exc_info:
            await desk.screen(signal(quantity=6, signal_id="big"))
        await desk.screen(signal(quantity=5, signal_id="small"))
        await desk.screen(signal(quantity=5, signal_id="small"))
        placed = await desk.submit(signal(quantity=5, signal_id="small"))
        await desk.screen(signal(quantity=5, signal_id="small"))  # already an order: passes
        with pytest.raises(RiskDenied) as rate_info:
            await desk.screen(signal(quantity=5, signal_id="next"))
    assert exc_info.value.check == "max_quantity"
    assert rate_info.value.check == "orders_per_minute"
    assert store.types("desk").count("SignalDenied") == 2
    assert "Signal denied by max_quantity" in notifier.titles()
    assert [p.client_order_id for p in broker.placements] == [placed.order_id]


async def test_kill_switch_survives_restart_and_can_cancel_all(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Engaging the kill switch cancels open orders and still denies after a restart."""
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        resting = await desk.submit(limit_at("1490"))
        await resting.wait(lambda h: h.is_resolved)
        await desk.engage_kill_switch("drill", cancel_open=True)
        await resting.wait()
    async with OrderDesk(FakeBroker(), store, notifier=notifier, config=FAST) as desk:
        with pytest.raises(RiskDenied) as exc_info:
            await desk.submit(signal())
        await desk.release_kill_switch("drill over")
        await desk.submit(signal())
    assert exc_info.value.check == "kill_switch"
    assert resting.status.value == "CANCELLED"


async def test_the_money_in_a_refusal_is_to_the_paisa() -> None:
    """A P&L, an order's value and a margin summed to four places read to the paisa in the
    refusal; the configured limit stays as it was set."""
    loss = DailyLossLimit(Decimal(6500))
    assert await loss.check(signal(), Context(pnl=Decimal("-6500.0000"))) == (
        "the day's P&L -6500.00 is at the loss limit of 6500"
    )
    value = MaxOrderValue(Decimal(1000))
    assert await value.check(limit_at("1050.1250", quantity=1), Context()) == (
        "order value 1050.12 exceeds the limit of 1000"
    )
    margin = Context(margin=Decimal("2000.5000"), funds=Decimal("1000.0000"))
    assert await MarginAvailable().check(signal(), margin) == (
        "the order needs 2000.50 margin; 1000.00 is available"
    )
