"""Kite's words ⇄ orderdesk's domain, in both directions, at the adapter's edge.

Every enum crosses through one explicit dict per enum (:data:`KITE_STATUS`, :data:`EXCHANGES`,
…), never by substring matching or by trusting that a domain value happens to equal Kite's
string. An unknown status is :attr:`BrokerStatus.UNKNOWN` (Kite's status set is open-ended);
an unknown exchange, side, order type, product, variety or validity raises
:class:`UnmappedValue`, which the client reports as a malformed response naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import ValidationError as PydanticValidationError

from orderdesk.brokers.kite.errors import MalformedResponse
from orderdesk.brokers.kite.schemas import (
    ContractNoteRow,
    GttRow,
    HoldingRow,
    LtpRow,
    MarginRow,
    MarginsData,
    OhlcRow,
    OrderRow,
    PositionRow,
    QuoteRow,
    SegmentRow,
    TradeRow,
)
from orderdesk.domain.errors import ValidationError
from orderdesk.domain.reports import (
    Charges,
    Fill,
    GttOrderLeg,
    GttTrigger,
    HoldingReport,
    MarginsReport,
    OrderMargin,
    OrderStatusReport,
    PositionReport,
    Quote,
    SegmentMargins,
)
from orderdesk.domain.status import BrokerStatus
from orderdesk.domain.text import one_line
from orderdesk.domain.values import (
    Exchange,
    InstrumentKey,
    OrderType,
    Product,
    Side,
    Validity,
    Variety,
)
from orderdesk.ports.broker import OrderChanges, PlaceOrder

K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R")

KITE_STATUS: dict[str, BrokerStatus] = {
    "PUT ORDER REQ RECEIVED": BrokerStatus.RECEIVED,
    "AMO REQ RECEIVED": BrokerStatus.RECEIVED,
    "VALIDATION PENDING": BrokerStatus.RECEIVED,
    "OPEN PENDING": BrokerStatus.RECEIVED,
    "TRIGGER PENDING": BrokerStatus.TRIGGER_PENDING,
    "OPEN": BrokerStatus.OPEN,
    "MODIFY VALIDATION PENDING": BrokerStatus.MODIFY_PENDING,
    "MODIFY PENDING": BrokerStatus.MODIFY_PENDING,
    "MODIFIED": BrokerStatus.MODIFIED,
    # A modification Kite refused; the order keeps its previous terms.
    "NOT MODIFIED": BrokerStatus.MODIFY_REJECTED,
    "CANCEL PENDING": BrokerStatus.CANCEL_PENDING,
    "COMPLETE": BrokerStatus.COMPLETE,
    "CANCELLED": BrokerStatus.CANCELLED,
    "REJECTED": BrokerStatus.REJECTED,
}
"""Kite's order status → broker-neutral status. Anything else is ``UNKNOWN`` (non-terminal)."""

POSTBACK_UPDATE = "UPDATE"
"""The postback status for "modified or partly filled"; see :func:`order_update_to_report`."""

EXCHANGES: dict[str, Exchange] = {
    "NSE": Exchange.NSE,
    "BSE": Exchange.BSE,
    "NFO": Exchange.NFO,
    "BFO": Exchange.BFO,
    "CDS": Exchange.CDS,
    "BCD": Exchange.BCD,
    "MCX": Exchange.MCX,
}
SIDES: dict[str, Side] = {"BUY": Side.BUY, "SELL": Side.SELL}
ORDER_TYPES: dict[str, OrderType] = {
    "MARKET": OrderType.MARKET,
    "LIMIT": OrderType.LIMIT,
    "SL": OrderType.SL,
    "SL-M": OrderType.SL_M,
}
PRODUCTS: dict[str, Product] = {
    "CNC": Product.CNC,
    "NRML": Product.NRML,
    "MIS": Product.MIS,
    "MTF": Product.MTF,
    "CO": Product.CO,
    "BO": Product.BO,
}
VARIETIES: dict[str, Variety] = {
    "regular": Variety.REGULAR,
    "amo": Variety.AMO,
    "co": Variety.CO,
    "iceberg": Variety.ICEBERG,
    "auction": Variety.AUCTION,
}
VALIDITIES: dict[str, Validity] = {
    "DAY": Validity.DAY,
    "IOC": Validity.IOC,
    "TTL": Validity.TTL,
}


