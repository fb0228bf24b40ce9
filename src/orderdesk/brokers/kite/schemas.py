"""Kite's JSON payloads as pydantic models: the only place that knows Kite's field names.

The models are lenient where Kite is loose (extra fields are ignored, ids that arrive as numbers
become strings, prices that print as ``72`` become ``Decimal("72")``) and strict where a wrong
value would mislead the desk (a missing ``filled_quantity`` is an error, not a zero).
Timestamps are converted here, at the edge: Kite's naive IST strings become UTC-aware
datetimes. Mapping to domain types happens in :mod:`orderdesk.brokers.kite.mapping`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, SecretStr

from orderdesk.domain.calendar import IST


def ist_to_utc(text: str) -> datetime:
    """Kite's ``YYYY-MM-DD HH:MM:SS`` (naive IST) as a UTC-aware datetime.

    A value that already names its offset (historical candles) keeps that offset.
    """
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=IST)
    return parsed.astimezone(UTC)


def _ist_or_none(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=IST).astimezone(UTC)
    if not isinstance(value, str):
        raise ValueError("expected an IST timestamp string")
    return ist_to_utc(value)


IstTime = Annotated[datetime | None, BeforeValidator(_ist_or_none)]
"""A Kite timestamp: naive IST text on the wire, UTC-aware here; empty or null is ``None``."""


class Wire(BaseModel):
    """Base of every wire model: immutable, tolerant of fields Kite adds later."""

    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)


# --- orders and trades ---------------------------------------------------------------------


def _meta_object(value: Any) -> Any:
    # ``meta`` is an object on most rows and a string on some (KITE_API.md §4.5); a string
    # carries nothing the desk reads.
    return value if isinstance(value, dict) else None


class IcebergMeta(Wire):
    """``meta.iceberg`` of an iceberg order's row: the working leg and the order's total."""

    leg: int
    legs: int
    leg_quantity: int
    total_quantity: int
    remaining_quantity: int
    """What the legs after the working one hold (not released to the exchange yet)."""


class OrderMeta(Wire):
    """The parts of an order row's ``meta`` the desk reads."""

    iceberg: IcebergMeta | None = None


class OrderRow(Wire):
    """An order as the book, the history, a postback or a ticker update describes it."""

    order_id: str
    status: str
    exchange: str
    tradingsymbol: str
    transaction_type: str
    order_type: str
    product: str
    variety: str = "regular"
    validity: str = "DAY"
    quantity: int
    filled_quantity: int
    pending_quantity: int
    cancelled_quantity: int = 0
    disclosed_quantity: int = 0
    price: Decimal = Decimal(0)
    trigger_price: Decimal = Decimal(0)
    average_price: Decimal = Decimal(0)
    instrument_token: int | None = None
    status_message: str | None = None
    parent_order_id: str | None = None
    exchange_order_id: str | None = None
    placed_by: str | None = None
    order_timestamp: IstTime = None
    exchange_timestamp: IstTime = None
    tag: str | None = None
    tags: list[str] | None = None
    modified: bool = False
    validity_ttl: int | None = None
    auction_number: str | None = None
    market_protection: Decimal | None = None
    meta: Annotated[OrderMeta | None, BeforeValidator(_meta_object)] = None


class TradeRow(Wire):
    """One execution. Its ``order_timestamp`` is time-only, so it is kept as text."""

    trade_id: str
    order_id: str
    exchange: str
    tradingsymbol: str
    transaction_type: str
    product: str
    quantity: int
    average_price: Decimal
    instrument_token: int | None = None
    exchange_order_id: str | None = None
    fill_timestamp: IstTime = None
    exchange_timestamp: IstTime = None
    order_timestamp: str | None = None


class OrderIdData(Wire):
    """The reply to place, modify and cancel."""

    order_id: str


class SliceError(Wire):
    code: int | None = None
    error_type: str | None = None
    message: str = ""


class AutosliceChild(Wire):
    """One slice of an autoslice placement: an order id, or the error that refused it."""

    order_id: str | None = None
    error: SliceError | None = None


class AutosliceData(Wire):
    """The reply to an autoslice placement (Kite's 2026 shape: parent id plus children)."""

    order_id: str
    children: list[AutosliceChild]


# --- portfolio -------------------------------------------------------------------------------


class PositionRow(Wire):
    tradingsymbol: str
    exchange: str
    product: str
    quantity: int
    overnight_quantity: int = 0
    multiplier: Decimal = Decimal(1)
    average_price: Decimal
    last_price: Decimal
    close_price: Decimal = Decimal(0)
    pnl: Decimal
    realised: Decimal = Decimal(0)
    unrealised: Decimal = Decimal(0)
    m2m: Decimal = Decimal(0)
    buy_quantity: int = 0
    buy_value: Decimal = Decimal(0)
    sell_quantity: int = 0
    sell_value: Decimal = Decimal(0)
    day_buy_quantity: int = 0
    day_sell_quantity: int = 0
    instrument_token: int | None = None


class PositionsData(Wire):
    net: list[PositionRow]
    day: list[PositionRow] = []


class HoldingRow(Wire):
    tradingsymbol: str
    exchange: str
    isin: str = ""
    product: str = "CNC"
    quantity: int
    t1_quantity: int = 0
    average_price: Decimal
    last_price: Decimal
    close_price: Decimal = Decimal(0)
    pnl: Decimal = Decimal(0)
    instrument_token: int | None = None


class AvailableFunds(Wire):
    cash: Decimal = Decimal(0)
    opening_balance: Decimal = Decimal(0)
    live_balance: Decimal = Decimal(0)
    collateral: Decimal = Decimal(0)
    adhoc_margin: Decimal = Decimal(0)
    intraday_payin: Decimal = Decimal(0)


