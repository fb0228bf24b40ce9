"""An order of the desk's own that its log does not hold (restored from an older backup) is
recognised by its tag, adopted under it, and its signal sent again places no second order.

The operator walk: orders placed at 10:00, the log restored from the evening before, the desk
started: the three were adopted as "placed outside orderdesk" under ids derived from the
broker's, and sending one's signal again placed a second live buy under the same tag.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orderdesk.api.event_words import describe, finding
from orderdesk.domain import Order, OrderStatus, OrderType, Product, Side, client_order_id
from orderdesk.domain.events import OrderCreated, ReconciliationMismatch
from orderdesk.domain.reports import OrderStatusReport
from orderdesk.domain.signal import EXTERNAL_STRATEGY, Signal
from orderdesk.domain.status import BrokerStatus
from orderdesk.domain.values import InstrumentKey, Validity, Variety
from orderdesk.engine import OrderDesk
from orderdesk.engine.adoption import (
    OWN_ORDER_NOT_IN_LOG,
    adopted_order_id,
    adoption_finding,
    external_order_id,
    is_recovered,
    recovered_terms_differing,
    signal_from_report,
)
from orderdesk.engine.errors import PlacedBeforeUnlogged
from tests.engine.conftest import FAST
from tests.engine.fakes import INFY, FakeBroker, FakeOrder, MemoryStore, RecordingNotifier

TCS = InstrumentKey.parse("NSE:TCS")
AT = datetime(2026, 12, 9, 4, 30, tzinfo=UTC)
TAG = client_order_id("s1", "d3-tcs-lim")


def row(broker_order_id: str, tag: str | None, tags: tuple[str, ...] = ()) -> OrderStatusReport:
    """The broker's row of TCS BUY 2 @ 4000 CNC, resting."""
    return OrderStatusReport(
        broker_order_id=broker_order_id,
        status=BrokerStatus.OPEN,
        broker_status_text="OPEN",
        instrument=TCS,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        variety=Variety.REGULAR,
        validity=Validity.DAY,
        quantity=2,
        filled_quantity=0,
        pending_quantity=2,
        price=Decimal(4000),
        tag=tag,
        tags=tags or ((tag,) if tag else ()),
    )


def adopted(report: OrderStatusReport) -> Order:
    """The order the news path makes of a report nobody's order matches."""
    created = Order.create(
        adopted_order_id(report),
        signal_from_report(report),
        AT,
        external=True,
        broker_order_id=report.broker_order_id,
    )
    return Order.from_events([created])


def sent_again(**overrides: object) -> Signal:
    fields: dict[str, object] = {
        "instrument": TCS,
        "side": Side.BUY,
        "quantity": 2,
        "order_type": OrderType.LIMIT,
        "price": Decimal(4000),
        "product": Product.CNC,
        "strategy": "s1",
        "signal_id": "d3-tcs-lim",
    }
    fields.update(overrides)
    return Signal(**fields)  # type: ignore[arg-type]


def test_an_order_carrying_one_of_the_desks_ids_is_adopted_under_it() -> None:
    assert TAG == "odyssovs8nlmei0974v8"  # the walk's tag
    assert adopted_order_id(row("P13", TAG)) == TAG
    # Kite lists the tags too; the desk's may be among others there.
    assert adopted_order_id(row("P13", None, tags=("web", TAG))) == TAG


@pytest.mark.parametrize(
    "tag",
    [None, "manual", "od12345", TAG.upper(), TAG + "x", "xx" + TAG[2:], TAG[:-1] + "_"],
)
def test_any_other_order_is_adopted_under_an_id_of_its_broker_id(tag: str | None) -> None:
    assert adopted_order_id(row("P13", tag)) == external_order_id("P13")


def test_an_order_the_broker_made_from_the_desks_keeps_an_id_of_its_own() -> None:
    """A cover order's stop leg and an autoslice child carry their parent's tag by design, as
    their siblings do: under the tag all but the first would be refused as the first's."""
    leg = replace(row("P15", TAG), parent_order_id="P13")
    child = replace(row("P16", TAG), slice_of="P12")
    assert adopted_order_id(leg) == external_order_id("P15")
    assert adopted_order_id(child) == external_order_id("P16")
    kind, detail = adoption_finding(adopted(child))
    assert kind == "own_order_not_in_log"
    assert f"from order {TAG} of this desk" in detail
    assert "placed outside orderdesk" not in detail
    assert "signal again is refused today" in detail  # no parent to answer a resend with


def test_the_finding_says_the_log_lacks_the_desks_own_order() -> None:
    own = adopted(row("P13", TAG))
    assert own.order_id == TAG
    assert own.signal.strategy == EXTERNAL_STRATEGY
    assert is_recovered(own)
    kind, detail = adoption_finding(own)
    assert kind == "own_order_not_in_log"
    assert "placed outside orderdesk" not in detail
    assert "P13" in detail
    assert "restored from a backup" in detail
    assert "Order" not in detail.split()  # words, not the class's name

    outside = adopted(row("P14", "manual"))
    assert not is_recovered(outside)
    assert adoption_finding(outside) == (
        "external_order",
        "adopted broker order P14 (NSE:TCS BUY 2) placed outside orderdesk",
    )