def _invert(table: Mapping[K, V]) -> dict[V, K]:
    inverted = {value: key for key, value in table.items()}
    if len(inverted) != len(table):
        raise AssertionError("a wire table maps two Kite words to one domain value")
    return inverted


WIRE_EXCHANGE = _invert(EXCHANGES)
WIRE_SIDE = _invert(SIDES)
WIRE_ORDER_TYPE = _invert(ORDER_TYPES)
WIRE_PRODUCT = _invert(PRODUCTS)
WIRE_VARIETY = _invert(VARIETIES)
WIRE_VALIDITY = _invert(VALIDITIES)

MARKET_PROTECTED = frozenset({OrderType.MARKET, OrderType.SL_M})
"""Order types that must carry ``market_protection`` since Kite's 2026 change."""


class UnmappedValue(ValueError):
    """A Kite value with no domain counterpart; ``field`` names where it was."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def lookup(table: Mapping[str, V], value: str, field: str) -> V:
    """``table[value]``, or :class:`UnmappedValue` naming ``field`` and the known words."""
    try:
        return table[value]
    except KeyError:
        known = ", ".join(table)
        raise UnmappedValue(field, f"unknown value {value!r} (known: {known})") from None


def broker_status(kite_status: str) -> BrokerStatus:
    """Kite's status word → :class:`BrokerStatus`; exact match only, unknown → ``UNKNOWN``."""
    return KITE_STATUS.get(kite_status, BrokerStatus.UNKNOWN)


def instrument(exchange: str, tradingsymbol: str) -> InstrumentKey:
    """The instrument key for Kite's exchange and trading symbol."""
    parsed = lookup(EXCHANGES, exchange, "exchange")
    try:
        return InstrumentKey(parsed, tradingsymbol)
    except ValidationError as exc:
        raise UnmappedValue("tradingsymbol", exc.reason) from None


def instrument_text(key: InstrumentKey) -> str:
    """``EXCHANGE:SYMBOL`` as Kite's quote endpoints want it."""
    return f"{WIRE_EXCHANGE[key.exchange]}:{key.tradingsymbol}"


def map_rows(endpoint: str, rows: Iterable[R], fn: Callable[[R], V]) -> list[V]:
    """Map each row, turning an unmappable one into :class:`MalformedResponse` with its index."""
    mapped: list[V] = []
    for index, row in enumerate(rows):
        try:
            mapped.append(fn(row))
        except UnmappedValue as exc:
            raise MalformedResponse(endpoint, f"data[{index}].{exc.field}", exc.reason) from None
    return mapped


# --- wire → domain ---------------------------------------------------------------------------


def order_quantities(row: OrderRow) -> tuple[int, int, int, int]:
    """The whole order's quantity, filled, pending and cancelled quantities.

    An iceberg order's row shows its working leg: ``quantity`` and the fills are the leg's, the
    total is ``meta.iceberg.total_quantity`` and ``remaining_quantity`` what the later legs
    hold (kite-mocks/orders.json). The legs before the working one have filled in full (each
    is released when the one before has filled), so the order has filled what they released
    plus the leg's fills; the later legs are pending while the leg is, and cancelled with it.
    """
    iceberg = row.meta.iceberg if row.meta is not None else None
    if iceberg is None:
        return row.quantity, row.filled_quantity, row.pending_quantity, row.cancelled_quantity
    unreleased = iceberg.remaining_quantity
    released_before = iceberg.total_quantity - unreleased - row.quantity
    filled = released_before + row.filled_quantity
    pending = row.pending_quantity + unreleased if row.pending_quantity else 0
    cancelled = row.cancelled_quantity + unreleased if row.cancelled_quantity else 0
    return iceberg.total_quantity, filled, pending, cancelled


