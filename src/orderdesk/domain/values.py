"""Kite's trading vocabulary as types.

The members' values are Kite's wire strings because they are also the words traders use; the
adapter still maps explicitly at the edge so another broker's words never leak in here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from orderdesk.domain.errors import ValidationError


class Exchange(StrEnum):
    NSE = "NSE"
    BSE = "BSE"
    NFO = "NFO"
    BFO = "BFO"
    CDS = "CDS"
    BCD = "BCD"
    MCX = "MCX"


class Side(StrEnum):
    """Kite calls this ``transaction_type``."""

    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell: the direction a fill moves the net position."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    SL = "SL"
    SL_M = "SL-M"


class Product(StrEnum):
    CNC = "CNC"
    NRML = "NRML"
    MIS = "MIS"
    MTF = "MTF"
    # Positions of cover orders carry these products; they are never chosen for a new order.
    CO = "CO"
    BO = "BO"


class Variety(StrEnum):
    REGULAR = "regular"
    AMO = "amo"
    CO = "co"
    ICEBERG = "iceberg"
    AUCTION = "auction"


class Validity(StrEnum):
    DAY = "DAY"
    IOC = "IOC"
    TTL = "TTL"


ORDER_PRODUCTS = frozenset({Product.CNC, Product.NRML, Product.MIS, Product.MTF})
"""Products a new order may use."""

_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9&_\-. ]{0,49}$")


@dataclass(frozen=True, slots=True, order=True)
class InstrumentKey:
    """An instrument as traders name it: exchange plus trading symbol (``NSE:INFY``).

    Kite reuses instrument tokens after expiry, so this pair, not the token, is the identity.
    """

    exchange: Exchange
    tradingsymbol: str

    def __post_init__(self) -> None:
        if not _SYMBOL.match(self.tradingsymbol):
            raise ValidationError(
                "tradingsymbol", f"{self.tradingsymbol!r} is not an upper-case trading symbol"
            )

    @classmethod
    def parse(cls, text: str) -> InstrumentKey:
        """Read ``"EXCHANGE:SYMBOL"``; raises :class:`ValidationError` naming ``instrument``."""
        exchange, sep, symbol = text.partition(":")
        if not sep or not symbol:
            raise ValidationError("instrument", f"{text!r} is not of the form EXCHANGE:SYMBOL")
        try:
            parsed_exchange = Exchange(exchange.upper())
        except ValueError:
            known = ", ".join(e.value for e in Exchange)
            raise ValidationError(
                "instrument", f"unknown exchange {exchange!r} (known: {known})"
            ) from None
        return cls(parsed_exchange, symbol)

    def __str__(self) -> str:
        return f"{self.exchange.value}:{self.tradingsymbol}"


__all__ = [
    "ORDER_PRODUCTS",
    "Exchange",
    "InstrumentKey",
    "OrderType",
    "Product",
    "Side",
    "Validity",
    "Variety",
]
