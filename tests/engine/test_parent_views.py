"""A sliced order's parent as the desk's commands speak of it, from an operator walk: a modify
of the parent was refused ("a sliced order is modified through its children") without naming
the children to modify; the slice limit of Kite's autoslice promised "at most 10 (18000 in one
order)" in slices "of at most 1800" where its slices are whole lots (10 x 1,755 NIFTY, lots of
65), and 17,615 was refused under that promise; a parent whose slices were all modified to one
price still showed the price asked."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from orderdesk.api.schemas import order_out
from orderdesk.domain import OrderStatus, OrderType, Product
from orderdesk.domain.errors import ValidationError
from orderdesk.engine import OrderDesk
from orderdesk.engine.errors import CommandRefused
from orderdesk.ports.broker import AutosliceReply, PlaceOrder
from tests.engine.conftest import FAST
from tests.engine.fakes import NIFTY_CE, NIFTY_FUT, FakeBroker, MemoryStore, signal
from tests.support import eventually

ASKED = Decimal("23900")


def resting(signal_id: str = "big") -> Any:
    """4,500 NIFTY futures at a price that rests: the desk's slices of 1,800, 1,800 and 900."""
    return signal(
        instrument=NIFTY_FUT,
        quantity=4500,
        product=Product.NRML,
        order_type=OrderType.LIMIT,
        price=ASKED,
        signal_id=signal_id,
    )


async def test_a_parents_modify_is_refused_naming_its_working_children(
    broker: FakeBroker, desk: OrderDesk
) -> None:
    """Three slices resting, one then cancelled: the refusal names the two still working, the
    orders to modify instead, and not the cancelled one."""
    parent = await desk.submit(resting())
    children = [c.order_id for c in desk.children(parent.order_id)]
    assert len(children) == 3
    await desk.cancel(children[2])
    await eventually(
        lambda: desk.order(children[2]).status is OrderStatus.CANCELLED, what="cancelled"
    )

    with pytest.raises(CommandRefused) as refused:
        await desk.modify(parent.order_id, price=Decimal("23850"))

    message = str(refused.value)
    assert message == (
        f"order {parent.order_id}: a sliced order is modified through its children: "
        f"modify {children[0]}, {children[1]}"
    )
    assert broker.modify_calls == 0


async def test_children_modified_alike_show_their_price_on_the_parent(desk: OrderDesk) -> None:
    """Every slice modified from 23,900 to 23,850: the parent's row shows 23,850 (and names its
    children); with one slice left at 23,900 it shows the price asked."""
    parent = await desk.submit(resting())
    children = [c.order_id for c in desk.children(parent.order_id)]
    new = Decimal("23850")
    for child_id in children:
        await desk.modify(child_id, price=new)
        shown = order_out(desk, desk.order(parent.order_id))
        expected = new if child_id == children[-1] else ASKED
        assert shown.price == expected, child_id
    shown = order_out(desk, desk.order(parent.order_id))
    assert [c.order_id for c in shown.children] == children
    assert shown.status is OrderStatus.OPEN


class AutoslicingBroker(FakeBroker):
    """A broker offering Kite's autoslice (ten slices at most); no placement expected here."""

    max_slices = 10

    async def place_autoslice(self, command: PlaceOrder) -> AutosliceReply:
        raise AssertionError(f"placed {command.client_order_id}")


async def test_more_than_ten_slices_names_whole_lot_slices(store: MemoryStore) -> None:
    """NIFTY options in lots of 65 under a freeze of 1,800: 17,615 (271 lots) needs 11 slices of
    1,755, and the refusal says so; 17,550 (10 x 1,755), the most it names, passes the check."""
    broker = AutoslicingBroker()
    broker.infos = [
        replace(info, lot_size=65) if info.instrument == NIFTY_CE else info for info in broker.infos
    ]
    async with OrderDesk(broker, store, config=FAST) as desk:

        def buy(quantity: int) -> Any:
            return signal(instrument=NIFTY_CE, quantity=quantity, product=Product.NRML)

        with pytest.raises(ValidationError) as refused:
            await desk.submit(buy(17615))
        reason = refused.value.reason
        assert "needs 11 slices of at most 1755 (whole lots of 65" in reason, reason
        assert "at most 10 (17550 in one order)" in reason, reason
        assert "1800" in reason  # the freeze quantity it comes from
        assert "18000" not in reason
        assert desk.orders() == []
        (info,) = [i for i in broker.infos if i.instrument == NIFTY_CE]
        assert desk.autoslicer is not None
        desk.autoslicer.check(buy(17550), info)