class UtilisedFunds(Wire):
    debits: Decimal = Decimal(0)
    exposure: Decimal = Decimal(0)
    span: Decimal = Decimal(0)
    option_premium: Decimal = Decimal(0)
    m2m_realised: Decimal = Decimal(0)
    m2m_unrealised: Decimal = Decimal(0)


class SegmentRow(Wire):
    enabled: bool
    net: Decimal
    available: AvailableFunds
    utilised: UtilisedFunds


class AuthorisationRequest(Wire):
    """The reply to ``POST /portfolio/holdings/authorise``."""

    request_id: str


class MarginsData(Wire):
    equity: SegmentRow | None = None
    commodity: SegmentRow | None = None


# --- margins and charges of orders ---------------------------------------------------------


class Gst(Wire):
    igst: Decimal = Decimal(0)
    cgst: Decimal = Decimal(0)
    sgst: Decimal = Decimal(0)
    total: Decimal = Decimal(0)


class ChargesBlock(Wire):
    transaction_tax: Decimal = Decimal(0)
    transaction_tax_type: str = ""
    exchange_turnover_charge: Decimal = Decimal(0)
    sebi_turnover_charge: Decimal = Decimal(0)
    brokerage: Decimal = Decimal(0)
    stamp_duty: Decimal = Decimal(0)
    gst: Gst = Gst()
    total: Decimal = Decimal(0)


class MarginRow(Wire):
    """``/margins/orders`` rows, and the blocks of ``/margins/basket``."""

    type: str = ""
    tradingsymbol: str = ""
    exchange: str = ""
    span: Decimal = Decimal(0)
    exposure: Decimal = Decimal(0)
    option_premium: Decimal = Decimal(0)
    additional: Decimal = Decimal(0)
    cash: Decimal = Decimal(0)
    var: Decimal = Decimal(0)
    leverage: Decimal = Decimal(0)
    charges: ChargesBlock = ChargesBlock()
    total: Decimal


class BasketMarginsData(Wire):
    """``/margins/basket``: margins one by one, together (``initial``) and after spread benefit."""

    initial: MarginRow
    final: MarginRow
    orders: list[MarginRow]
    charges: ChargesBlock = ChargesBlock()


class ContractNoteRow(Wire):
    """A ``/charges/orders`` row; rows come back in the order of the request."""

    transaction_type: str
    tradingsymbol: str
    exchange: str
    quantity: int
    price: Decimal
    charges: ChargesBlock


# --- market data -----------------------------------------------------------------------------


class OhlcBlock(Wire):
    open: Decimal = Decimal(0)
    high: Decimal = Decimal(0)
    low: Decimal = Decimal(0)
    close: Decimal = Decimal(0)


class DepthLevel(Wire):
    price: Decimal
    quantity: int
    orders: int


class Depth(Wire):
    buy: list[DepthLevel] = []
    sell: list[DepthLevel] = []


class LtpRow(Wire):
    instrument_token: int
    last_price: Decimal


class OhlcRow(LtpRow):
    ohlc: OhlcBlock = OhlcBlock()


class QuoteRow(OhlcRow):
    timestamp: IstTime = None
    last_trade_time: IstTime = None
    last_quantity: int = 0
    average_price: Decimal = Decimal(0)
    buy_quantity: int = 0
    sell_quantity: int = 0
    volume: int = 0
    net_change: Decimal = Decimal(0)
    oi: int = 0
    lower_circuit_limit: Decimal | None = None
    upper_circuit_limit: Decimal | None = None
    depth: Depth = Depth()


# --- GTT ------------------------------------------------------------------------------------


class GttCondition(Wire):
    exchange: str
    tradingsymbol: str
    trigger_values: list[Decimal]
    last_price: Decimal
    instrument_token: int | None = None


class GttOrderRow(Wire):
    exchange: str
    tradingsymbol: str
    transaction_type: str
    quantity: int
    price: Decimal
    product: str
    order_type: str = "LIMIT"
    result: dict[str, Any] | None = None


class GttRow(Wire):
    id: int
    type: str
    status: str
    condition: GttCondition
    orders: list[GttOrderRow]
    created_at: IstTime = None
    updated_at: IstTime = None
    expires_at: IstTime = None


class TriggerIdData(Wire):
    trigger_id: int


# --- user and session ----------------------------------------------------------------------


class ProfileData(Wire):
    user_id: str
    user_name: str = ""
    user_shortname: str = ""
    email: str = ""
    user_type: str = ""
    broker: str = ""
    exchanges: list[str] = []
    products: list[str] = []
    order_types: list[str] = []
    avatar_url: str | None = None


class SessionData(ProfileData):
    """The login reply. Tokens are ``SecretStr`` so no repr or log line shows them."""

    api_key: str
    access_token: SecretStr
    public_token: SecretStr | None = None
    refresh_token: SecretStr | None = None
    enctoken: SecretStr | None = None
    login_time: IstTime = None


__all__ = [
    "AutosliceChild",
    "AutosliceData",
    "BasketMarginsData",
    "ChargesBlock",
    "ContractNoteRow",
    "GttCondition",
    "GttOrderRow",
    "GttRow",
    "HoldingRow",
    "IcebergMeta",
    "IstTime",
    "LtpRow",
    "MarginRow",
    "MarginsData",
    "OhlcRow",
    "OrderIdData",
    "OrderMeta",
    "OrderRow",
    "PositionRow",
    "PositionsData",
    "ProfileData",
    "QuoteRow",
    "SegmentRow",
    "SessionData",
    "SliceError",
    "TradeRow",
    "TriggerIdData",
    "Wire",
    "ist_to_utc",
]
