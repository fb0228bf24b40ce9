"""How the built-in derivatives follow what they are priced from.

A derivative of one of :data:`~orderdesk.sim.universe.UNDERLYINGS` takes no random-walk step of
its own: its :class:`Link` names the index book it follows and what the model in
:mod:`orderdesk.sim.universe` needs to price it (strike, years to expiry, volatility, kind, carry).
A future is its index carried to its expiry, ``F = S·e^(r·t)``, so its basis shrinks with the
time left and is a few points on its last day; an option is re-valued against the index, so a
chain stays coherent as the index moves.

The MCX and CDS futures (:data:`~orderdesk.sim.universe.FUTURES`) have no index: the nearest
month of each takes the random walk and every later month follows it, carried over the time
between the two expiries, ``F_later = F_near·e^(r·(t_later − t_near))``.

Links are rebuilt each trading day (:func:`derivative_links`), so prices carry the days now left
to each expiry, an expired contract stops following, and when a nearest month expires the next
one takes the walk.
"""

from __future__ import annotations

import math
from datetime import date
from typing import NamedTuple

from orderdesk.sim.instruments import InstrumentMaster
from orderdesk.sim.price_book import PriceBook
from orderdesk.sim.universe import (
    CARRY_RATE,
    FUTURES,
    UNDERLYINGS,
    futures_chain,
    option_value,
    years_to_expiry,
)


class Link(NamedTuple):
    """How a derivative follows its underlying book."""

    underlying: int
    strike: float
    years: float
    volatility: float
    kind: str
    """``FUT``, ``CE`` or ``PE``."""
    carry: float = 0.0
    """A future's price over its underlying's, as an exponent: ``r·t`` over an index,
    ``r·(t − t_near)`` over a nearer month of the same contract."""


def derivative_links(master: InstrumentMaster, today: date) -> dict[int, Link]:
    """The built-in derivatives that follow another book, keyed by token."""
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
            years = years_to_expiry(expiry, today)
            links[inst.instrument_token] = Link(
                index.instrument_token,
                inst.strike,
                years,
                u.volatility,
                inst.instrument_type,
                CARRY_RATE * years,
            )
    for contract in FUTURES:
        chain = futures_chain(contract, master, today)
        if not chain:
            continue
        near = chain[0]
        near_years = years_to_expiry(date.fromisoformat(near.expiry), today)
        for inst in chain[1:]:
            years = years_to_expiry(date.fromisoformat(inst.expiry), today)
            links[inst.instrument_token] = Link(
                near.instrument_token, 0.0, years, 0.0, "FUT", contract.rate * (years - near_years)
            )
    return links


def option_units(book: PriceBook, link: Link, under: PriceBook) -> int:
    """An option's model price against its index's last price, on the option's tick grid."""
    spot = under.last / under.div
    value = option_value(spot, link.strike, link.years, link.volatility, link.kind == "CE")
    return book.on_grid(value * book.div)


def future_units(book: PriceBook, link: Link, under: PriceBook) -> int:
    """A future's price: its underlying's last price carried by ``link.carry``, on the
    future's tick grid."""
    return book.on_grid(under.last / under.div * math.exp(link.carry) * book.div)


def model_units(book: PriceBook, link: Link, under: PriceBook) -> int:
    """Where the model puts a derivative against its underlying now (a contract listed now
    starts there)."""
    if link.kind == "FUT":
        return future_units(book, link, under)
    return option_units(book, link, under)


__all__ = ["Link", "derivative_links", "future_units", "model_units", "option_units"]
