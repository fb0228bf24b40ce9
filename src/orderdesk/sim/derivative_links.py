"""How the built-in NIFTY and BANKNIFTY derivatives follow their index.

A derivative of one of :data:`~orderdesk.sim.universe.UNDERLYINGS` takes no random-walk step of
its own: its :class:`Link` names the index book it follows and what the model in
:mod:`orderdesk.sim.universe` needs to price it (strike, years to expiry, volatility, kind).
Futures keep their basis, moving by the index's ratio; options are re-valued against the index,
so a chain stays coherent as the index moves. Links are rebuilt each trading day
(:func:`derivative_links`), so options re-value against the days now left to their expiry and an
expired contract stops following.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from orderdesk.sim.instruments import InstrumentMaster
from orderdesk.sim.price_book import PriceBook
from orderdesk.sim.universe import UNDERLYINGS, future_value, option_value, years_to_expiry


class Link(NamedTuple):
    """How a derivative follows its index."""

    underlying: int
    strike: float
    years: float
    volatility: float
    kind: str
    """``FUT``, ``CE`` or ``PE``."""


def derivative_links(master: InstrumentMaster, today: date) -> dict[int, Link]:
    """The built-in underlyings' live derivatives, keyed by token."""
    links: dict[int, Link] = {}
    for u in UNDERLYINGS:
        index = master.by_key(u.index_key)
        if index is None:
            continue
        for inst in master:
            if inst.exchange != "NFO" or inst.name != u.name or not inst.expiry:
                continue
            if inst.instrument_type not in ("FUT", "CE", "PE"):
                continue
            expiry = date.fromisoformat(inst.expiry)
            if expiry < today:
                continue
            links[inst.instrument_token] = Link(
                index.instrument_token,
                inst.strike,
                years_to_expiry(expiry, today),
                u.volatility,
                inst.instrument_type,
            )
    return links


def option_units(book: PriceBook, link: Link, under: PriceBook) -> int:
    """An option's model price against its index's last price, on the option's tick grid."""
    spot = under.last / under.div
    value = option_value(spot, link.strike, link.years, link.volatility, link.kind == "CE")
    return book.on_grid(value * book.div)


def listing_units(book: PriceBook, link: Link, under: PriceBook) -> int:
    """Where a contract listed now starts: a future at the index carried to its expiry, an
    option at its model price."""
    if link.kind != "FUT":
        return option_units(book, link, under)
    spot = under.last / under.div
    return book.on_grid(future_value(spot, link.years) * book.div)


__all__ = ["Link", "derivative_links", "listing_units", "option_units"]
