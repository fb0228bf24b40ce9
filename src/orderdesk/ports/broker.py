"""The broker interface: what the engine needs from Kite, the paper broker, or any other.

:class:`Broker` holds exactly what the engine calls: the lifecycle, placing, modifying and
cancelling, the order and trade books, positions, funds and order margins (risk checks), quotes
and the instrument list, and the live stream. What some brokers offer and the engine can do
without is an optional capability, a protocol of its own that an adapter implements by having
its methods, checked with ``isinstance``: :class:`HoldingsSource` (delivered stock; without it a
trading day opens with no holdings and reconciliation leaves them out), :class:`AutosliceControl`
(the broker splits an order above the freeze quantity itself),
:class:`OrderHistorySource`, :class:`ChargesSource`, :class:`HoldingsAuthoriser` (selling
delivered stock without DDPI), :class:`PositionConverter` (a position moved between products),
:class:`GttControl` (Kite's good-till-triggered orders), :class:`AlertControl` (price alerts
kept at the broker), :class:`SessionControl` (a session a person renews),
:class:`WebhookSource` (HTTP callbacks) and :class:`DelayedStream` (a stream that tells news only
some seconds late; :func:`stream_delay` is 0 for a broker without it). An adapter without one
simply lacks its methods; it never stubs them.

Adapters return broker-neutral reports (:mod:`orderdesk.domain.reports`) and raise the
broker-neutral errors of :mod:`orderdesk.errors`; they never mutate orders. A placement whose
outcome is unknown raises :class:`~orderdesk.errors.UnknownOutcome` and is never re-sent by the
adapter. Adapters are registered under the entry-point group ``orderdesk.brokers``; each entry
point is a factory ``(options: Mapping[str, Any], context: BrokerContext) -> Broker``: its own
section of ``orderdesk.toml`` and :class:`orderdesk.brokers.BrokerContext` (see
:mod:`orderdesk.brokers`). :class:`~orderdesk.ports.preflight.PreflightSource` (``orderdesk
doctor``'s checks of the path to the broker) is a capability too, in
:mod:`orderdesk.ports.preflight`. ``docs/writing-a-broker-adapter.md`` says what each one is for
and what the desk does without it.

The stream (:meth:`Broker.events`) has one reader, the desk's tracker, which starts reading
after :meth:`Broker.start` and counts the stream as down until it yields
``ConnectionStateChanged(state=CONNECTED)``; an iterator that ends or raises is opened again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable

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
)
from orderdesk.domain.signal import Signal
from orderdesk.domain.values import Exchange, InstrumentKey, OrderType, Variety


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """A command to the broker: place ``signal`` under orderdesk's client order id as the tag."""

    client_order_id: str
    signal: Signal
    algo_id: str | None = None
    """The exchange algo id to send with the placement (None: none)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderChanges:
    """New terms for a working order; ``None`` leaves a term as it is."""

    quantity: int | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    order_type: OrderType | None = None


@dataclass(frozen=True, slots=True)
class SliceResult:
    """One slice of a placement the broker split itself: the broker's order id, or why the
    broker refused that slice (the others stand)."""

    broker_order_id: str | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class AutosliceReply:
    """The answer to a placement the broker split at the freeze quantity: the id that names the
    placement (no order of the book carries it; its children point to it) and each slice."""

    broker_parent_id: str
    slices: tuple[SliceResult, ...]


class ConnectionState(StrEnum):
    CONNECTING = "CONNECTING"
    CONNECTED = "CONNECTED"
    DISCONNECTED = "DISCONNECTED"
    STOPPED = "STOPPED"
    """Gave up for good (e.g. the token was rejected); a person must act."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionStateChanged:
    state: ConnectionState
    detail: str = ""
    at: datetime | None = None
    token_refused: bool = False
    """The stream stopped because the broker refused the session (a person must log in)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceTick:
    instrument_token: int
    last_price: Decimal
    instrument: InstrumentKey | None = None
    at: datetime | None = None


BrokerEvent = OrderStatusReport | Fill | PriceTick | ConnectionStateChanged
"""What a broker's live stream delivers."""


