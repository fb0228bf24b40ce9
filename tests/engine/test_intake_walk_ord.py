"""Order terms held to the instrument at intake, before anything is sent: an iceberg's leg of
part of a lot (the walk's 1,300 in legs of 330, lot 65) was sent, its leg filled, and left a
position no exit could close ("2020 is not a multiple of lot 65"); a disclosed quantity on a
derivative was sent for the broker to refuse."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orderdesk.domain.errors import ValidationError
from orderdesk.domain.signal import Signal
from orderdesk.domain.values import OrderType, Product, Side, Variety
from orderdesk.engine import OrderDesk
from tests.engine.fakes import NIFTY_FUT, MemoryStore
from tests.engine.trigger_broker import NFO_LOT, TriggerBroker


def _iceberg(leg: int) -> Signal:
    return Signal(
        instrument=NIFTY_FUT,
        side=Side.BUY,
        quantity=20 * NFO_LOT,
        order_type=OrderType.LIMIT,
        product=Product.NRML,
        price=Decimal(24000),
        variety=Variety.ICEBERG,
        iceberg_legs=4,
        iceberg_quantity=leg,
        signal_id=f"ice-{leg}",
    )


async def test_an_iceberg_leg_off_the_lot_is_refused_before_anything_is_sent() -> None:
    """Legs of 330 (lot 65) are a ValidationError naming iceberg_quantity, and the broker's
    book stays empty; legs of 325 (five lots) go to the broker."""
    broker = TriggerBroker()
    async with OrderDesk(broker, MemoryStore()) as desk:
        with pytest.raises(ValidationError) as refused:
            await desk.submit(_iceberg(330))
        assert (refused.value.field, refused.value.reason) == (
            "iceberg_quantity",
            f"330 is not a multiple of lot {NFO_LOT}",
        )
        assert await broker.orders() == []
        whole_lots = await desk.submit(_iceberg(5 * NFO_LOT))
        assert whole_lots.order.submit_attempts == 1  # sent (the paper account cannot pay)


async def test_a_disclosed_quantity_on_a_derivative_is_refused_before_anything_is_sent() -> None:
    """A disclosed quantity on a NIFTY future is a ValidationError naming disclosed_quantity,
    and the broker's book stays empty."""
    broker = TriggerBroker()
    async with OrderDesk(broker, MemoryStore()) as desk:
        disclosed = Signal(
            instrument=NIFTY_FUT,
            side=Side.BUY,
            quantity=2 * NFO_LOT,
            order_type=OrderType.LIMIT,
            product=Product.NRML,
            price=Decimal(24000),
            disclosed_quantity=NFO_LOT,
        )
        with pytest.raises(ValidationError) as refused:
            await desk.submit(disclosed)
        assert refused.value.field == "disclosed_quantity"
        assert await broker.orders() == []
