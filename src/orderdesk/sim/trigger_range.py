"""The cover order's stop-loss trigger range: ``GET /instruments/trigger_range/{buy|sell}`` and
the check CO placement, and a modify of the stop leg's trigger, make against the same numbers
(KITE_API.md §7 "Trigger range (CO)").

The rule, from the last price ``ltp`` and the cover order's own side (placement checks the stop
the order carries; a modify of the stop leg's trigger is checked the same way, against the last
price at the modify):

- a **buy** CO protects a long position with a sell stop below the market: its trigger must lie
  in ``[ltp × (1 − band), ltp]``;
- a **sell** CO protects a short with a buy stop above it: ``[ltp, ltp × (1 + band)]``.

``band`` is 10 %: Zerodha's support article on cover orders says "the stop-loss trigger price is
allowed within a range of 10%" (support.zerodha.com, "What are cover orders and how to use
them?"). Kite's exact percentages per instrument are UNVERIFIED: the sample reply
(``kite-mocks/trigger_range.json``) is the buy shape with narrower bands (INFY ``lower`` is
``upper × 0.945``, RELIANCE ``× 0.965``), so Kite has set them per instrument at least once.
Bounds are not rounded to the tick, as in that sample, and are inclusive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from orderdesk.sim.envelope import InputError
from orderdesk.sim.instruments import InstrumentMaster
from orderdesk.sim.orders import Side, money

CO_TRIGGER_BAND = Decimal("0.10")
"""How far from the last price a cover order's stop may be, as a fraction (UNVERIFIED)."""


@dataclass(frozen=True, slots=True)
class TriggerRange:
    """The stop-loss triggers a cover order of one side may carry now."""

    lower: Decimal
    upper: Decimal

    def __contains__(self, trigger: object) -> bool:
        return isinstance(trigger, Decimal) and self.lower <= trigger <= self.upper

    def to_wire(self) -> dict[str, Any]:
        """One entry of the route's map. ``instrument_token`` is 0 as in Kite's sample."""
        return {"instrument_token": 0, "lower": float(self.lower), "upper": float(self.upper)}


def co_trigger_range(side: Side, last_price: Decimal) -> TriggerRange:
    """The range for a cover order of ``side`` at ``last_price`` (see the module doc)."""
    if side is Side.BUY:
        return TriggerRange(last_price * (1 - CO_TRIGGER_BAND), last_price)
    return TriggerRange(last_price, last_price * (1 + CO_TRIGGER_BAND))


def check_co_trigger(side: Side, trigger: Decimal, last_price: Decimal) -> None:
    """Refuse (``InputException``) a cover order whose stop lies outside its trigger range."""
    allowed = co_trigger_range(side, last_price)
    if trigger not in allowed:
        # Kite's wording is UNVERIFIED; this one names the range the route would show.
        raise InputError(
            f"Trigger price for the stoploss leg of a {side.value.lower()} cover order must be "
            f"between {money(allowed.lower)} and {money(allowed.upper)} (last price "
            f"{money(last_price)})."
        )


def check_stop_leg_trigger(leg: Side, trigger: Decimal, last_price: Decimal) -> None:
    """Refuse (``InputException``) a new trigger for a cover order's stop leg of side ``leg``
    that placement would refuse: the leg is the cover order's opposite side, and its trigger is
    held to the same range, from the last price now, in the same words."""
    cover = Side.SELL if leg is Side.BUY else Side.BUY
    check_co_trigger(cover, trigger, last_price)


def trigger_ranges(
    side_text: str,
    keys: Iterable[str],
    instruments: InstrumentMaster,
    last_price: Callable[[int], float],
) -> dict[str, dict[str, Any]]:
    """The route's data: ``{"EXCH:SYMBOL": {"instrument_token", "lower", "upper"}}``.

    Unknown keys and indices (no cover orders on an index) are left out, as ``/quote`` leaves
    unknown keys out.
    """
    try:
        side = Side(side_text.upper())
    except ValueError:
        raise InputError("Invalid `transaction_type`: use buy or sell.") from None
    ranges: dict[str, dict[str, Any]] = {}
    for key in keys:
        inst = instruments.by_key(key)
        if inst is None or inst.is_index:
            continue
        price = Decimal(str(last_price(inst.instrument_token)))
        ranges[key] = co_trigger_range(side, price).to_wire()
    return ranges


__all__ = [
    "CO_TRIGGER_BAND",
    "TriggerRange",
    "check_co_trigger",
    "check_stop_leg_trigger",
    "co_trigger_range",
    "trigger_ranges",
]