@runtime_checkable
class Broker(Protocol):
    """A broker as the engine sees it: every member is one the engine calls. Every method may
    raise :class:`~orderdesk.errors.BrokerError`."""

    name: str

    async def start(self) -> None:
        """Open sessions and streams. Idempotent."""

    async def close(self) -> None:
        """Release everything; the broker is not reused afterwards."""

    async def place_order(self, command: PlaceOrder) -> str:
        """Place an order and return the broker's order id, a non-empty ``str`` (the desk
        takes any other answer as an unknown outcome, as it may have placed the order).

        Raises :class:`~orderdesk.errors.UnknownOutcome` when the request may have reached the
        broker without its answer coming back (the desk then resolves the order by its tag,
        allowing for it to appear late); any other
        :class:`~orderdesk.errors.BrokerTransportError` says the request never left.
        """

    async def modify_order(
        self,
        broker_order_id: str,
        variety: Variety,
        changes: OrderChanges,
        *,
        parent_order_id: str | None = None,
    ) -> None: ...

    async def cancel_order(
        self, broker_order_id: str, variety: Variety, *, parent_order_id: str | None = None
    ) -> None: ...

    async def orders(self) -> list[OrderStatusReport]:
        """Today's order book, one report per order (latest state)."""

    async def trades(self) -> list[Fill]:
        """Today's trade book."""

    async def order_trades(self, broker_order_id: str) -> list[Fill]:
        """The trades of one order (read when a report shows more filled than recorded)."""

    async def positions(self) -> list[PositionReport]:
        """Net positions."""

    async def margins(self) -> MarginsReport:
        """Funds available, for the risk gate."""

    async def order_margins(self, commands: Sequence[PlaceOrder]) -> list[OrderMargin]:
        """What each order would block, for the risk gate."""

    async def quotes(self, instruments: Sequence[InstrumentKey]) -> dict[InstrumentKey, Quote]: ...

    async def instruments(self, exchange: Exchange | None = None) -> list[InstrumentInfo]:
        """The instrument list (lot sizes, tick sizes, freeze quantities, tokens)."""

    async def subscribe_prices(self, instruments: Sequence[InstrumentKey]) -> None:
        """Ask the live stream for prices of these instruments."""

    def events(self) -> AsyncIterator[BrokerEvent]:
        """The live stream: order updates, fills, prices and connection changes."""
        ...


@runtime_checkable
class HoldingsSource(Protocol):
    """An optional capability: a broker that keeps delivered stock (Kite's demat holdings).

    The desk records the holdings when a trading day opens and compares them in
    reconciliation; with a broker that has none, the day opens without holdings and
    reconciliation leaves them out.
    """

    async def holdings(self) -> list[HoldingReport]: ...


@dataclass(frozen=True, slots=True)
class HoldingsAuthorisation:
    """A request to authorise the day's sales of delivered stock, for a person to complete."""

    request_id: str
    url: str
    """The page where the person authorises it (the depository's, behind Kite's: TPIN, OTP)."""


@runtime_checkable
class HoldingsAuthoriser(Protocol):
    """An optional capability: a broker whose accounts without DDPI (or POA) may sell
    delivered stock only as far as the depository has authorised it for the day (Kite and
    CDSL; a sale beyond it is :class:`~orderdesk.errors.HoldingsNotAuthorised`).

    ``quantities`` names the holdings and how much of each; empty asks for every holding in
    full. A person opens the returned page to authorise; until then nothing changes.
    """

    async def authorise_holdings(
        self, quantities: Mapping[InstrumentKey, int]
    ) -> HoldingsAuthorisation: ...


@runtime_checkable
class PositionConverter(Protocol):
    """An optional capability: moving a position from one product to another without a
    trade (Kite's ``PUT /portfolio/positions``), e.g. an MIS buy kept overnight as CNC.
    Returns once the broker has done it; a refusal raises
    :class:`~orderdesk.errors.BrokerRejected`, an answer lost in flight
    :class:`~orderdesk.errors.BrokerTransportError` (the request is never re-sent)."""

    async def convert_position(self, conversion: PositionConversion) -> None: ...


@runtime_checkable
class OrderHistorySource(Protocol):
    """An optional capability: every state an order went through, oldest first."""

    async def order_history(self, broker_order_id: str) -> list[OrderStatusReport]: ...


@runtime_checkable
class AutosliceControl(Protocol):
    """An optional capability: the broker splits an order above the exchange's freeze quantity
    into child orders itself (Kite's ``autoslice``), at most :attr:`max_slices` of them, in one
    placement. Each child's reports name the placement (``OrderStatusReport.slice_of``). A
    broker without it gets the desk's own slicing, one placement per slice."""

    max_slices: int

    async def place_autoslice(self, command: PlaceOrder) -> AutosliceReply:
        """Place ``command`` for the broker to split; raises as :meth:`Broker.place_order`."""


