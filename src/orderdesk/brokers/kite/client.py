"""Kite Connect's REST endpoints as typed async methods returning domain reports.

Each method builds its request with :mod:`~orderdesk.brokers.kite.mapping`, sends it through
the transport's one send path (:class:`~orderdesk.brokers.kite.http.KiteHttp`), parses ``data``
with the wire models of :mod:`~orderdesk.brokers.kite.schemas` and maps rows to the domain. A
reply that does not parse is a :class:`MalformedResponse` naming the endpoint and the field.

A placement that may have reached Kite without a readable answer (timeout after sending, a
connection dropped before the reply, a 5xx, an unreadable 200) raises
:class:`~orderdesk.errors.UnknownOutcome` carrying the tag, and is never re-sent. So does an
error reply that Kite uses for "cannot tell" (:mod:`~orderdesk.brokers.kite.ambiguous`'s table,
e.g. the 400 "Order request timed out"), as :class:`~orderdesk.errors.AmbiguousReply`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import msgspec
from pydantic import BaseModel, SecretStr, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from orderdesk.brokers.kite import alerts as kite_alerts
from orderdesk.brokers.kite import mapping
from orderdesk.brokers.kite import routes as r
from orderdesk.brokers.kite.alerts import AlertHistoryRow, AlertRow
from orderdesk.brokers.kite.ambiguous import ambiguous_text
from orderdesk.brokers.kite.config import KiteConfig
from orderdesk.brokers.kite.errors import (
    KiteError,
    KiteTransportError,
    MalformedResponse,
    error_for,
)
from orderdesk.brokers.kite.http import KiteHttp, Limiter, Observation
from orderdesk.brokers.kite.instruments import InstrumentCache, parse_instruments
from orderdesk.brokers.kite.schemas import (
    AuthorisationRequest,
    AutosliceData,
    BasketMarginsData,
    ContractNoteRow,
    GttRow,
    HoldingRow,
    LtpRow,
    MarginRow,
    MarginsData,
    OhlcRow,
    OrderIdData,
    OrderRow,
    PositionsData,
    ProfileData,
    QuoteRow,
    SegmentRow,
    SessionData,
    TradeRow,
    TriggerIdData,
)
from orderdesk.domain.conversion import PositionConversion
from orderdesk.domain.reports import (
    Charges,
    Fill,
    GttTrigger,
    HoldingReport,
    InstrumentInfo,
    MarginsReport,
    OrderMargin,
    OrderStatusReport,
    PositionReport,
    PriceAlert,
    Quote,
    SegmentMargins,
)
from orderdesk.domain.values import Exchange, InstrumentKey, Variety
from orderdesk.errors import AmbiguousReply, BrokerUnavailable, UnknownOutcome
from orderdesk.ports.broker import OrderChanges, PlaceOrder
from orderdesk.redaction import register_secret
from orderdesk.wire import Trace

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
R = TypeVar("R")

_ORDER_ROWS = TypeAdapter(list[OrderRow])
_TRADE_ROWS = TypeAdapter(list[TradeRow])
_HOLDING_ROWS = TypeAdapter(list[HoldingRow])
_GTT_ROWS = TypeAdapter(list[GttRow])
_ALERT_ROWS = TypeAdapter(list[AlertRow])
_ALERT_HISTORY = TypeAdapter(list[AlertHistoryRow])
_MARGIN_ROWS = TypeAdapter(list[MarginRow])
_NOTE_ROWS = TypeAdapter(list[ContractNoteRow])
_QUOTES = TypeAdapter(dict[str, QuoteRow])
_OHLCS = TypeAdapter(dict[str, OhlcRow])
_LTPS = TypeAdapter(dict[str, LtpRow])
_TRUE = TypeAdapter(bool)


class BookRows(Generic[R]):
    """A book (orders or trades) row by row, remembering the last read: a row the last read
    held byte for byte keeps what was made of it.

    Validating and mapping a row costs tens of microseconds (a pydantic model with IST
    timestamps, then the report or fill). The desk reads both books about once a second while
    many orders await their first look, and at Kite's daily cap of 5,000 orders nearly every
    row is one it read before. The routes hand the rows over undecoded (``Reply.ROWS``), so a
    row seen before costs a copy of its bytes and a look-up: a read of 6,000 order rows from
    the simulator took 52.8 ms of CPU when every row was decoded and compared as a dict, 19.7 ms
    this way (medians of 12, side by side). The rows kept are the last read's, so memory
    follows the day's books, not the reads.
    """

    def __init__(self, rows: TypeAdapter[list[Any]], make: Callable[[Any], R]) -> None:
        self._rows = rows
        self._make = make
        self._last: dict[bytes, R] = {}

    def read(self, route: r.Route, data: Any) -> list[R]:
        if not isinstance(data, list):
            _parse(route, self._rows, data)  # raises, naming what is wrong
        kept: dict[bytes, R] = {}
        made: list[R] = []
        last = self._last
        for index, row in enumerate(data):
            if isinstance(row, msgspec.Raw):
                text = bytes(row)
                item = last.get(text)
                if item is None:
                    item = self._one(route, index, msgspec.json.decode(text))
                kept[text] = item
            else:  # a reply read the general way: rows already decoded
                item = self._one(route, index, row)
            made.append(item)
        self._last = kept
        return made

    def _one(self, route: r.Route, index: int, row: Any) -> R:
        try:
            return self._make(row)
        except PydanticValidationError as exc:
            raise mapping.malformed(route.name, exc, prefix=f"data[{index}]") from None
        except mapping.UnmappedValue as exc:
            raise MalformedResponse(route.name, f"data[{index}].{exc.field}", exc.reason) from None


def _order_report(row: Any) -> OrderStatusReport:
    return mapping.order_report(OrderRow.model_validate(row))


def _fill(row: Any) -> Fill:
    return mapping.fill(TradeRow.model_validate(row))


@dataclass(frozen=True, slots=True)
class SliceOutcome:
    """One slice of an autoslice placement: its order id, or the typed error that refused it."""

    order_id: str | None
    error: KiteError | None = None


@dataclass(frozen=True, slots=True)
class AutosliceResult:
    parent_order_id: str
    slices: tuple[SliceOutcome, ...]


@dataclass(frozen=True, slots=True)
class Positions:
    """Kite's two position books: ``net`` (carried + today) and ``day`` (today only)."""

    net: list[PositionReport]
    day: list[PositionReport]


