"""An exit naming a strategy closes that strategy's share only; an exit naming none flattens the
account and is credited, in the strategies' books, to the strategies that held the position.

The operator walk that found it: alpha and gamma each long the NIFTY future, ``exit_position``
for gamma sold the broker's whole position, booked to gamma, so the books showed alpha long and
gamma short while the broker held nothing, and alpha's own later sale left the account short.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from orderdesk.domain import Fill, Order, OrderStatus, Product, Side
from orderdesk.domain.attribution import attribute, is_account_exit
from orderdesk.domain.day import Holding
from orderdesk.domain.errors import ValidationError
from orderdesk.domain.events import ExitRepriced, ExitStarted, ExitUnfilled
from orderdesk.domain.signal import ACCOUNT_EXIT_STRATEGY, DEFAULT_STRATEGY
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.config import ExitPolicy
from orderdesk.engine.handle import OrderHandle
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST
from tests.engine.fakes import (
    INFY,
    NIFTY_FUT,
    FakeBroker,
    MemoryStore,
    RecordingNotifier,
    signal,
)
from tests.support import eventually

MIS, NRML, CNC = Product.MIS, Product.NRML, Product.CNC


async def filled(
    desk: OrderDesk,
    strategy: str,
    quantity: int,
    *,
    side: Side = Side.BUY,
    instrument: InstrumentKey = INFY,
    product: Product = MIS,
) -> OrderHandle:
    """``strategy`` trades ``quantity`` at market; the fill is in before this returns."""
    handle = await desk.submit(
        signal(
            strategy=strategy,
            side=side,
            quantity=quantity,
            instrument=instrument,
            product=product,
        )
    )
    await handle.wait()
    assert handle.status is OrderStatus.FILLED
    return handle


def shares(
    desk: OrderDesk, instrument: InstrumentKey = INFY, product: Product = MIS
) -> dict[str, int]:
    """Each strategy's net quantity in the line, as ``GET /api/strategies`` reads it."""
    out = {}
    for name, book in desk.strategy_books().items():
        position = book.positions.positions.get((instrument, product))
        out[name] = position.quantity if position is not None else 0
    return out


# -- an exit naming a strategy ---------------------------------------------------------------


