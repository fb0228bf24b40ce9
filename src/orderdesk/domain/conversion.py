"""Converting a position from one product to another (Kite's ``PUT /portfolio/positions``).

A trader who bought MIS in the morning and wants to keep the stock converts the position to CNC
before the broker's square-off; an NRML future can go to MIS for the day's lower margin. No
order is placed and nothing trades: the broker moves the quantity, at its cost, from one
product's position to the other's. The desk moves it in its own books the same way
(:meth:`~orderdesk.domain.position.PositionBook.convert`), so its positions, the day's close
and the next morning's expected holdings keep agreeing with the broker's.

The rules checked here are the ones the desk can know from its own books: a product the
exchange trades (CNC and MTF in the cash market, NRML in derivatives, MIS in both), a quantity
the position has on the side named, and (``overnight``) a carried quantity for a carried
conversion. The broker has the last word on the rest (margins, its own cut-offs).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from orderdesk.domain.calendar import PRODUCTS_OF, SEGMENT_OF, Segment
from orderdesk.domain.errors import ValidationError
from orderdesk.domain.values import InstrumentKey, Product, Side

if TYPE_CHECKING:
    from orderdesk.domain.position import PositionBook

CONVERTIBLE: Mapping[Segment, frozenset[Product]] = PRODUCTS_OF
"""The products a position may be converted between, by the exchange's segment."""


def carry_product(instrument: InstrumentKey) -> Product:
    """The product that keeps a position past the day's square-off: CNC for stock, NRML for
    derivatives (what "keep this MIS position" converts it to)."""
    return Product.CNC if SEGMENT_OF[instrument.exchange] is Segment.EQUITY else Product.NRML


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionConversion:
    """Move ``quantity`` of a long (``side`` BUY) or short (SELL) position in ``instrument``
    from ``old_product`` to ``new_product``: today's quantity, or with ``overnight`` the
    quantity carried in from an earlier day (Kite's ``position_type``)."""

    instrument: InstrumentKey
    side: Side
    quantity: int
    old_product: Product
    new_product: Product
    overnight: bool = False

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValidationError("quantity", "a conversion moves a positive quantity")
        if self.old_product is self.new_product:
            raise ValidationError("to_product", f"the position is {self.old_product} already")
        allowed = CONVERTIBLE[SEGMENT_OF[self.instrument.exchange]]
        named = (("from_product", self.old_product), ("to_product", self.new_product))
        for field, product in named:
            if product not in allowed:
                names = ", ".join(sorted(allowed))
                raise ValidationError(
                    field, f"{product} is not a product of {self.instrument.exchange} ({names})"
                )

    @property
    def signed(self) -> int:
        """The quantity as the position holds it: negative for a short."""
        return self.quantity * self.side.sign

    def describe(self) -> str:
        """One line for the log, the alerts and the CLI."""
        kind = "carried " if self.overnight else ""
        position = "long" if self.side is Side.BUY else "short"
        return (
            f"{self.instrument}: {self.quantity} of the {kind}{position} "
            f"{self.old_product} position to {self.new_product}"
        )


def found_conversions(
    book: PositionBook, broker: Mapping[tuple[InstrumentKey, Product], int]
) -> list[PositionConversion]:
    """Conversions that explain how the broker's net quantities (``broker``, by instrument
    and product) differ from ``book``'s: in one instrument, exactly two products differ, by
    the same quantity in opposite directions, and the desk's position in one of them can give
    it (today's quantity first, else the carried one). Any other difference explains nothing
    here and stays a difference."""
    differences: defaultdict[InstrumentKey, dict[Product, int]] = defaultdict(dict)
    local = {key: position.quantity for key, position in book.positions.items()}
    for key in broker.keys() | local.keys():
        difference = broker.get(key, 0) - local.get(key, 0)
        if difference:
            differences[key[0]][key[1]] = difference
    found: list[PositionConversion] = []
    for instrument, moved in differences.items():
        if len(moved) != 2 or sum(moved.values(), start=0) != 0:
            continue
        (first, first_moved), (second, _) = moved.items()
        for old, new, given in ((first, second, -first_moved), (second, first, first_moved)):
            conversion = _conversion(book, instrument, old, new, given)
            if conversion is not None:
                found.append(conversion)
                break
    return found


def _conversion(
    book: PositionBook, instrument: InstrumentKey, old: Product, new: Product, given: int
) -> PositionConversion | None:
    """``given`` (signed as the position) out of ``old`` into ``new``, if the book allows it."""
    side = Side.BUY if given > 0 else Side.SELL
    for overnight in (False, True):
        try:
            conversion = PositionConversion(
                instrument=instrument,
                side=side,
                quantity=abs(given),
                old_product=old,
                new_product=new,
                overnight=overnight,
            )
            book.check(conversion)
        except ValidationError:
            continue
        return conversion
    return None


__all__ = ["CONVERTIBLE", "PositionConversion", "carry_product", "found_conversions"]