def order_report(row: OrderRow) -> OrderStatusReport:
    """One order row (book, history, postback, ticker update) as a report (an iceberg order's
    quantities are the whole order's, see :func:`order_quantities`)."""
    quantity, filled, pending, cancelled = order_quantities(row)
    return OrderStatusReport(
        broker_order_id=row.order_id,
        status=broker_status(row.status),
        broker_status_text=one_line(row.status),
        instrument=instrument(row.exchange, row.tradingsymbol),
        side=lookup(SIDES, row.transaction_type, "transaction_type"),
        order_type=lookup(ORDER_TYPES, row.order_type, "order_type"),
        product=lookup(PRODUCTS, row.product, "product"),
        variety=lookup(VARIETIES, row.variety, "variety"),
        validity=lookup(VALIDITIES, row.validity, "validity"),
        quantity=quantity,
        filled_quantity=filled,
        pending_quantity=pending,
        cancelled_quantity=cancelled,
        price=row.price,
        trigger_price=row.trigger_price,
        average_price=row.average_price,
        tag=row.tag,
        tags=tuple(row.tags or ()),
        slice_of=autoslice_parent(row.tags or ()),
        status_message=None if row.status_message is None else one_line(row.status_message),
        parent_order_id=row.parent_order_id,
        exchange_order_id=row.exchange_order_id,
        placed_by=row.placed_by,
        order_timestamp=row.order_timestamp,
        exchange_timestamp=row.exchange_timestamp,
        modified=row.modified,
    )


AUTOSLICE_TAG = "autoslice:"
"""Kite tags each order its autoslice cut with ``autoslice:<placement id>`` (kite-mocks
orders.json; KITE_API.md §4.3)."""


def autoslice_parent(tags: Sequence[str]) -> str | None:
    """The placement an autoslice child was cut from, read from its system tags."""
    for tag in tags:
        if tag.startswith(AUTOSLICE_TAG) and len(tag) > len(AUTOSLICE_TAG):
            return tag[len(AUTOSLICE_TAG) :]
    return None


def order_update_to_report(payload: Mapping[str, Any]) -> OrderStatusReport:
    """A raw order update (ticker ``{"type": "order"}`` data or a postback body) as a report.

    Postbacks say ``UPDATE`` for both a modification and a partial fill. A partial fill proves
    the order rests at the exchange, so ``UPDATE`` with ``0 < filled < quantity`` is reported
    ``OPEN``; any other ``UPDATE`` stays ``UNKNOWN`` (informational), because a modified stop
    order is still waiting for its trigger and must not be reported open. Raises
    :class:`MalformedResponse` naming the field when the payload does not parse.
    """
    endpoint = "order update"
    try:
        row = OrderRow.model_validate(payload)
        report = order_report(row)
    except PydanticValidationError as exc:
        raise malformed(endpoint, exc) from None
    except UnmappedValue as exc:
        raise MalformedResponse(endpoint, exc.field, exc.reason) from None
    if (
        row.status == POSTBACK_UPDATE
        and 0 < report.filled_quantity < report.quantity
        and report.status is BrokerStatus.UNKNOWN
    ):
        return replace(report, status=BrokerStatus.OPEN)
    return report


def malformed(endpoint: str, exc: PydanticValidationError, prefix: str = "") -> MalformedResponse:
    """The first pydantic error as :class:`MalformedResponse`, its location as the field."""
    first = exc.errors(include_url=False, include_input=False)[0]
    parts = [prefix] if prefix else []
    for part in first["loc"]:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(f".{part}" if parts else str(part))
    field = "".join(parts) or "(root)"
    return MalformedResponse(endpoint, field, first["msg"])


def fill(row: TradeRow) -> Fill:
    """One trade as a fill; the fill time is the exchange's, else Kite's."""
    return Fill(
        trade_id=row.trade_id,
        broker_order_id=row.order_id,
        instrument=instrument(row.exchange, row.tradingsymbol),
        side=lookup(SIDES, row.transaction_type, "transaction_type"),
        product=lookup(PRODUCTS, row.product, "product"),
        quantity=row.quantity,
        price=row.average_price,
        filled_at=row.exchange_timestamp or row.fill_timestamp,
        exchange_order_id=row.exchange_order_id,
    )


