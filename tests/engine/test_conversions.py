"""Position conversions at the engine: the request logged before it leaves, the books moved
only by a conversion the broker made, a lost answer never re-sent and found by reconciliation."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace

import pytest

from orderdesk.domain import Product, Side, ValidationError
from orderdesk.domain.conversion import PositionConversion
from orderdesk.domain.events import (
    PositionConversionRefused,
    PositionConversionRequested,
    PositionConverted,
)
from orderdesk.domain.reports import PositionReport
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.errors import BrokerTransportError, InputRejected, NotOffered
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

TO_CNC = PositionConversion(
    instrument=INFY, side=Side.BUY, quantity=4, old_product=Product.MIS, new_product=Product.CNC
)


@dataclass
class ConvertingBroker(FakeBroker):
    """The fake broker with Kite's conversions: made, refused, or made with the answer lost."""

    answer: str = "ok"
    """``ok``, ``refuse`` (nothing moves) or ``lose`` (it moves; the answer never comes)."""
    moved: dict[tuple[InstrumentKey, Product], int] = field(default_factory=dict)
    asked: list[PositionConversion] = field(default_factory=list)
    position_reads: int = 0

    async def convert_position(self, conversion: PositionConversion) -> None:
        self.asked.append(conversion)
        if self.answer == "refuse":
            raise InputRejected("Position not found or insufficient quantity to convert.")
        old = (conversion.instrument, conversion.old_product)
        new = (conversion.instrument, conversion.new_product)
        self.moved[old] = self.moved.get(old, 0) - conversion.signed
        self.moved[new] = self.moved.get(new, 0) + conversion.signed
        if self.answer == "lose":
            raise BrokerTransportError("connection reset while reading the reply")

    async def positions(self) -> list[PositionReport]:
        self.position_reads += 1
        reports = {(p.instrument, p.product): p for p in await super().positions()}
        for (instrument, product), quantity in self.moved.items():
            report = reports.get((instrument, product))
            if report is None:
                # A product the trades never made: the instrument's row, emptied, in it.
                like = next(r for r in reports.values() if r.instrument == instrument)
                report = replace(like, product=product, quantity=0)
            reports[(instrument, product)] = replace(report, quantity=report.quantity + quantity)
        return list(reports.values())


def _events(store: MemoryStore) -> list[object]:
    return [
        event
        for row in store.read()
        if isinstance(
            event := row.event(),
            PositionConversionRequested | PositionConverted | PositionConversionRefused,
        )
    ]


async def _bought(desk: OrderDesk) -> None:
    handle = await desk.submit(signal(product=Product.MIS, quantity=10))
    await handle.wait()


async def test_a_conversion_the_broker_makes_moves_the_books_after_its_request_is_logged() -> None:
    broker, store = ConvertingBroker(), MemoryStore()
    async with OrderDesk(broker, store, config=FAST, limits=RiskLimits()) as desk:
        await _bought(desk)
        await desk.convert_position(TO_CNC, operator="cli")
        held = {p.product: p.quantity for p in desk.positions()}
        assert held == {Product.MIS: 6, Product.CNC: 4}
        report = await desk.reconcile()
        assert report.ok, report.rows
    requested, converted = _events(store)
    assert isinstance(requested, PositionConversionRequested)
    assert (requested.conversion, requested.operator) == (TO_CNC, "cli")
    assert isinstance(converted, PositionConverted)
    assert (converted.conversion, converted.source) == (TO_CNC, "desk")


async def test_the_strategys_book_moves_with_the_conversion_and_after_a_restart() -> None:
    """The strategies' books kept every fill's product: after 4 of manual's 10 MIS went to CNC
    it still held MIS 10 and no CNC (the square-off then closed all 10, the difference booked
    to no position that existed). Its book follows the account's, read back from the log too."""
    broker, store = ConvertingBroker(), MemoryStore()
    async with OrderDesk(broker, store, config=FAST, limits=RiskLimits()) as desk:
        await _bought(desk)
        await desk.convert_position(TO_CNC, operator="cli")
        book = desk.strategy_books()["manual"].positions
        assert {p.product: p.quantity for p in book.positions.values()} == {
            Product.MIS: 6,
            Product.CNC: 4,
        }
        own = desk.strategy_books("manual")["manual"]
        assert own.pnl == desk.strategy_books()["manual"].pnl
    async with OrderDesk(broker, store, config=FAST, limits=RiskLimits()) as desk:
        book = desk.strategy_books()["manual"].positions
        assert {p.product: p.quantity for p in book.positions.values()} == {
            Product.MIS: 6,
            Product.CNC: 4,
        }


