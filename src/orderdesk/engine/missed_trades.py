"""Trades a closed day is missing: what the broker carried out of it against what its close had.

A desk stopped through a day's end (a GTT fired, a trade on Kite web, in NRML or CNC) closes
that day late, the next trading day, when Kite's order and trade books of the day are gone
(its 06:00 rollover): those trades cannot be read back, and a fill is a fact the log does not
make up (the GTT's own record names the order it placed, not whether or at what price it
filled). What the broker still shows is what it carries out of the day: its positions'
overnight quantities and its holdings. Where they differ from what the day's book implies
(:func:`~orderdesk.domain.day.expected_opening`), the day's figures are not exact, and the
close says so, in words, on the line concerned (``PositionSnapshot.why_estimated``). The same
comparison is the next opening's ``day_open`` mismatch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TypeVar

from orderdesk.domain.day import DELIVERY, Holding, PositionSnapshot, expected_opening
from orderdesk.domain.position import Position
from orderdesk.domain.reports import HoldingReport, PositionReport
from orderdesk.domain.values import InstrumentKey, Product

_Key = TypeVar("_Key")

AWAY = "trades made while the desk was away are not in this day"


@dataclass(frozen=True, slots=True)
class CarryDifference:
    """One line the broker carries out of a day otherwise than the day's book implies."""

    instrument: InstrumentKey
    product: Product | None
    """None: the instrument's holdings (settled and T1 together)."""
    found: int
    """What the broker carries: a position's overnight quantity, or the holdings."""
    expected: int
    """What the day's book implies: the close's quantity, or the holdings it implies."""

    @property
    def mismatch(self) -> str:
        """As the next opening words it (a ``day_open`` mismatch)."""
        if self.product is None:
            return f"{self.instrument} holdings: {self.found}, expected {self.expected}"
        return f"{self.instrument} {self.product}: carried {self.found}, expected {self.expected}"

    def reason(self, at: str) -> str:
        """Why the closed day's line is an estimate; ``at``: when the broker showed it."""
        if self.product is None:
            return (
                f"the broker's holdings at {at} differ from the close: {self.instrument} "
                f"{self.found}, the close implied {self.expected}: {AWAY}"
            )
        return (
            f"the broker's positions at {at} differ from the close: {self.instrument} "
            f"{self.product} carried {self.found}, the close had {self.expected}: {AWAY}"
        )


def carry_differences(
    positions: Iterable[Position],
    holdings: Iterable[Holding],
    carried: Sequence[PositionReport],
    held: Sequence[HoldingReport] | None,
    *,
    listed: Callable[[InstrumentKey], bool],
) -> list[CarryDifference]:
    """Where the broker's ``carried`` positions and ``held`` holdings (None: a broker that
    keeps none, so they are not compared) differ from what the day's ``positions`` and its
    opening ``holdings`` imply; positions first, each sorted."""
    expected = expected_opening(positions, holdings, listed=listed, keeps_holdings=held is not None)
    found_positions = {(p.instrument, p.product): p.overnight_quantity for p in carried}
    rows: list[CarryDifference] = []
    for key in sorted(expected.positions.keys() | _nonzero(found_positions).keys()):
        ours, theirs = expected.positions.get(key, 0), found_positions.get(key, 0)
        if ours != theirs:
            rows.append(CarryDifference(key[0], key[1], theirs, ours))
    if held is None:
        return rows
    found_holdings = _nonzero({h.instrument: h.quantity + h.t1_quantity for h in held})
    for instrument in sorted(expected.holdings.keys() | found_holdings.keys()):
        ours, theirs = expected.holdings.get(instrument, 0), found_holdings.get(instrument, 0)
        if ours != theirs:
            rows.append(CarryDifference(instrument, None, theirs, ours))
    return rows


def _nonzero(quantities: Mapping[_Key, int]) -> dict[_Key, int]:
    return {key: quantity for key, quantity in quantities.items() if quantity}


def mark_missing_trades(
    snapshots: Sequence[PositionSnapshot],
    differences: Sequence[CarryDifference],
    *,
    at: str,
    prices: Mapping[InstrumentKey, Decimal],
) -> list[PositionSnapshot]:
    """The close's lines, each one a difference concerns said to be an estimate, and why. The
    quantities stay as the desk's trades left them: the missing trades' prices are unknown,
    and a made-up fill would read as a fact. A difference on no line of the day (a position or
    holding only the missing trades made) gets a flat line of its own, so the day still says
    it; a holding's goes on the day's delivery line of the stock."""
    lines = list(snapshots)
    for difference in differences:
        index = _line_of(lines, difference)
        if index is None:
            product = difference.product or Product.CNC
            flat = Position(difference.instrument, product)
            lines.append(PositionSnapshot.marked(flat, prices.get(difference.instrument)))
            index = len(lines) - 1
        line = lines[index]
        why = difference.reason(at)
        lines[index] = replace(
            line,
            estimated=True,
            why_estimated=f"{line.why_estimated}; {why}" if line.why_estimated else why,
        )
    return lines


def _line_of(lines: Sequence[PositionSnapshot], difference: CarryDifference) -> int | None:
    """The index of the line ``difference`` concerns: its position's, or for holdings the
    stock's delivery line (CNC first)."""
    products = (difference.product,) if difference.product else (Product.CNC, *DELIVERY)
    for product in products:
        for index, line in enumerate(lines):
            if (line.instrument, line.product) == (difference.instrument, product):
                return index
    return None


__all__ = ["CarryDifference", "carry_differences", "mark_missing_trades"]