def position(row: PositionRow) -> PositionReport:
    return PositionReport(
        instrument=instrument(row.exchange, row.tradingsymbol),
        product=lookup(PRODUCTS, row.product, "product"),
        quantity=row.quantity,
        overnight_quantity=row.overnight_quantity,
        multiplier=row.multiplier,
        average_price=row.average_price,
        last_price=row.last_price,
        close_price=row.close_price,
        pnl=row.pnl,
        realised=row.realised,
        unrealised=row.unrealised,
        m2m=row.m2m,
        buy_quantity=row.buy_quantity,
        buy_value=row.buy_value,
        sell_quantity=row.sell_quantity,
        sell_value=row.sell_value,
        day_buy_quantity=row.day_buy_quantity,
        day_sell_quantity=row.day_sell_quantity,
        instrument_token=row.instrument_token,
    )


def holding(row: HoldingRow) -> HoldingReport:
    return HoldingReport(
        instrument=instrument(row.exchange, row.tradingsymbol),
        isin=row.isin,
        quantity=row.quantity,
        t1_quantity=row.t1_quantity,
        average_price=row.average_price,
        last_price=row.last_price,
        close_price=row.close_price,
        pnl=row.pnl,
        product=lookup(PRODUCTS, row.product, "product"),
        instrument_token=row.instrument_token,
    )


def segment(row: SegmentRow) -> SegmentMargins:
    return SegmentMargins(
        enabled=row.enabled,
        net=row.net,
        cash=row.available.cash,
        opening_balance=row.available.opening_balance,
        live_balance=row.available.live_balance,
        collateral=row.available.collateral,
        utilised_debits=row.utilised.debits,
        utilised_exposure=row.utilised.exposure,
        utilised_span=row.utilised.span,
    )


def margins(data: MarginsData) -> MarginsReport:
    return MarginsReport(
        equity=segment(data.equity) if data.equity else None,
        commodity=segment(data.commodity) if data.commodity else None,
    )


def quote(key: InstrumentKey, row: LtpRow) -> Quote:
    """A quote, OHLC or LTP row as a :class:`Quote` (fields the row lacks stay at defaults)."""
    ohlc = row.ohlc if isinstance(row, OhlcRow) else None
    full = row if isinstance(row, QuoteRow) else None
    return Quote(
        instrument=key,
        instrument_token=row.instrument_token,
        last_price=row.last_price,
        timestamp=full.timestamp if full else None,
        volume=full.volume if full else 0,
        open=ohlc.open if ohlc else Decimal(0),
        high=ohlc.high if ohlc else Decimal(0),
        low=ohlc.low if ohlc else Decimal(0),
        close=ohlc.close if ohlc else Decimal(0),
        lower_circuit_limit=full.lower_circuit_limit if full else None,
        upper_circuit_limit=full.upper_circuit_limit if full else None,
    )


def plain_price(value: Decimal) -> Decimal:
    """A price as people write it: Kite's JSON floats arrive as 1401.0, which a trigger's every
    view then printed (the desk's own terms read 1401)."""
    return Decimal(format(value.normalize(), "f"))


def gtt(row: GttRow) -> GttTrigger:
    key = instrument(row.condition.exchange, row.condition.tradingsymbol)
    legs = tuple(
        GttOrderLeg(
            side=lookup(SIDES, leg.transaction_type, "transaction_type"),
            quantity=leg.quantity,
            price=plain_price(leg.price),
            product=lookup(PRODUCTS, leg.product, "product"),
            order_type=lookup(ORDER_TYPES, leg.order_type, "order_type"),
        )
        for leg in row.orders
    )
    return GttTrigger(
        instrument=key,
        trigger_values=tuple(plain_price(v) for v in row.condition.trigger_values),
        last_price=plain_price(row.condition.last_price),
        orders=legs,
        trigger_id=row.id,
        status=row.status,
        kind=row.type,
        order_ids=tuple(filter(None, (_fired_order_id(leg.result) for leg in row.orders))),
        refusals=tuple(filter(None, (_refusal(leg.result) for leg in row.orders))),
    )