async def test_a_refusal_is_logged_and_moves_nothing() -> None:
    broker, store = ConvertingBroker(answer="refuse"), MemoryStore()
    notifier = RecordingNotifier()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await _bought(desk)
        with pytest.raises(InputRejected):
            await desk.convert_position(TO_CNC)
        assert {p.product: p.quantity for p in desk.positions()} == {Product.MIS: 10}
    requested, refused = _events(store)
    assert isinstance(requested, PositionConversionRequested)
    assert isinstance(refused, PositionConversionRefused)
    assert "insufficient quantity" in refused.reason
    assert not [a for a in notifier.alerts if "onversion" in a.title]


async def test_more_than_the_desk_holds_is_refused_before_anything_is_sent() -> None:
    broker, store = ConvertingBroker(), MemoryStore()
    async with OrderDesk(broker, store, config=FAST) as desk:
        await _bought(desk)
        with pytest.raises(ValidationError, match="has 10 to convert, not 11"):
            await desk.convert_position(
                PositionConversion(
                    instrument=INFY,
                    side=Side.BUY,
                    quantity=11,
                    old_product=Product.MIS,
                    new_product=Product.CNC,
                )
            )
    assert broker.asked == []
    assert _events(store) == []


async def test_a_lost_answer_is_not_resent_and_reconciliation_finds_the_conversion() -> None:
    broker, store = ConvertingBroker(answer="lose"), MemoryStore()
    notifier = RecordingNotifier()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await _bought(desk)
        with pytest.raises(BrokerTransportError):
            await desk.convert_position(TO_CNC)
        assert {p.product: p.quantity for p in desk.positions()} == {Product.MIS: 10}
        unanswered = [a for a in notifier.alerts if a.title == "Position conversion unanswered"]
        assert [a.severity for a in unanswered] == [Severity.WARNING]

        report = await desk.reconcile()
        assert [row.kind for row in report.rows] == ["converted_at_broker"]
        held = {p.product: p.quantity for p in desk.positions()}
        assert held == {Product.MIS: 6, Product.CNC: 4}
        assert (await desk.reconcile()).ok
    assert broker.asked == [TO_CNC]  # once: never re-sent
    kinds = [(type(e).__name__, getattr(e, "source", None)) for e in _events(store)]
    assert kinds == [
        ("PositionConversionRequested", None),
        ("PositionConversionRefused", None),
        ("PositionConverted", "broker"),
    ]
    found = [a for a in notifier.alerts if a.title == "Position converted at the broker"]
    assert [a.severity for a in found] == [Severity.WARNING]


async def test_a_broker_without_conversions_says_so() -> None:
    async with OrderDesk(FakeBroker(), MemoryStore(), config=FAST) as desk:
        await _bought(desk)
        with pytest.raises(NotOffered, match="position conversion"):
            await desk.convert_position(TO_CNC)


@dataclass
class SlowBroker(ConvertingBroker):
    """Makes the conversion at once, and answers only when ``answered`` is set."""

    answered: asyncio.Event = field(default_factory=asyncio.Event)

    async def convert_position(self, conversion: PositionConversion) -> None:
        await super().convert_position(conversion)
        await self.answered.wait()


async def test_a_reconciliation_during_the_desks_own_conversion_does_not_take_it_twice() -> None:
    """The broker has moved the position and its answer is on the way when a reconciliation
    reads the positions: it waits for the answer instead of taking the move for one made at
    the broker (which the answer would then apply a second time)."""
    broker, store = SlowBroker(), MemoryStore()
    async with OrderDesk(broker, store, config=FAST) as desk:
        await _bought(desk)
        converting = asyncio.create_task(desk.convert_position(TO_CNC))
        await eventually(lambda: broker.asked, what="the conversion sent")
        reconciling = asyncio.create_task(desk.reconcile())
        await eventually(lambda: broker.position_reads >= 1, what="the positions read")
        broker.answered.set()
        await converting
        report = await reconciling
        assert report.ok, report.rows
        assert {p.product: p.quantity for p in desk.positions()} == {
            Product.MIS: 6,
            Product.CNC: 4,
        }
    kinds = [(type(e).__name__, getattr(e, "source", None)) for e in _events(store)]
    assert kinds == [("PositionConversionRequested", None), ("PositionConverted", "desk")]