async def test_the_walk_an_exit_for_gamma_sells_gammas_share_and_alpha_ends_flat(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """alpha and gamma each buy 75 NIFTY futures NRML (the broker holds 150). gamma's exit
    sells 75, gamma's, booked to gamma; alpha keeps its 75. alpha's own sale then flattens the
    account: nobody is left short at the broker or in the books."""
    await filled(desk, "alpha", 75, instrument=NIFTY_FUT, product=NRML)
    await filled(desk, "gamma", 75, instrument=NIFTY_FUT, product=NRML)
    assert broker.net(NIFTY_FUT, NRML) == 150

    exit_ = await desk.exit_position(NIFTY_FUT, product=NRML, strategy="gamma")
    assert exit_ is not None
    await exit_.wait()
    signal_ = exit_.order.signal
    assert (signal_.side, signal_.quantity, signal_.strategy) == (Side.SELL, 75, "gamma")
    assert broker.net(NIFTY_FUT, NRML) == 75
    assert shares(desk, NIFTY_FUT, NRML) == {"alpha": 75, "gamma": 0}

    await filled(desk, "alpha", 75, side=Side.SELL, instrument=NIFTY_FUT, product=NRML)
    assert broker.net(NIFTY_FUT, NRML) == 0
    assert shares(desk, NIFTY_FUT, NRML) == {"alpha": 0, "gamma": 0}


async def test_an_exit_for_alpha_leaves_betas_long_alone(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """The second walk: alpha and beta both long INFY MIS; alpha's exit sells alpha's 40, and
    alpha is flat, beta still long 40, as the broker is."""
    await filled(desk, "alpha", 40)
    await filled(desk, "beta", 40)
    exit_ = await desk.exit_position(INFY, product=MIS, strategy="alpha")
    assert exit_ is not None
    await exit_.wait()
    assert (exit_.order.signal.side, exit_.order.signal.quantity) == (Side.SELL, 40)
    assert broker.net(INFY) == 40
    assert shares(desk) == {"alpha": 0, "beta": 40}
    assert await desk.exit_position(INFY, product=MIS, strategy="alpha") is None


async def test_a_short_share_is_bought_back(desk: OrderDesk, broker: FakeBroker) -> None:
    """beta short 30 beside alpha long 10 (the broker -20): beta's exit buys back 20, all the
    short the broker holds, and beta is left short the 10 that alpha's long netted away."""
    await filled(desk, "alpha", 10)
    await filled(desk, "beta", 30, side=Side.SELL)
    exit_ = await desk.exit_position(INFY, product=MIS, strategy="beta")
    assert exit_ is not None
    await exit_.wait()
    assert (exit_.order.signal.side, exit_.order.signal.quantity) == (Side.BUY, 20)
    assert broker.net(INFY) == 0
    assert shares(desk) == {"alpha": 10, "beta": -10}


async def test_a_share_the_broker_holds_the_other_way_is_no_exit(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """beta short 30 beside alpha long 50 (the broker +20): buying beta's 30 back would add to
    the account's long, new exposure and no exit (an exit skips the checks an order adding
    exposure passes), so there is nothing to exit; beta closes its short with a signal."""
    await filled(desk, "alpha", 50)
    await filled(desk, "beta", 30, side=Side.SELL)
    assert await desk.exit_position(INFY, product=MIS, strategy="beta") is None
    assert len(broker.placements) == 2


async def test_an_exit_never_takes_more_than_the_broker_holds_on_that_side(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """The books say alpha and beta are long 10 each, but the broker holds only 5 (15 went
    outside the desk): alpha's exit sells 5, and beta's then finds nothing to exit."""
    await filled(desk, "alpha", 10)
    await filled(desk, "beta", 10)
    broker.carried[(INFY, MIS)] = -15  # what the broker shows, whatever the desk's books say
    exit_ = await desk.exit_position(INFY, product=MIS, strategy="alpha")
    assert exit_ is not None
    assert exit_.order.signal.quantity == 5
    await exit_.wait()
    assert await desk.exit_position(INFY, product=MIS, strategy="beta") is None


async def test_nothing_to_exit_when_the_strategy_or_the_broker_holds_nothing_there(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """A strategy with no position in the line, or long while the broker is short there: no
    order, the same answer as an exit of no position at all."""
    await filled(desk, "alpha", 10)
    assert await desk.exit_position(INFY, product=MIS, strategy="gamma") is None
    assert await desk.exit_position(INFY, product=NRML, strategy="alpha") is None
    broker.carried[(INFY, MIS)] = -20  # the broker is short 10
    assert await desk.exit_position(INFY, product=MIS, strategy="alpha") is None
    assert len(broker.placements) == 1


async def test_two_strategies_exits_side_by_side_neither_cancels_the_other(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """alpha's exit is still working when beta's comes: alpha's is left to work (it is not the
    same position), and beta's counts it as done, so the two never sell more than the broker's
    15."""
    await filled(desk, "alpha", 10)
    await filled(desk, "beta", 10)
    broker.carried[(INFY, MIS)] = -5  # the broker holds 15
    broker.fill_market = False
    first = await desk.exit_position(INFY, product=MIS, strategy="alpha")
    assert first is not None
    await first.wait(lambda h: h.status is OrderStatus.OPEN)
    second = await desk.exit_position(INFY, product=MIS, strategy="beta")
    assert second is not None
    assert second.order.signal.quantity == 5
    assert first.status is OrderStatus.OPEN
    for handle in (first, second):
        await handle.wait(lambda h: h.status is OrderStatus.OPEN)
        broker_order_id = handle.order.broker_order_id
        assert broker_order_id is not None
        broker.fill(broker_order_id)
        await handle.wait()
    assert broker.net(INFY) + broker.carried[(INFY, MIS)] == 0
    assert shares(desk) == {"alpha": 0, "beta": 5}


async def test_a_newer_exit_of_the_same_strategy_retires_its_earlier_one(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """alpha's exit rests; alpha exits again: the earlier one is cancelled first, and the new
    one sells alpha's 10 once more (not 20)."""
    await filled(desk, "alpha", 10)
    await filled(desk, "beta", 10)
    broker.fill_market = False
    first = await desk.exit_position(INFY, product=MIS, strategy="alpha")
    assert first is not None
    await first.wait(lambda h: h.status is OrderStatus.OPEN)
    broker.fill_market = True
    second = await desk.exit_position(INFY, product=MIS, strategy="alpha")
    assert first.status is OrderStatus.CANCELLED
    assert second is not None
    await second.wait()
    assert second.order.signal.quantity == 10
    assert broker.net(INFY) == 10
    assert shares(desk) == {"alpha": 0, "beta": 10}


@pytest.mark.parametrize("name", ["square_off", "external", ACCOUNT_EXIT_STRATEGY])
async def test_an_exit_may_not_take_a_name_of_the_desks_own_orders(
    desk: OrderDesk, broker: FakeBroker, name: str
) -> None:
    """As a signal may not: the exit would be booked, and credited, as the desk's own."""
    await filled(desk, "alpha", 10)
    with pytest.raises(ValidationError) as exc_info:
        await desk.exit_position(INFY, product=MIS, strategy=name)
    assert exc_info.value.field == "strategy"
    assert "the name of the desk's own orders" in str(exc_info.value)
    assert len(broker.placements) == 1


# -- an exit naming no strategy: the account -------------------------------------------------


@pytest.mark.parametrize("named", [None, DEFAULT_STRATEGY])
async def test_the_accounts_exit_flattens_and_every_strategy_is_credited_its_share(
    desk: OrderDesk, broker: FakeBroker, named: str | None
) -> None:
    """alpha long 10 bought at 1,500, beta short 4 sold at 1,510 (the broker +6): the exit
    naming no strategy (or the default one, as the CLI and the client send it) sells 6 at
    1,520, and both strategies are flat in their books, each closed at 1,520; the books' P&L
    sums to the desk's, and nothing is left to the account."""
    await filled(desk, "alpha", 10)
    broker.prices[INFY] = Decimal(1510)
    await filled(desk, "beta", 4, side=Side.SELL)
    broker.prices[INFY] = Decimal(1520)
    exit_ = await desk.exit_position(INFY, product=MIS, strategy=named)
    assert exit_ is not None
    await exit_.wait()
    signal_ = exit_.order.signal
    assert (signal_.side, signal_.quantity) == (Side.SELL, 6)
    assert signal_.strategy == ACCOUNT_EXIT_STRATEGY
    assert broker.net(INFY) == 0
    assert shares(desk) == {"alpha": 0, "beta": 0, ACCOUNT_EXIT_STRATEGY: 0}
    books = desk.strategy_books()
    assert books["alpha"].pnl == Decimal(200)
    assert books["beta"].pnl == Decimal(-40)
    assert books[ACCOUNT_EXIT_STRATEGY].pnl == 0
    assert books[ACCOUNT_EXIT_STRATEGY].orders == 1
    assert sum(book.pnl for book in books.values()) == desk.day_pnl() == Decimal(160)


async def test_what_no_strategy_held_is_the_accounts(desk: OrderDesk, broker: FakeBroker) -> None:
    """The broker holds 15 where the books explain 10 (alpha's): the account's exit sells 15,
    alpha is flat, and the 5 no strategy held is ``account_exit``'s."""
    await filled(desk, "alpha", 10)
    broker.carried[(INFY, MIS)] = 5
    exit_ = await desk.exit_position(INFY, product=MIS)
    assert exit_ is not None
    assert exit_.order.signal.quantity == 15
    await exit_.wait()
    assert shares(desk) == {"alpha": 0, ACCOUNT_EXIT_STRATEGY: -5}


async def test_the_accounts_exit_retires_a_strategys_working_exit(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """alpha's exit rests; the account's exit cancels it first, then sells everything."""
    await filled(desk, "alpha", 10)
    await filled(desk, "beta", 10)
    broker.fill_market = False
    first = await desk.exit_position(INFY, product=MIS, strategy="alpha")
    assert first is not None
    await first.wait(lambda h: h.status is OrderStatus.OPEN)
    broker.fill_market = True
    flat = await desk.exit_position(INFY, product=MIS)
    assert first.status is OrderStatus.CANCELLED
    assert flat is not None
    await flat.wait()
    assert flat.order.signal.quantity == 20
    assert broker.net(INFY) == 0
    assert shares(desk) == {"alpha": 0, "beta": 0, ACCOUNT_EXIT_STRATEGY: 0}


async def test_the_books_read_back_the_same_after_a_restart(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """A restart replays the log into the same books: the account's exit is credited from what
    the log recorded of it; a sale once booked under the default strategy (what an exit
    naming none was before) stays the default strategy's."""
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await filled(desk, "alpha", 10)
        await filled(desk, "beta", 5)
        await filled(desk, DEFAULT_STRATEGY, 5, side=Side.SELL)  # an exit as it was booked
        exit_ = await desk.exit_position(INFY, product=MIS)
        assert exit_ is not None
        await exit_.wait()
        before = shares(desk)
        pnl = {name: book.pnl for name, book in desk.strategy_books().items()}
    assert before == {"alpha": 0, "beta": 0, DEFAULT_STRATEGY: 0, ACCOUNT_EXIT_STRATEGY: 0}
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        assert shares(desk) == before
        assert {name: book.pnl for name, book in desk.strategy_books().items()} == pnl


# -- the escalation, for both ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "whose"), [("gamma", "booked to gamma"), (None, "the account's position")]
)
async def test_an_exit_that_does_not_fill_is_repriced_then_alerted(
    broker: FakeBroker,
    store: MemoryStore,
    notifier: RecordingNotifier,
    strategy: str | None,
    whose: str,
) -> None:
    """Either exit rests unfilled: it is re-priced to a LIMIT within the band once, then a
    CRITICAL alert saying whose position is still open; every step is in the log."""
    policy = ExitPolicy(reprice_after=0.05, max_reprices=1, band_percent=Decimal(2))
    async with OrderDesk(
        broker, store, notifier=notifier, config=FAST, limits=RiskLimits()
    ) as desk:
        await filled(desk, "alpha", 10)
        await filled(desk, "gamma", 10)
        broker.fill_market = False
        exit_ = await desk.exit_position(INFY, product=MIS, strategy=strategy, policy=policy)
        assert exit_ is not None
        assert exit_.order.signal.quantity == (10 if strategy else 20)

        def unfilled() -> list[str]:
            return [a.body for a in notifier.alerts if a.title == "Exit not filled"]

        (body,) = await eventually(unfilled, what="the exit's CRITICAL alert")
        assert whose in body
        assert "Exit not filled" in notifier.titles(Severity.CRITICAL)
        assert broker.modify_calls == 1
        events = [row.event() for row in store.rows]
        steps = [e for e in events if isinstance(e, ExitStarted | ExitRepriced | ExitUnfilled)]
        assert [type(e) for e in steps] == [ExitStarted, ExitRepriced, ExitUnfilled]
        assert {e.order_id for e in steps} == {exit_.order_id}
        repriced = steps[1]
        assert isinstance(repriced, ExitRepriced)
        assert repriced.price == Decimal(1470)  # 2% below 1,500, through the market


# -- the books' rule, order by order ---------------------------------------------------------

FUT = NIFTY_FUT
T0 = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def _order(
    order_id: str,
    strategy: str,
    quantity: int,
    fills: list[tuple[int, str]] | None = None,
    *,
    side: Side = Side.BUY,
    instrument: InstrumentKey = FUT,
    product: Product = NRML,
    parent_id: str | None = None,
    minute: int = 0,
) -> Order:
    """``strategy``'s market order with its fills (quantity, price), a minute apart."""
    at = T0 + timedelta(minutes=minute)
    made = Order.from_events(
        [
            Order.create(
                order_id,
                signal(
                    strategy=strategy,
                    side=side,
                    quantity=quantity,
                    instrument=instrument,
                    product=product,
                ),
                at,
                parent_id=parent_id,
            )
        ]
    )
    for n, (size, price) in enumerate(fills or []):
        fill = Fill(
            trade_id=f"{order_id}-{n}",
            broker_order_id=f"b-{order_id}",
            instrument=instrument,
            side=side,
            product=product,
            quantity=size,
            price=Decimal(price),
            filled_at=at + timedelta(seconds=n + 1),
        )
        for event in made.on_fill(fill, fill.filled_at or at):
            made.apply(event)
    return made


def _held(orders: list[Order], **kwargs: object) -> dict[str, int]:
    books = attribute(orders, {}, **kwargs)  # type: ignore[arg-type]
    return {name: book.positions.net_quantity(FUT) for name, book in books.items()}


def test_a_sliced_account_exit_completes_with_its_last_slice() -> None:
    """alpha and gamma 1,800 each; the account's exit of 3,600 is two slices. After the first,
    alpha (who came first) is flat and gamma still long 1,800, as the account is; after the
    second, everyone is flat and nothing is the account's."""
    alpha = _order("alpha1", "alpha", 1800, [(1800, "24000")])
    gamma = _order("gamma1", "gamma", 1800, [(1800, "24000")], minute=1)
    parent = _order("exit", ACCOUNT_EXIT_STRATEGY, 3600, side=Side.SELL, minute=2)
    first = _order(
        "exit-1", ACCOUNT_EXIT_STRATEGY, 1800, [(1800, "24010")], side=Side.SELL,
        parent_id="exit", minute=2,
    )  # fmt: skip
    second = _order(
        "exit-2", ACCOUNT_EXIT_STRATEGY, 1800, [(1800, "24020")], side=Side.SELL,
        parent_id="exit", minute=3,
    )  # fmt: skip
    assert all(is_account_exit(o) for o in (parent, first, second))
    midway = _held([alpha, gamma, parent, first])
    assert midway == {"alpha": 0, "gamma": 1800, ACCOUNT_EXIT_STRATEGY: 0}
    done = _held([alpha, gamma, parent, first, second])
    assert done == {"alpha": 0, "gamma": 0, ACCOUNT_EXIT_STRATEGY: 0}
    # One strategy's book alone reads the same as every book together.
    assert _held([alpha, gamma, parent, first, second], strategy="gamma") == {"gamma": 0}


def test_a_cnc_exit_buys_back_no_sale_out_of_holdings() -> None:
    """10 INFY held from before. alpha sells 4 and beta 10 CNC: the account is short 14, of
    which 10 is stock sold; its exit buys back 4, which is beta's short beyond what it drew,
    and neither strategy's sale out of the holdings is undone."""
    holding = Holding(
        instrument=INFY,
        quantity=10,
        t1_quantity=0,
        average_price=Decimal(1400),
        close_price=Decimal(1500),
    )
    alpha = _order("a", "alpha", 4, [(4, "1500")], side=Side.SELL, instrument=INFY, product=CNC)
    beta = _order(
        "b", "beta", 10, [(10, "1500")], side=Side.SELL, instrument=INFY, product=CNC, minute=1
    )
    exit_ = _order(
        "x", ACCOUNT_EXIT_STRATEGY, 4, [(4, "1500")], instrument=INFY, product=CNC, minute=2
    )
    books = attribute([alpha, beta, exit_], {}, [holding])
    held = {name: book.positions.net_quantity(INFY) for name, book in books.items()}
    assert held == {"alpha": -4, "beta": -6, ACCOUNT_EXIT_STRATEGY: 0}
    drawn = {
        name: position.from_holdings
        for name, book in books.items()
        if (position := book.positions.positions.get((INFY, CNC))) is not None
    }
    assert drawn == {"alpha": 4, "beta": 6}


def test_an_order_of_a_strategy_is_never_read_as_the_accounts_exit() -> None:
    """Only the desk's own orders under ``account_exit`` are: an adopted order of that name,
    or the default strategy's sale (what an exit naming none was booked as before), are booked
    as they always were."""
    alpha = _order("a", "alpha", 75, [(75, "24000")])
    manual = _order("m", DEFAULT_STRATEGY, 75, [(75, "24000")], side=Side.SELL, minute=1)
    assert not is_account_exit(manual)
    assert _held([alpha, manual]) == {"alpha": 75, DEFAULT_STRATEGY: -75}
    named = signal(strategy=ACCOUNT_EXIT_STRATEGY, side=Side.SELL, instrument=FUT, product=NRML)
    adopted = Order.from_events(
        [Order.create("ext", named, T0, external=True, broker_order_id="1")]
    )
    assert not is_account_exit(adopted)


async def test_an_exit_of_an_unknown_instrument_or_strategy_name_is_refused(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """A mistyped instrument read "nothing to exit" (HTTP 200, exit 0) and a strategy name no
    strategy can have was taken: each is refused naming its field, and nothing is placed."""
    with pytest.raises(ValidationError, match="unknown instrument NSE:FOOBAR") as unknown:
        await desk.exit_position(InstrumentKey.parse("NSE:FOOBAR"), product=MIS)
    assert unknown.value.field == "instrument"
    with pytest.raises(ValidationError, match="must be 1 to 32 ASCII") as badly_named:
        await desk.exit_position(INFY, product=MIS, strategy="a b")
    assert badly_named.value.field == "strategy"
    assert await desk.exit_position(INFY, product=MIS) is None  # a known one, nothing held
    assert broker.placements == []