def _fired_order_id(result: dict[str, Any] | None) -> str:
    """The order a fired leg placed (``""`` when none: not fired, or its placement failed)."""
    outcome = result.get("order_result") if result else None
    return str(outcome.get("order_id") or "") if isinstance(outcome, dict) else ""


def _refusal(result: dict[str, Any] | None) -> str:
    """Why a fired leg's placement failed (``""`` when it did not fail)."""
    outcome = result.get("order_result") if result else None
    if not isinstance(outcome, dict) or outcome.get("status") != "failed":
        return ""
    return one_line(str(outcome.get("rejection_reason") or "no reason given"))


def order_margin(row: MarginRow) -> OrderMargin:
    return OrderMargin(
        instrument=instrument(row.exchange, row.tradingsymbol),
        total=row.total,
        span=row.span,
        exposure=row.exposure,
        option_premium=row.option_premium,
        charges_total=row.charges.total,
    )


def charges(broker_order_id: str, row: ContractNoteRow) -> Charges:
    block = row.charges
    return Charges(
        broker_order_id=broker_order_id,
        instrument=instrument(row.exchange, row.tradingsymbol),
        transaction_tax=block.transaction_tax,
        exchange_turnover_charge=block.exchange_turnover_charge,
        sebi_turnover_charge=block.sebi_turnover_charge,
        brokerage=block.brokerage,
        stamp_duty=block.stamp_duty,
        gst=block.gst.total,
        total=block.total,
    )


# --- domain → wire ---------------------------------------------------------------------------


def _num(value: Decimal | int) -> str:
    # ``format`` keeps Decimal exact and never switches to exponent notation for small ticks.
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def place_form(
    command: PlaceOrder, *, market_protection: Decimal, autoslice: bool = False
) -> dict[str, str]:
    """The form body of ``POST /orders/{variety}``; orderdesk's client order id is the tag.

    MARKET and SL-M orders carry ``market_protection`` (the signal's own value, else the
    configured default), because Kite now rejects them without it.
    """
    signal = command.signal
    form = {
        "exchange": WIRE_EXCHANGE[signal.instrument.exchange],
        "tradingsymbol": signal.instrument.tradingsymbol,
        "transaction_type": WIRE_SIDE[signal.side],
        "order_type": WIRE_ORDER_TYPE[signal.order_type],
        "quantity": str(signal.quantity),
        "product": WIRE_PRODUCT[signal.product],
        "validity": WIRE_VALIDITY[signal.validity],
        "tag": command.client_order_id,
    }
    if signal.price is not None:
        form["price"] = _num(signal.price)
    if signal.trigger_price is not None:
        form["trigger_price"] = _num(signal.trigger_price)
    if signal.disclosed_quantity:
        form["disclosed_quantity"] = str(signal.disclosed_quantity)
    if signal.validity_ttl is not None:
        form["validity_ttl"] = str(signal.validity_ttl)
    if signal.iceberg_legs is not None and signal.iceberg_quantity is not None:
        form["iceberg_legs"] = str(signal.iceberg_legs)
        form["iceberg_quantity"] = str(signal.iceberg_quantity)
    if signal.auction_number is not None:
        form["auction_number"] = signal.auction_number
    if signal.order_type in MARKET_PROTECTED:
        protection = signal.market_protection
        form["market_protection"] = _num(market_protection if protection is None else protection)
    if autoslice:
        form["autoslice"] = "true"
    if command.algo_id is not None:
        form["algo_id"] = command.algo_id
    return form