def checksum(api_key: str, request_token: str, api_secret: str) -> str:
    """``hex(SHA-256(api_key + request_token + api_secret))``: the login's proof of the secret."""
    return hashlib.sha256((api_key + request_token + api_secret).encode("utf-8")).hexdigest()


def _parse(route: r.Route, adapter: TypeAdapter[T], data: Any) -> T:
    try:
        return adapter.validate_python(data)
    except PydanticValidationError as exc:
        raise mapping.malformed(route.name, exc, prefix="data") from None


def _model(route: r.Route, model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise mapping.malformed(route.name, exc, prefix="data") from None


def _order_id(route: r.Route, data: Any) -> str:
    """``OrderIdData``'s ``order_id``: read straight from a well-formed reply, else validated.

    Kite's reply to every placement is ``{"order_id": "<text>"}``; reading it takes 0.1 µs
    where the model's validation took about 1 (timeit, 2026-12-04). Anything else (a number
    to coerce, a missing id, not an object) goes through the model, which coerces it or
    raises the same :class:`MalformedResponse` as before.
    """
    if type(data) is dict:
        order_id = data.get("order_id")
        if type(order_id) is str:
            return order_id
    return _model(route, OrderIdData, data).order_id


def _one(route: r.Route, fn: Callable[[T], Any], row: T) -> Any:
    try:
        return fn(row)
    except mapping.UnmappedValue as exc:
        raise MalformedResponse(route.name, f"data.{exc.field}", exc.reason) from None


class KiteRestClient(KiteHttp):
    """Kite Connect's REST API: orders in every variety, portfolio, funds, market data, GTT, and
    the session itself (login, logout, profile), all down the one send path.

    Use it inside ``async with``; see :class:`~orderdesk.brokers.kite.http.KiteHttp` for the
    connections, credentials and send path it inherits.
    """

    def __init__(
        self,
        config: KiteConfig,
        *,
        access_token: SecretStr | str | None = None,
        limiter: Limiter | None = None,
        trace: Trace | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(config, access_token=access_token, limiter=limiter, trace=trace)
        self.instruments_cache = InstrumentCache(now)
        self._book = BookRows(_ORDER_ROWS, _order_report)
        self._trade_book = BookRows(_TRADE_ROWS, _fill)

    # -- orders -------------------------------------------------------------------------------

    def _placement_unknown(self, command: PlaceOrder, exc: Exception) -> UnknownOutcome:
        status = exc.http_status if isinstance(exc, KiteError) else None
        reason = exc.message if isinstance(exc, KiteError) else type(exc).__name__
        return UnknownOutcome(
            f"place_order: outcome unknown ({reason}); if placed, the order carries tag "
            f"{command.client_order_id}",
            tag=command.client_order_id,
            http_status=status,
        )

    async def _place(self, command: PlaceOrder, *, autoslice: bool) -> Any:
        form = mapping.place_form(
            command, market_protection=self._config.market_protection, autoslice=autoslice
        )
        variety = mapping.WIRE_VARIETY[command.signal.variety]
        try:
            return await self._call(r.PLACE_ORDER, path={"variety": variety}, form=form)
        except KiteTransportError as exc:
            if not exc.maybe_sent:
                raise
            raise self._placement_unknown(command, exc) from exc
        except BrokerUnavailable as exc:
            # A 5xx after the request arrived: Kite may have placed the order before failing.
            raise self._placement_unknown(command, exc) from exc
        except KiteError as exc:
            if ambiguous_text(exc) is None:
                raise
            # Kite's own "cannot tell": the order may still appear; a rejection it is not.
            raise AmbiguousReply(
                f"place_order: Kite could not tell ({exc.http_status} {exc.error_type}: "
                f"{exc.message}); the order may still appear, tagged "
                f"{command.client_order_id}",
                tag=command.client_order_id,
                http_status=exc.http_status,
                error_type=exc.error_type,
            ) from exc

    async def place_order(self, command: PlaceOrder) -> str:
        """Place one order (any variety) tagged with the client order id; returns Kite's id."""
        data = await self._place(command, autoslice=False)
        try:
            return _order_id(r.PLACE_ORDER, data)
        except MalformedResponse as exc:
            # Kite said success but we cannot read the id: the order most likely exists.
            raise self._placement_unknown(command, exc) from exc

    async def place_autoslice_order(self, command: PlaceOrder) -> AutosliceResult:
        """Place with ``autoslice=true``: Kite splits a quantity above the freeze limit.

        Slices may fail one by one; each failed slice carries its typed error.
        """
        data = await self._place(command, autoslice=True)
        try:
            parsed = _model(r.PLACE_ORDER, AutosliceData, data)
        except MalformedResponse as exc:
            raise self._placement_unknown(command, exc) from exc
        slices = tuple(
            SliceOutcome(child.order_id)
            if child.error is None
            else SliceOutcome(
                None, error_for(child.error.message, child.error.error_type, child.error.code)
            )
            for child in parsed.children
        )
        return AutosliceResult(parsed.order_id, slices)

    async def modify_order(
        self,
        order_id: str,
        variety: Variety,
        changes: OrderChanges,
        *,
        parent_order_id: str | None = None,
    ) -> str:
        """Change a working order's terms (a CO's stop leg names its ``parent_order_id``)."""
        form = mapping.modify_form(
            changes,
            parent_order_id=parent_order_id,
            market_protection=self._config.market_protection,
        )
        path = {"variety": mapping.WIRE_VARIETY[variety], "order_id": order_id}
        data = await self._call(r.MODIFY_ORDER, path=path, form=form, modifies=order_id)
        return _order_id(r.MODIFY_ORDER, data)

    async def cancel_order(
        self, order_id: str, variety: Variety, *, parent_order_id: str | None = None
    ) -> str:
        """Cancel a working order. Exiting a cover order = cancelling its second leg."""
        path = {"variety": mapping.WIRE_VARIETY[variety], "order_id": order_id}
        params = {"parent_order_id": parent_order_id} if parent_order_id else None
        data = await self._call(r.CANCEL_ORDER, path=path, params=params, cancels=order_id)
        return _order_id(r.CANCEL_ORDER, data)

    async def probe_order_path(self, order_id: str, observe: Observation) -> None:
        """Cancel ``order_id``, one that cannot exist, noting what the exchange showed: the
        pre-flight's test of whether Kite takes order writes from this address
        (:mod:`~orderdesk.brokers.kite.preflight`)."""
        path = {"variety": mapping.WIRE_VARIETY[Variety.REGULAR], "order_id": order_id}
        await self._call(
            r.CANCEL_ORDER, path=path, cancels=order_id, observe=observe, patient=False
        )

    async def exit_cover_order(self, order_id: str, parent_order_id: str) -> str:
        """Exit a cover order by cancelling its stop leg ``order_id``."""
        return await self.cancel_order(order_id, Variety.CO, parent_order_id=parent_order_id)

    async def orders(self, *, patient: bool = True) -> list[OrderStatusReport]:
        """The day's order book (``patient=False``: a 429 or a failed read is the answer)."""
        return self._book.read(r.ORDERS, await self._call(r.ORDERS, patient=patient))

    async def order_history(self, order_id: str) -> list[OrderStatusReport]:
        route = r.ORDER_HISTORY
        rows = _parse(route, _ORDER_ROWS, await self._call(route, path={"order_id": order_id}))
        return mapping.map_rows(route.name, rows, mapping.order_report)

    async def trades(self) -> list[Fill]:
        return self._trade_book.read(r.TRADES, await self._call(r.TRADES))

    async def order_trades(self, order_id: str) -> list[Fill]:
        route = r.ORDER_TRADES
        rows = _parse(route, _TRADE_ROWS, await self._call(route, path={"order_id": order_id}))
        return mapping.map_rows(route.name, rows, mapping.fill)

    # -- portfolio and funds ------------------------------------------------------------------

    async def positions(self) -> Positions:
        data = _model(r.POSITIONS, PositionsData, await self._call(r.POSITIONS))
        name = r.POSITIONS.name
        return Positions(
            net=mapping.map_rows(f"{name} (net)", data.net, mapping.position),
            day=mapping.map_rows(f"{name} (day)", data.day, mapping.position),
        )

    async def convert_position(self, conversion: PositionConversion) -> None:
        """Move a position between products; Kite answers ``data: true`` when it has."""
        route = r.CONVERT_POSITION
        form = {
            "exchange": conversion.instrument.exchange.value,
            "tradingsymbol": conversion.instrument.tradingsymbol,
            "transaction_type": conversion.side.value,
            "position_type": "overnight" if conversion.overnight else "day",
            "quantity": str(conversion.quantity),
            "old_product": mapping.WIRE_PRODUCT[conversion.old_product],
            "new_product": mapping.WIRE_PRODUCT[conversion.new_product],
        }
        data = await self._call(route, form=form)
        if data is not True:
            raise MalformedResponse(route.name, "data", f"expected true, got {data!r}")

    async def holdings(self) -> list[HoldingReport]:
        rows = _parse(r.HOLDINGS, _HOLDING_ROWS, await self._call(r.HOLDINGS))
        return mapping.map_rows(r.HOLDINGS.name, rows, mapping.holding)

    async def authorise_holdings(self, isins: Mapping[str, int]) -> str:
        """Ask for the day's authorisation to sell ``isins``' quantities (every holding when
        empty); returns the ``request_id`` the person completes at the authorisation page."""
        form = [
            pair for isin, qty in isins.items() for pair in (("isin", isin), ("quantity", str(qty)))
        ]
        data = await self._call(r.HOLDINGS_AUTHORISE, form=form)
        return _model(r.HOLDINGS_AUTHORISE, AuthorisationRequest, data).request_id

    async def margins(self) -> MarginsReport:
        return mapping.margins(_model(r.MARGINS, MarginsData, await self._call(r.MARGINS)))

    async def segment_margins(self, segment: str) -> SegmentMargins:
        """One segment's funds; ``segment`` is ``"equity"`` or ``"commodity"``."""
        if segment not in ("equity", "commodity"):
            raise ValueError(f"segment must be equity or commodity, not {segment!r}")
        route = r.MARGINS_SEGMENT
        data = await self._call(route, path={"segment": segment})
        return mapping.segment(_model(route, SegmentRow, data))

    # -- market data --------------------------------------------------------------------------

    async def _market(
        self, route: r.Route, adapter: TypeAdapter[dict[str, Any]], keys: Sequence[InstrumentKey]
    ) -> dict[InstrumentKey, Quote]:
        if not keys:
            return {}
        wanted = {mapping.instrument_text(key): key for key in keys}
        data = await self._call(route, params=mapping.instrument_params(keys))
        rows: dict[str, LtpRow] = _parse(route, adapter, data)
        quotes: dict[InstrumentKey, Quote] = {}
        for text, row in rows.items():
            # Kite leaves out keys it has no data for, so the reply may be shorter.
            key = wanted.get(text)
            if key is None:
                exchange, _, symbol = text.partition(":")
                key = _one(route, lambda pair: mapping.instrument(*pair), (exchange, symbol))
            quotes[key] = mapping.quote(key, row)
        return quotes

    async def quote(self, keys: Sequence[InstrumentKey]) -> dict[InstrumentKey, Quote]:
        """Full quotes (≤ 500 instruments per call, Kite's limit)."""
        return await self._market(r.QUOTE, _QUOTES, keys)

    async def ohlc(self, keys: Sequence[InstrumentKey]) -> dict[InstrumentKey, Quote]:
        return await self._market(r.OHLC, _OHLCS, keys)

    async def ltp(self, keys: Sequence[InstrumentKey]) -> dict[InstrumentKey, Quote]:
        return await self._market(r.LTP, _LTPS, keys)

    async def instruments(self, exchange: Exchange | None = None) -> list[InstrumentInfo]:
        """The instrument master (all exchanges, or one), downloaded once per trading day."""

        async def fetch() -> list[InstrumentInfo]:
            if exchange is None:
                route, path = r.INSTRUMENTS, None
            else:
                route = r.INSTRUMENTS_EXCHANGE
                path = {"exchange": mapping.WIRE_EXCHANGE[exchange]}
            text = await self._call(route, path=path)
            if not isinstance(text, str):
                raise MalformedResponse(route.name, "body", "expected CSV")
            return parse_instruments(text, endpoint=route.name).rows

        return await self.instruments_cache.get(exchange, fetch)

    async def instrument(self, key: InstrumentKey) -> InstrumentInfo | None:
        """The master row for ``key``, fetching that exchange's dump if needed."""
        found = self.instruments_cache.lookup(key)
        if found is None:
            rows = await self.instruments(key.exchange)
            found = next((info for info in rows if info.instrument == key), None)
        return found

    # -- margins and charges of orders --------------------------------------------------------

    async def order_margins(self, commands: Sequence[PlaceOrder]) -> list[OrderMargin]:
        body = [mapping.margin_order(command) for command in commands]
        rows = _parse(r.ORDER_MARGINS, _MARGIN_ROWS, await self._call(r.ORDER_MARGINS, body=body))
        return mapping.map_rows(r.ORDER_MARGINS.name, rows, mapping.order_margin)

    async def basket_margins(
        self, commands: Sequence[PlaceOrder], *, consider_positions: bool = True
    ) -> BasketMarginsData:
        body = [mapping.margin_order(command) for command in commands]
        params = {"consider_positions": "true" if consider_positions else "false"}
        data = await self._call(r.BASKET_MARGINS, params=params, body=body)
        return _model(r.BASKET_MARGINS, BasketMarginsData, data)

    async def order_charges(self, reports: Sequence[OrderStatusReport]) -> list[Charges]:
        """The virtual contract note of executed orders, one entry per report, in order."""
        body = [mapping.contract_note_order(report) for report in reports]
        rows = _parse(r.ORDER_CHARGES, _NOTE_ROWS, await self._call(r.ORDER_CHARGES, body=body))
        if len(rows) != len(reports):
            raise MalformedResponse(
                r.ORDER_CHARGES.name, "data", f"{len(rows)} rows for {len(reports)} orders"
            )
        ids = iter([report.broker_order_id for report in reports])
        return mapping.map_rows(
            r.ORDER_CHARGES.name, rows, lambda row: mapping.charges(next(ids), row)
        )

    # -- GTT ----------------------------------------------------------------------------------

    async def gtt_triggers(self) -> list[GttTrigger]:
        rows = _parse(r.GTT_LIST, _GTT_ROWS, await self._call(r.GTT_LIST))
        return mapping.map_rows(r.GTT_LIST.name, rows, mapping.gtt)

    async def gtt_trigger(self, trigger_id: int) -> GttTrigger:
        route = r.GTT_GET
        data = await self._call(route, path={"trigger_id": str(trigger_id)})
        return _one(route, mapping.gtt, _model(route, GttRow, data))  # type: ignore[no-any-return]

    async def place_gtt(self, trigger: GttTrigger) -> int:
        data = await self._call(r.GTT_PLACE, form=mapping.gtt_form(trigger))
        return _model(r.GTT_PLACE, TriggerIdData, data).trigger_id

    async def modify_gtt(self, trigger_id: int, trigger: GttTrigger) -> int:
        route = r.GTT_MODIFY
        path = {"trigger_id": str(trigger_id)}
        data = await self._call(route, path=path, form=mapping.gtt_form(trigger))
        return _model(route, TriggerIdData, data).trigger_id

    async def delete_gtt(self, trigger_id: int) -> int:
        route = r.GTT_DELETE
        data = await self._call(route, path={"trigger_id": str(trigger_id)})
        return _model(route, TriggerIdData, data).trigger_id

    # -- alerts -------------------------------------------------------------------------------

    async def alerts(self) -> list[PriceAlert]:
        data = await self._call(r.ALERT_LIST)
        return kite_alerts.alerts(_parse(r.ALERT_LIST, _ALERT_ROWS, data))

    async def create_alert(self, alert: PriceAlert) -> PriceAlert:
        route = r.ALERT_CREATE
        data = await self._call(route, form=kite_alerts.alert_form(alert))
        return _one(route, kite_alerts.alert, _model(route, AlertRow, data))  # type: ignore[no-any-return]

    async def modify_alert(self, alert_id: str, alert: PriceAlert) -> PriceAlert:
        route = r.ALERT_MODIFY
        form = kite_alerts.alert_form(alert)
        data = await self._call(route, path={"uuid": alert_id}, form=form)
        return _one(route, kite_alerts.alert, _model(route, AlertRow, data))  # type: ignore[no-any-return]

    async def delete_alert(self, alert_id: str) -> None:
        await self._call(r.ALERT_DELETE, params=[("uuid", alert_id)])

    async def alert_order_ids(self, alert_id: str) -> list[str]:
        route = r.ALERT_HISTORY
        data = await self._call(route, path={"uuid": alert_id})
        return kite_alerts.order_ids(_parse(route, _ALERT_HISTORY, data))

    # -- user and session ---------------------------------------------------------------------

    async def profile(self) -> ProfileData:
        return _model(r.PROFILE, ProfileData, await self._call(r.PROFILE))

    async def generate_session(self, request_token: str, api_secret: SecretStr) -> SessionData:
        """Exchange a login's ``request_token`` for a session (and use its access token).

        A stale or reused request token, or a wrong api_secret, is a ``TokenException``.
        """
        secret = api_secret.get_secret_value()
        # Registered before the call, so an error or log line that quotes them is masked.
        register_secret(request_token)
        register_secret(secret)
        api_key = self._config.api_key
        form = {
            "api_key": api_key,
            "request_token": request_token,
            "checksum": checksum(api_key, request_token, secret),
        }
        data = await self._call(r.SESSION_TOKEN, form=form)
        session = _model(r.SESSION_TOKEN, SessionData, data)
        for extra in (session.public_token, session.refresh_token, session.enctoken):
            if extra is not None:
                register_secret(extra.get_secret_value())
        self.set_access_token(session.access_token)
        return session

    async def invalidate_access_token(self) -> bool:
        """Log the API session out (Kite web and mobile stay logged in)."""
        if self._token is None:
            raise RuntimeError("no access token to invalidate")
        params = {"api_key": self._config.api_key, "access_token": self._token.get_secret_value()}
        data = await self._call(r.SESSION_LOGOUT, params=params, hide_cause=True)
        return _parse(r.SESSION_LOGOUT, _TRUE, data)


__all__ = ["AutosliceResult", "KiteRestClient", "Positions", "SliceOutcome", "checksum"]