def test_a_signal_sent_again_is_held_to_the_terms_an_adoption_keeps() -> None:
    """The signal's (strategy, signal id) hash to the tag, which proves it the order's own
    though the order is attributed to ``external``; its quantity and prices are the broker's
    current ones (a modify moves them), so only instrument, side and product are held to."""
    own = adopted(row("P13", TAG))
    assert recovered_terms_differing(own, sent_again()) == []
    assert recovered_terms_differing(own, sent_again(quantity=3, price=Decimal(3990))) == []
    assert recovered_terms_differing(own, sent_again(side=Side.SELL)) == ["side"]
    assert recovered_terms_differing(adopted(row("P14", None)), sent_again()) is None


WALK = [
    sent_again(instrument=INFY, quantity=2, price=Decimal(1490), signal_id="d3-infy-lim"),
    sent_again(instrument=INFY, quantity=5, price=Decimal(1480), signal_id="d3-infy-lim2"),
    sent_again(
        instrument=INFY, side=Side.SELL, quantity=3, price=Decimal(1510), signal_id="d3-infy-sell"
    ),
]
"""Wednesday 10:00: three resting orders of strategy s1 (on the fake broker's INFY)."""


async def test_the_walk_restore_then_the_same_signal_places_nothing(
    broker: FakeBroker, notifier: RecordingNotifier
) -> None:
    async with OrderDesk(broker, MemoryStore(), notifier=notifier, config=FAST) as first:
        for placed_signal in WALK:
            handle = await first.submit(placed_signal)
            await handle.wait(lambda h: h.status is OrderStatus.OPEN)
    placed = len(broker.placements)
    restored = MemoryStore()  # the backup of the evening before: none of the three

    async with OrderDesk(broker, restored, notifier=notifier, config=FAST) as desk:
        ids = [client_order_id("s1", str(s.signal_id)) for s in WALK]
        assert all(desk.book.orders[i].external for i in ids)
        found = [e for e in restored.events() if isinstance(e, ReconciliationMismatch)]
        assert sorted(e.order_id or "" for e in found if e.kind == "own_order_not_in_log") == (
            sorted(ids)
        )
        assert not [e for e in found if e.kind == "external_order"]

        again = await desk.submit(WALK[0])
        assert again.order_id == ids[0]
        assert len(broker.placements) == placed
        assert broker.tags().count(ids[0]) == 1
        assert (await desk.reconcile()).ok


def test_the_timeline_says_a_recovered_order_was_the_desks() -> None:
    """The dashboard's timeline words an order adopted under the desk's own tag as the
    desk's, not as "placed outside orderdesk"."""
    tagged = replace(sent_again(), strategy=EXTERNAL_STRATEGY, tag="odyssovs8nlmei0974v8")
    at = datetime(2026, 12, 9, 10, tzinfo=UTC)
    ours = OrderCreated(at=at, order_id=tagged.tag or "", signal=tagged, external=True)
    theirs = OrderCreated(at=at, order_id="odx", signal=replace(tagged, tag=None), external=True)
    assert describe(ours).startswith("Found at the broker (placed by orderdesk, not in its log)")
    assert describe(theirs).startswith("Found at the broker (placed outside orderdesk)")
    assert finding(OWN_ORDER_NOT_IN_LOG).startswith("an order orderdesk placed")


async def test_a_signal_whose_autoslice_children_the_broker_holds_is_not_placed_again(
    broker: FakeBroker, notifier: RecordingNotifier
) -> None:
    """An autoslice's parent is no order at the broker: after a restore only its children,
    carrying its id as their tag, are there to adopt. Sent again, its signal found no order
    under that id and was placed a second time; it is refused, naming the children."""
    for child in ("P21", "P22"):
        broker.book[child] = FakeOrder(replace(row(child, TAG), slice_of="P20"))
    async with OrderDesk(broker, MemoryStore(), notifier=notifier, config=FAST) as desk:
        adopted_ids = sorted(desk.book.made_from_unlogged[TAG])
        assert adopted_ids == sorted(external_order_id(c) for c in ("P21", "P22"))
        with pytest.raises(PlacedBeforeUnlogged) as refused:
            await desk.submit(sent_again())
        assert broker.placements == []
    assert str(refused.value) == (
        f"signal id 'd3-tcs-lim' was placed before as order {TAG}, which the desk's log does "
        "not hold (restored from a backup older than it?); the broker holds "
        f"{', '.join(desk.book.made_from_unlogged[TAG])} made from it (adopted), so it is not "
        "placed again"
    )
