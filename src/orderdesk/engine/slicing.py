"""Freeze-quantity slicing and basket ordering: pure arithmetic the desk applies.

An exchange refuses an order above the contract's freeze quantity; the desk splits such an
order into child orders no larger than the freeze limit, each a whole number of lots. In a
basket, legs that reduce margin (buys, i.e. the hedges) go before the legs they hedge.
"""

from __future__ import annotations

from collections.abc import Sequence

from orderdesk.domain.errors import ValidationError
from orderdesk.domain.signal import Signal
from orderdesk.domain.values import Side, Variety


def slice_quantities(quantity: int, freeze_quantity: int | None, lot_size: int = 1) -> list[int]:
    """Quantities of the child orders for ``quantity`` (one item when no slicing is needed)."""
    if freeze_quantity is None or quantity <= freeze_quantity:
        return [quantity]
    lot = max(lot_size, 1)
    size = freeze_quantity // lot * lot
    if size <= 0:
        raise ValidationError("quantity", f"freeze quantity {freeze_quantity} is below one lot")
    full, rest = divmod(quantity, size)
    return [size] * full + ([rest] if rest else [])


def needs_slicing(signal: Signal, freeze_quantity: int | None) -> bool:
    """Icebergs are the exchange's own slicing; everything else above the limit is split."""
    return (
        freeze_quantity is not None
        and signal.quantity > freeze_quantity
        and signal.variety is not Variety.ICEBERG
    )


def basket_order(signals: Sequence[Signal]) -> list[Signal]:
    """Hedges first: buys before sells, otherwise in the caller's order."""
    return sorted(signals, key=lambda s: s.side is Side.SELL)


__all__ = ["basket_order", "needs_slicing", "slice_quantities"]
