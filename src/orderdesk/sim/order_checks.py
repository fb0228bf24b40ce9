"""What an order's terms must meet against its instrument and the day's prices, before the RMS
looks at its margin: the checks placement, autoslice and a modify share.

- The instrument must exist (Kite's words for one that has expired, :data:`EXPIRED`) and be
  tradable (an index is not), the quantity a whole number of lots within the freeze limit (or
  autosliced), an iceberg's legs whole lots too, prices multiples of the tick size, a disclosed
  quantity equity only (KITE_API.md §4.3).
- A LIMIT or SL price must lie within the day's circuit limits, those the instrument's quote
  reports (:func:`circuit_breach`): placement rejects such an order in the RMS's words, a modify
  or an autoslice slice refuses it.

- An SL or SL-M order's trigger must lie on the far side of the last price: above it for a
  buy, below it for a sell (:func:`stop_trigger_refusal`); one equal to it or on the near side
  would trigger at once. Placement rejects it in the RMS's words, a modify refuses it.

Form-level checks (missing fields, bad enums) come before, in :mod:`orderdesk.sim.order_params`.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from orderdesk.domain.calendar import PRODUCTS_OF, SEGMENT_OF
from orderdesk.domain.values import Exchange
from orderdesk.sim.envelope import InputError
from orderdesk.sim.order_params import PlaceRequest
from orderdesk.sim.orders import OrderType, Product, Side, Variety, as_decimal
from orderdesk.sim.ports import InstrumentLike, InstrumentLookup, QuoteSource

EXPIRED = "The instrument you are placing an order for has either expired or does not exist."
EXCHANGES = frozenset(str(exchange) for exchange in Exchange)
EQUITY_EXCHANGES = frozenset({"NSE", "BSE"})
"""Where ``disclosed_quantity`` may be used: equity only (KITE_API.md §4.3)."""
BELOW_CIRCUIT = (
    "Your order price is lower than the current lower circuit limit of {limit}. "
    "Place an order within the daily range."
)
"""Kite's words (``kite-mocks/gtt_get_order.json``'s ``rejection_reason``)."""
ABOVE_CIRCUIT = (
    "Your order price is higher than the current upper circuit limit of {limit}. "
    "Place an order within the daily range."
)
"""The upper twin of :data:`BELOW_CIRCUIT` (UNVERIFIED: no sample shows it)."""
BUY_STOP_TRIGGER = (
    "Trigger price for stoploss buy orders should be higher than the last traded price."
)
SELL_STOP_TRIGGER = (
    "Trigger price for stoploss sell orders should be lower than the last traded price."
)
"""Zerodha's RMS words for a stop on the wrong side of the market (as listed by
stocksdeveloper.in's "Trigger price rejected"; Kotak states the same rule)."""


def instrument_of(instruments: InstrumentLookup, exchange: str, symbol: str) -> InstrumentLike:
    """The instrument or ``InputException``, as Kite answers an unknown symbol."""
    inst = instruments.by_symbol(exchange, symbol)
    if inst is None:
        raise InputError(EXPIRED)
    return inst


def tick_of(instruments: InstrumentLookup, token: int) -> Decimal:
    """The tick size of the instrument behind ``token``; 0 for one no longer listed."""
    inst = instruments.by_token(token)
    return as_decimal(inst.tick_size) if inst is not None else Decimal(0)


def check_ticks(tick: Decimal, prices: Iterable[tuple[str, Decimal]]) -> None:
    """Refuse a price (named) that is not a multiple of the tick size."""
    for name, value in prices:
        if tick > 0 and value % tick:
            raise InputError(f"Invalid `{name}`: must be a multiple of the tick size {tick}.")


def check_disclosed(inst: InstrumentLike, disclosed_quantity: int | None) -> None:
    """Refuse a disclosed quantity outside equity (KITE_API.md §4.3: "equity only")."""
    if disclosed_quantity and inst.exchange not in EQUITY_EXCHANGES:
        raise InputError(
            f"Invalid `disclosed_quantity`: it applies to equity orders (NSE, BSE) only, "
            f"not to {inst.exchange}."
        )


def check_iceberg_lots(inst: InstrumentLike, req: PlaceRequest) -> None:
    """Refuse an iceberg order whose legs are not whole lots: each leg goes to the exchange as
    an order of its own. The last leg is what the others leave of a whole number of lots, so
    it is whole lots once the leg is. UNVERIFIED wording, in the style of Kite's ``Invalid``."""
    lot = inst.lot_size
    if req.variety is Variety.ICEBERG and lot > 1 and req.iceberg_quantity % lot:
        raise InputError(
            f"Invalid `iceberg_quantity`: {req.iceberg_quantity} is not a multiple of "
            f"lot size ({lot})."
        )