def modify_form(
    changes: OrderChanges, *, parent_order_id: str | None, market_protection: Decimal
) -> dict[str, str]:
    """The form body of ``PUT /orders/{variety}/{order_id}``: only the terms that change."""
    form: dict[str, str] = {}
    if changes.quantity is not None:
        form["quantity"] = str(changes.quantity)
    if changes.price is not None:
        form["price"] = _num(changes.price)
    if changes.trigger_price is not None:
        form["trigger_price"] = _num(changes.trigger_price)
    if changes.order_type is not None:
        form["order_type"] = WIRE_ORDER_TYPE[changes.order_type]
        if changes.order_type in MARKET_PROTECTED:
            form["market_protection"] = _num(market_protection)
    if parent_order_id is not None:
        form["parent_order_id"] = parent_order_id
    return form


def margin_order(command: PlaceOrder) -> dict[str, Any]:
    """One entry of the JSON body of ``/margins/orders`` and ``/margins/basket``."""
    signal = command.signal
    return {
        "exchange": WIRE_EXCHANGE[signal.instrument.exchange],
        "tradingsymbol": signal.instrument.tradingsymbol,
        "transaction_type": WIRE_SIDE[signal.side],
        "variety": WIRE_VARIETY[signal.variety],
        "product": WIRE_PRODUCT[signal.product],
        "order_type": WIRE_ORDER_TYPE[signal.order_type],
        "quantity": signal.quantity,
        "price": float(signal.price or 0),
        "trigger_price": float(signal.trigger_price or 0),
    }


def contract_note_order(report: OrderStatusReport) -> dict[str, Any]:
    """One entry of the JSON body of ``/charges/orders`` (an executed order)."""
    return {
        "order_id": report.broker_order_id,
        "exchange": WIRE_EXCHANGE[report.instrument.exchange],
        "tradingsymbol": report.instrument.tradingsymbol,
        "transaction_type": WIRE_SIDE[report.side],
        "variety": WIRE_VARIETY[report.variety],
        "product": WIRE_PRODUCT[report.product],
        "order_type": WIRE_ORDER_TYPE[report.order_type],
        "quantity": report.filled_quantity or report.quantity,
        "average_price": float(report.average_price),
    }


def gtt_form(trigger: GttTrigger) -> dict[str, str]:
    """The form body of ``POST``/``PUT /gtt/triggers``: JSON-encoded condition and orders."""
    exchange = WIRE_EXCHANGE[trigger.instrument.exchange]
    symbol = trigger.instrument.tradingsymbol
    condition = {
        "exchange": exchange,
        "tradingsymbol": symbol,
        "trigger_values": [float(value) for value in trigger.trigger_values],
        "last_price": float(trigger.last_price),
    }
    orders = [
        {
            "exchange": exchange,
            "tradingsymbol": symbol,
            "transaction_type": WIRE_SIDE[leg.side],
            "quantity": leg.quantity,
            "order_type": WIRE_ORDER_TYPE[leg.order_type],
            "product": WIRE_PRODUCT[leg.product],
            "price": float(leg.price),
        }
        for leg in trigger.orders
    ]
    return {
        "type": trigger.kind,
        "condition": json.dumps(condition),
        "orders": json.dumps(orders),
    }


def instrument_params(keys: Sequence[InstrumentKey]) -> list[tuple[str, str]]:
    """Repeated ``i=EXCHANGE:SYMBOL`` query parameters."""
    return [("i", instrument_text(key)) for key in keys]


__all__ = [
    "EXCHANGES",
    "KITE_STATUS",
    "MARKET_PROTECTED",
    "ORDER_TYPES",
    "PRODUCTS",
    "SIDES",
    "VALIDITIES",
    "VARIETIES",
    "UnmappedValue",
    "broker_status",
    "charges",
    "contract_note_order",
    "fill",
    "gtt",
    "gtt_form",
    "holding",
    "instrument",
    "instrument_params",
    "instrument_text",
    "lookup",
    "malformed",
    "map_rows",
    "margin_order",
    "margins",
    "modify_form",
    "order_margin",
    "order_quantities",
    "order_report",
    "order_update_to_report",
    "place_form",
    "plain_price",
    "position",
    "quote",
]
