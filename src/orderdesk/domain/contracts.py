"""Contract multipliers: how many units of the quoted price one unit of quantity is worth.

On NSE and BSE (cash and F&O) an order's quantity counts shares or index units and the price is
per unit, so a position's value is quantity × price. On MCX and on the currency segments Kite
counts quantity in lots (the dump's ``lot_size`` is 1) while the price is quoted per barrel, per
10 grams, per US dollar, so Kite's positions carry a ``multiplier``: the quoted units in one lot
(KITE_API.md §5.1; the LEADMINI row of kite-mocks' ``positions.json`` has 1000), and every value,
P&L and margin is quantity × price × multiplier.

Kite's instrument dump does not carry the multiplier, so the exchanges' contract terms are kept
here, by the commodity or currency pair a trading symbol starts with (``CRUDEOIL26AUGFUT`` →
``CRUDEOIL``); a contract not listed has a multiplier of 1. The desk needs it from the first
fill (a position's P&L, an order's value against ``max_order_value``), before any positions
report of the broker's could say it; the simulator prices its lots by the same table.
"""

from __future__ import annotations

import re
from decimal import Decimal

from orderdesk.domain.values import InstrumentKey

LOT_MULTIPLIERS: dict[str, dict[str, int]] = {
    # MCX's lots over the unit its price is quoted in (MCX contract specifications).
    "MCX": {
        "CRUDEOIL": 100,  # 100 barrels, ₹ per barrel
        "CRUDEOILM": 10,
        "NATURALGAS": 1250,  # 1250 mmBtu, ₹ per mmBtu
        "NATGASMINI": 250,
        "GOLD": 100,  # 1 kg, ₹ per 10 g
        "GOLDM": 10,  # 100 g, ₹ per 10 g
        "GOLDGUINEA": 1,  # 8 g, ₹ per 8 g
        "GOLDPETAL": 1,  # 1 g, ₹ per g
        "SILVER": 30,  # 30 kg, ₹ per kg
        "SILVERM": 5,
        "SILVERMIC": 1,
        "COPPER": 2500,  # 2500 kg, ₹ per kg
        "ZINC": 5000,
        "ZINCMINI": 1000,
        "LEAD": 5000,
        "LEADMINI": 1000,
        "ALUMINIUM": 5000,
        "ALUMINI": 1000,
        "NICKEL": 1500,
    },
    # NSE and BSE currency futures: 1000 units of the base currency, ₹ per unit (JPY: per 100
    # yen, in lots of 100 000 yen).
    "CDS": {"USDINR": 1000, "EURINR": 1000, "GBPINR": 1000, "JPYINR": 1000},
    "BCD": {"USDINR": 1000, "EURINR": 1000, "GBPINR": 1000, "JPYINR": 1000},
}

_NAME = re.compile(r"[A-Z]+")


def contract_multiplier(exchange: str, tradingsymbol: str) -> int:
    """The ``multiplier`` of ``exchange:tradingsymbol`` (1 unless its lot is priced per unit
    of something smaller, as on MCX and the currency segments)."""
    terms = LOT_MULTIPLIERS.get(exchange)
    if not terms:
        return 1
    name = _NAME.match(tradingsymbol)
    return terms.get(name.group(), 1) if name else 1


def multiplier_of(instrument: InstrumentKey) -> Decimal:
    """The ``multiplier`` of ``instrument`` (see :func:`contract_multiplier`)."""
    return Decimal(contract_multiplier(instrument.exchange.value, instrument.tradingsymbol))


__all__ = ["LOT_MULTIPLIERS", "contract_multiplier", "multiplier_of"]