def check_instrument_terms(inst: InstrumentLike, req: PlaceRequest, *, check_freeze: bool) -> None:
    """Checks that need the instrument: tradability, lot and tick size (an iceberg's legs
    too), disclosed quantity, the freeze limit."""
    if inst.segment == "INDICES":
        # An index has a price but no order book; Kite refuses orders on it.
        raise InputError(f"{inst.tradingsymbol} is an index and cannot be traded.")
    check_disclosed(inst, req.disclosed_quantity)
    if (
        req.product is not Product.CO  # a cover order's own product, on any of its exchanges
        and req.exchange in EXCHANGES
        and req.product.value not in PRODUCTS_OF[SEGMENT_OF[Exchange(req.exchange)]]
    ):
        # UNVERIFIED wording: Kite takes delivery (CNC, MTF) of stock alone, and the carry
        # (NRML) of derivatives, currency and commodities alone.
        raise InputError(f"Invalid `product`: {req.product} is not allowed on {req.exchange}.")
    if inst.lot_size > 1 and req.quantity % inst.lot_size:
        raise InputError(f"Quantity should be a multiple of lot size ({inst.lot_size}).")
    check_iceberg_lots(inst, req)
    check_ticks(
        as_decimal(inst.tick_size), (("price", req.price), ("trigger_price", req.trigger_price))
    )
    # An iceberg is Kite's way past the freeze limit: each leg goes to the exchange as an order
    # of its own, so the leg is what the limit holds (refusing its total refused what it is for).
    iceberg = req.variety is Variety.ICEBERG
    check_freeze_limit(
        inst, req.iceberg_quantity if iceberg else req.quantity, enabled=check_freeze
    )


def check_freeze_limit(inst: InstrumentLike, quantity: int, *, enabled: bool = True) -> None:
    """Refuse ``quantity`` for one exchange order above the instrument's freeze limit."""
    freeze = inst.freeze_quantity
    if enabled and freeze is not None and quantity > freeze:
        raise InputError(
            f"Quantity exceeds the freeze limit of {freeze} for {inst.tradingsymbol}; "
            "use autoslice or split the order."
        )


def _limit_text(limit: Decimal) -> str:
    """A circuit limit as Kite writes it: two decimals (``70.65``), more for finer ticks."""
    return f"{limit:.2f}" if limit == round(limit, 2) else str(limit)


def stop_trigger_refusal(
    order_type: OrderType, side: Side, trigger: Decimal, last_price: Decimal
) -> str | None:
    """Why an SL/SL-M order's trigger would fire at once (at or past the last price), or
    ``None``: a buy stop must be above the last price, a sell stop below it."""
    if order_type not in (OrderType.SL, OrderType.SLM) or last_price <= 0:
        return None
    if side is Side.BUY:
        return BUY_STOP_TRIGGER if trigger <= last_price else None
    return SELL_STOP_TRIGGER if trigger >= last_price else None


def circuit_breach(
    quotes: QuoteSource, inst: InstrumentLike, order_type: OrderType, price: Decimal
) -> str | None:
    """Why a LIMIT or SL price lies outside the day's circuit limits, or ``None``.

    The limits are the instrument's quote's, so a client that reads them there can always
    place within them. An index quotes no band (0 and 0); it is not tradable anyway.
    """
    if order_type not in (OrderType.LIMIT, OrderType.SL):
        return None
    key = f"{inst.exchange}:{inst.tradingsymbol}"
    quote = quotes.quote([key]).get(key)
    if quote is None:
        return None
    lower = as_decimal(quote["lower_circuit_limit"])
    upper = as_decimal(quote["upper_circuit_limit"])
    if upper <= 0:
        return None
    if price < lower:
        return BELOW_CIRCUIT.format(limit=_limit_text(lower))
    if price > upper:
        return ABOVE_CIRCUIT.format(limit=_limit_text(upper))
    return None


__all__ = [
    "ABOVE_CIRCUIT",
    "BELOW_CIRCUIT",
    "BUY_STOP_TRIGGER",
    "EQUITY_EXCHANGES",
    "EXPIRED",
    "SELL_STOP_TRIGGER",
    "check_disclosed",
    "check_freeze_limit",
    "check_iceberg_lots",
    "check_instrument_terms",
    "check_ticks",
    "circuit_breach",
    "instrument_of",
    "stop_trigger_refusal",
    "tick_of",
]