@runtime_checkable
class ChargesSource(Protocol):
    """An optional capability: the charges of executed orders (Kite's virtual contract note),
    one entry per report, in order."""

    async def order_charges(self, reports: Sequence[OrderStatusReport]) -> list[Charges]: ...


@runtime_checkable
class GttControl(Protocol):
    """An optional capability: good-till-triggered orders kept at the broker (Kite's GTT)."""

    async def gtt_triggers(self) -> list[GttTrigger]: ...

    async def place_gtt(self, trigger: GttTrigger) -> int:
        """Place a trigger and return its id."""

    async def modify_gtt(self, trigger_id: int, trigger: GttTrigger) -> None: ...

    async def delete_gtt(self, trigger_id: int) -> None: ...


@runtime_checkable
class AlertControl(Protocol):
    """An optional capability: price alerts kept at the broker (Kite's alerts), of which an ATO
    places a basket of orders when it fires."""

    async def alerts(self) -> list[PriceAlert]: ...

    async def create_alert(self, alert: PriceAlert) -> PriceAlert:
        """Create an alert; returns it as the broker keeps it (with its id)."""

    async def modify_alert(self, alert_id: str, alert: PriceAlert) -> PriceAlert: ...

    async def delete_alert(self, alert_id: str) -> None: ...

    async def alert_order_ids(self, alert_id: str) -> list[str]:
        """The broker ids of the orders the alert placed when it fired (an ATO's basket)."""


@runtime_checkable
class SessionControl(Protocol):
    """An optional capability: a broker whose session a person renews (Kite's daily login).

    The desk asks whether a session exists at start, when it ends, and hands a fresh one to
    the running adapter, which switches every connection (REST and stream) to it at once.
    """

    def has_session(self) -> bool:
        """Whether the adapter started with credentials (they may still be refused)."""

    def session_expiry(self, started: datetime) -> datetime | None:
        """When a session that began at ``started`` ends (Kite: the next 06:00 IST)."""

    async def renew_session(self, credentials: str) -> None:
        """Use ``credentials`` (Kite: an access token) from now on, for REST and the stream.

        The broker is asked about them first: ``BrokerAuthError`` when it refuses them (a
        ``BrokerError`` when it cannot be asked), and the session in use is kept."""


@runtime_checkable
class DelayedStream(Protocol):
    """An optional capability: a broker whose live stream tells a change only some seconds
    after the broker made it, as Kite's does when it polls the books instead of holding the
    WebSocket (the Personal plan has none). Reconciliation finding news the stream was not
    yet due to deliver has found it first, not missed it. A broker without it pushes each
    change as it happens (:func:`stream_delay` is 0)."""

    def stream_delay(self) -> float:
        """Seconds within which :meth:`Broker.events` delivers a change made at the broker."""


def stream_delay(broker: object) -> float:
    """Seconds within which ``broker``'s stream delivers a change: its own word
    (:class:`DelayedStream`), else 0 (a stream that pushes each change at once)."""
    return broker.stream_delay() if isinstance(broker, DelayedStream) else 0.0


WebhookHandler = Callable[[bytes], Awaitable[tuple[int, str]]]
"""Takes a request body, verifies it itself (no bearer token), answers (HTTP status, text)."""


@runtime_checkable
class WebhookSource(Protocol):
    """An optional capability: a broker that can be told about changes by HTTP callbacks
    (Kite's postbacks). The daemon mounts each handler at ``POST /webhooks/<name>``."""

    def webhooks(self) -> Mapping[str, WebhookHandler]: ...


__all__ = [
    "AlertControl",
    "AutosliceControl",
    "AutosliceReply",
    "Broker",
    "BrokerEvent",
    "ChargesSource",
    "ConnectionState",
    "ConnectionStateChanged",
    "DelayedStream",
    "GttControl",
    "HoldingsAuthorisation",
    "HoldingsAuthoriser",
    "HoldingsSource",
    "OrderChanges",
    "OrderHistorySource",
    "PlaceOrder",
    "PositionConverter",
    "PriceTick",
    "SessionControl",
    "SliceResult",
    "WebhookHandler",
    "WebhookSource",
    "stream_delay",
]
