"""Request and response models of the HTTP API: pydantic at the edge, domain types inside.

Requests are checked field by field here (a 422 names the field); cross-field rules are the
domain's (:class:`~orderdesk.domain.signal.Signal` raises ``ValidationError``, a 400 naming the
field), so the rules live in one place. Money travels as decimal strings, never floats.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal, Protocol, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, model_validator

from orderdesk.api.desk import LossLimits, SessionStateName, SessionStatus
from orderdesk.approvals import ApprovalState, PendingSignal
from orderdesk.domain.attribution import StrategyBook
from orderdesk.domain.day import Holding, PositionSnapshot
from orderdesk.domain.money import price_text, to_paise
from orderdesk.domain.order import Order
from orderdesk.domain.parent import children_filled, children_price, parent_status
from orderdesk.domain.signal import Signal, reserved_strategy
from orderdesk.domain.status import OrderStatus
from orderdesk.domain.text import CONTROL_CHARACTERS
from orderdesk.domain.values import (
    InstrumentKey,
    OrderType,
    Product,
    Side,
    Validity,
    Variety,
)
from orderdesk.ports.notifier import Severity


def _plain_decimal(value: Decimal) -> Decimal:
    """``value`` without a positive exponent: ``Decimal("1.4e3")`` prints as ``1.4E+3``, the
    same number as ``Decimal("1400")``, which prints as written; any other value is kept as it
    came (``1500.50`` keeps its zero).

    Every price (and market protection) the API takes passes here as it is parsed, the one
    place money arrives as text; the CLI builds the same models from its options. A price sent
    as ``"1.4e3"`` was echoed as ``1.4E+3`` by the API and the CLI, and stored so in the
    signal's event. The domain and the event codec are left as they were, so a log that holds
    such a price replays as it was written.
    """
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        return Decimal(f"{value:f}")
    return value


_PLAIN = AfterValidator(_plain_decimal)

Paise = Annotated[Decimal, AfterValidator(to_paise)]
"""Money the API answers with, to the paisa (two places) whatever the engine's precision: a
figure rebuilt from the log after a restart carries the engine's four places (``351.0000``,
``71.4123``) where the live one read ``351.00``, and a cost shared to four places would read
``0.0000`` beside a sum that started at 0. A day's close keeps the exponent its sum came to and
is not rewritten in the log; it is rounded here, as it is shown. Only P&L: a position's prices
are :data:`ShownPrice`, and the configured limits keep theirs."""


def _shown_price(value: Decimal) -> Decimal:
    """``value`` at the places :func:`price_text` shows it with, at least 2 and at most 4."""
    return Decimal(price_text(value, grouped=False))


ShownPrice = Annotated[Decimal, AfterValidator(_shown_price)]
"""A price the API answers with in a position or a holding, at the places the CLI and the
dashboard show it: every decimal it has, at least 2 and at most 4 (Kite's finest tick, 0.0025).
The broker's figures keep their own scale (``25250`` beside ``25250.00``, ``160.5`` beside
``160.50``), which read as different figures in one list; two places, as money has, would
round a currency future's ``88.1125``. Rounded only as it is shown: the desk's own figures
keep theirs. An order's prices are echoed as they were sent (:func:`_plain_decimal`)."""


def _not_reserved(name: str) -> str:
    """A strategy name the desk gives its own orders is not a signal's (``reserved_strategy``):
    its orders would be read as the desk's square-off or as adopted ones."""
    if (reason := reserved_strategy(name)) is not None:
        raise ValueError(reason)
    return name


def _one_line(text: str) -> str:
    """Free text an operator reads (a reason, an alert's name) is one line of printable text:
    an ESC sequence in it drove the terminal that showed it, and a newline forged a line of
    the log. Refused, as a strategy name outside its letters is, rather than cleaned."""
    if (found := CONTROL_CHARACTERS.search(text)) is not None:
        raise ValueError(f"must be one line without control characters (found {found[0]!r})")
    return text


OneLine = AfterValidator(_one_line)

# Bounds keep fuzzed input inside what Decimal arithmetic and Kite can meaningfully take.
Price = Annotated[Decimal, Field(gt=0, lt=Decimal("1e9"), max_digits=16, decimal_places=4), _PLAIN]
# Strict: a JSON ``1.0`` or ``true`` is not a quantity, and ``0`` is not ``false``.
Quantity = Annotated[int, Strict(), Field(gt=0, lt=10**9)]
Count = Annotated[int, Strict()]
Flag = Annotated[bool, Strict()]
NewOrderProduct = Literal["CNC", "NRML", "MIS", "MTF"]
"""The products a new order may use (CO and BO only label positions), so the schema says so."""


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Response(BaseModel):
    model_config = ConfigDict(frozen=True)


class SignalIn(_Request):
    """An order request, in Kite's vocabulary; ``instrument`` is ``EXCHANGE:SYMBOL``."""

    instrument: Annotated[str, Field(min_length=3, max_length=64, examples=["NSE:INFY"])]
    side: Side
    quantity: Quantity
    order_type: OrderType
    product: NewOrderProduct
    variety: Variety = Variety.REGULAR
    validity: Validity = Validity.DAY
    price: Price | None = None
    trigger_price: Price | None = None
    disclosed_quantity: Annotated[Count, Field(ge=0, lt=10**9)] = 0
    validity_ttl: Annotated[Count, Field(ge=1, le=10_000)] | None = None
    iceberg_legs: Annotated[Count, Field(ge=1, le=100)] | None = None
    iceberg_quantity: Quantity | None = None
    auction_number: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    market_protection: Annotated[Decimal, Field(ge=-1, le=100, max_digits=6), _PLAIN] | None = None
    strategy: Annotated[str, Field(min_length=1, max_length=32), AfterValidator(_not_reserved)] = (
        "manual"
    )
    signal_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    tag: Annotated[str, Field(min_length=1, max_length=20)] | None = None

    def to_signal(self) -> Signal:
        """The domain signal; raises the domain's ``ValidationError`` naming the field."""
        return Signal(
            instrument=InstrumentKey.parse(self.instrument),
            side=self.side,
            quantity=self.quantity,
            order_type=self.order_type,
            product=Product(self.product),
            variety=self.variety,
            validity=self.validity,
            price=self.price,
            trigger_price=self.trigger_price,
            disclosed_quantity=self.disclosed_quantity,
            validity_ttl=self.validity_ttl,
            iceberg_legs=self.iceberg_legs,
            iceberg_quantity=self.iceberg_quantity,
            auction_number=self.auction_number,
            market_protection=self.market_protection,
            strategy=self.strategy,
            signal_id=self.signal_id,
            tag=self.tag,
        )


class ModifyIn(_Request):
    """New terms for a working order; omitted fields keep their value, and one at least is
    given."""

    quantity: Quantity | None = None
    price: Price | None = None
    trigger_price: Price | None = None
    order_type: OrderType | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        # An empty modify would still be sent: one of the order's 25 modifications and a slot
        # of the order rate, for nothing.
        if (self.quantity, self.price, self.trigger_price, self.order_type) == (None,) * 4:
            raise ValueError("say what to change: quantity, price, trigger_price or order_type")
        return self


class KillSwitchIn(_Request):
    engaged: Flag
    reason: Annotated[str, Field(max_length=200), OneLine] = ""
    cancel_open: Flag = False
    """When engaging: also cancel the open orders, but those that can only reduce a position
    (a cover order's stop leg, the desk's own exit in progress, a protective stop), which stay
    working."""


class RejectIn(_Request):
    reason: Annotated[str, Field(max_length=200), OneLine] = ""


class SessionIn(_Request):
    """A fresh broker access token for the running desk (what ``orderdesk login`` sends)."""

    # The API's 422s already leave pydantic's input echo out; this keeps it out of the error's
    # own text too, should anything ever render one.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    access_token: Annotated[
        str,
        Field(
            min_length=16,
            max_length=256,
            # Printable ASCII without spaces: Kite's tokens are 32 letters and digits, and a
            # stray space or newline from a paste is refused here rather than at the broker.
            pattern=r"^[!-~]+$",
            description="Kite's access token from the day's login; never logged or echoed.",
            repr=False,
            json_schema_extra={"writeOnly": True},
        ),
    ]


class SignalOut(_Response):
    instrument: str
    side: Side
    quantity: int
    order_type: OrderType
    product: Product
    variety: Variety
    price: Decimal | None
    trigger_price: Decimal | None
    strategy: str
    signal_id: str | None

    @classmethod
    def of(cls, signal: Signal) -> SignalOut:
        return cls(
            instrument=str(signal.instrument),
            side=signal.side,
            quantity=signal.quantity,
            order_type=signal.order_type,
            product=signal.product,
            variety=signal.variety,
            price=signal.price,
            trigger_price=signal.trigger_price,
            strategy=signal.strategy,
            signal_id=signal.signal_id,
        )


class ChildOut(_Response):
    """One child of a sliced order, as its parent lists it (the child's own row has the rest)."""

    order_id: str
    status: OrderStatus
    quantity: int
    filled_quantity: int

    @classmethod
    def of(cls, child: Order) -> ChildOut:
        return cls(
            order_id=child.order_id,
            status=child.status,
            quantity=child.quantity or child.signal.quantity,
            filled_quantity=child.filled_quantity,
        )


class OrderOut(_Response):
    order_id: str
    broker_order_id: str | None
    parent_id: str | None
    children: list[ChildOut] = Field(default_factory=list)
    """A sliced order's children, in the order the desk came to hold them (each its own row
    too, ``parent_id`` naming this one): modify them, not the parent. Empty for any other."""
    external: bool
    leg_of: str | None = None
    """The cover order whose stop leg this is: cancelling it exits that position at market."""
    status: OrderStatus
    open: bool
    """Alive, or maybe alive, at the broker: one of the desk's open orders (``/api/health``
    counts these). Neither a sliced order's parent (its slices are the orders at the broker,
    so a working parent reads ``OPEN`` and ``open: false``: its ``children`` are the open
    ones, counted once) nor a signal recorded but not sent (its session was refused) is one."""
    instrument: str
    side: Side
    product: Product
    variety: Variety
    validity: Validity
    validity_ttl: int | None = None
    """Minutes a TTL order lives (null for any other validity)."""
    disclosed_quantity: int = 0
    iceberg_legs: int | None = None
    iceberg_quantity: int | None = None
    auction_number: str | None = None
    order_type: OrderType
    quantity: int
    filled_quantity: int
    price: Decimal | None
    trigger_price: Decimal | None
    average_price: Decimal
    strategy: str
    signal_id: str | None
    """The signal this order carries out: with ``strategy``, the idempotency key (the same
    pair is always this order; ``GET /api/orders?strategy=…&signal_id=…`` finds it)."""
    tag: str | None
    """The signal's own label, if it gave one (the order's id is what travels as Kite's tag)."""
    reason: str | None
    algo_id: str | None = None
    """The exchange algo id the order's placement carried (from its log; None: none sent).
    An autoslice's child went with its parent's one placement, and shows that one's."""
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(
        cls, order: Order, children: Sequence[Order] = (), *, parent: Order | None = None
    ) -> OrderOut:
        """``order`` as the API shows it; a sliced parent with its ``children``'s status,
        filled quantity, average price and their one price once modified alike (its own stay
        those of an intent never sent), and the children listed; a child with the algo id it
        went with, read from its ``parent``."""
        signal = order.signal
        status, filled, average = order.status, order.filled_quantity, order.average_price
        price = order.price
        if children:
            status = parent_status(order, children)
            filled, average = children_filled(children)
            price = children_price(order, children)
        return cls(
            order_id=order.order_id,
            broker_order_id=order.broker_order_id,
            parent_id=order.parent_id,
            children=[ChildOut.of(child) for child in children],
            external=order.external,
            leg_of=order.leg_of,
            status=status,
            open=order.is_open,
            instrument=str(signal.instrument),
            side=signal.side,
            product=signal.product,
            variety=signal.variety,
            validity=signal.validity,
            validity_ttl=signal.validity_ttl,
            disclosed_quantity=signal.disclosed_quantity,
            iceberg_legs=signal.iceberg_legs,
            iceberg_quantity=signal.iceberg_quantity,
            auction_number=signal.auction_number,
            order_type=order.order_type,
            quantity=order.quantity or signal.quantity,
            filled_quantity=filled,
            price=price,
            trigger_price=order.trigger_price,
            average_price=average,
            strategy=signal.strategy,
            signal_id=signal.signal_id,
            tag=signal.tag,
            reason=order.reason,
            algo_id=sent_algo_id(order, parent),
            created_at=order.created_at,
            updated_at=order.updated_at,
        )


def sent_algo_id(order: Order, parent: Order | None) -> str | None:
    """The algo id ``order`` went to the broker with: its own placement's, or, for a child of
    an autoslice, its ``parent``'s (the broker cut the children out of that one placement,
    each carrying its algo id; the desk never sends a child itself). A cover order's stop leg
    has no parent here: the broker places it, with none."""
    if parent is not None and parent.autoslice:
        return parent.algo_id
    return order.algo_id


class ChildrenSource(Protocol):
    """What :func:`order_out` asks of a desk (``DeskService`` and the bot's desk have it): a
    parent's children, and a child's parent (for the algo id the child went with)."""

    def children(self, order_id: str) -> Sequence[Order]: ...

    def order(self, order_id: str) -> Order: ...


def _parent_of(desk: ChildrenSource, order: Order) -> Order | None:
    if order.parent_id is None:
        return None
    try:
        return desk.order(order.parent_id)
    except LookupError:  # not the desk's any more: the child's own algo id is all there is
        return None


def order_out(desk: ChildrenSource, order: Order) -> OrderOut:
    """``order`` as the API shows it: a sliced parent read through its children, a child with
    the algo id it went with."""
    return OrderOut.of(order, desk.children(order.order_id), parent=_parent_of(desk, order))


def orders_out(orders: Sequence[Order]) -> list[OrderOut]:
    """``orders`` as the API shows them, each sliced parent read through its children in the
    same list (an earlier day's orders, which the desk no longer holds as a book), each child
    with the algo id it went with."""
    children: dict[str, list[Order]] = {}
    for order in orders:
        if order.parent_id is not None:
            children.setdefault(order.parent_id, []).append(order)
    by_id = {order.order_id: order for order in orders}
    return [
        OrderOut.of(
            order,
            children.get(order.order_id, ()),
            parent=None if order.parent_id is None else by_id.get(order.parent_id),
        )
        for order in orders
    ]


class PositionOut(_Response):
    """A net position as the broker shows it. A CNC sale out of the day's holdings reads as a
    short ``quantity`` there; ``from_holdings`` says how much of it is stock sold, which the
    P&L values from the previous close (realised), not as a short.

    Built from the open day's figures (``DeskService.day_positions``), so it reads as the day's
    list does: once its segment's close has passed, a contract that expired with the day is
    settled (on a day open again for an MCX evening too), its whole P&L ``realised``."""

    instrument: str
    product: Product
    quantity: int
    from_holdings: int = 0
    overnight_quantity: int = 0
    """What the line carried in from an earlier day (signed, as the broker's): the day's P&L
    values that part from the previous close, while ``average_price`` shows what it cost when
    opened (as Kite's does)."""
    average_price: ShownPrice
    last_price: ShownPrice | None
    realised: Paise
    unrealised: Paise
    pnl: Paise
    estimated: bool = False
    """Its P&L rests on an estimate: while a close the desk missed waits for the broker, an
    open quantity no price has been seen for (``last_price`` null)."""
    why_estimated: str = ""
    """Why the line is an estimate, in words, when its figures do not show it (trades made
    while the desk was away, found by what the broker carried out of the day)."""

    @classmethod
    def of(cls, snapshot: PositionSnapshot) -> PositionOut:
        return cls(
            instrument=str(snapshot.instrument),
            product=snapshot.product,
            quantity=snapshot.quantity,
            from_holdings=snapshot.from_holdings,
            overnight_quantity=snapshot.overnight_quantity,
            average_price=snapshot.average_price,
            last_price=snapshot.last_price,
            realised=snapshot.realised,
            unrealised=snapshot.unrealised,
            pnl=snapshot.pnl,
            estimated=snapshot.estimated,
            why_estimated=snapshot.why_estimated,
        )


class StrategyOut(_Response):
    """One strategy's share of the desk: its orders and the P&L of its own fills."""

    strategy: str
    orders: int
    open_orders: int
    realised: Paise
    unrealised: Paise
    pnl: Paise
    positions: list[PositionOut]
    loss_limit: Decimal | None = None
    """The strategy's own daily loss limit in rupees (null: none of its own)."""
    at_loss_limit: bool = False
    """Its P&L is at its loss limit: its new risk is refused, exits still go."""

    @classmethod
    def of(
        cls,
        book: StrategyBook,
        settled: Collection[InstrumentKey] = (),
        limits: LossLimits | None = None,
    ) -> StrategyOut:
        """``settled``: the contracts whose positions read settled, as the desk's do
        (``DeskService.settled``); ``limits``: the loss limits, for the strategy's own."""
        lines = [PositionSnapshot.of(p, settled=p.instrument in settled) for p in book.positions]
        return cls(
            strategy=book.strategy,
            orders=book.orders,
            open_orders=book.open_orders,
            realised=sum((line.realised for line in lines), Decimal(0)),
            unrealised=sum((line.unrealised for line in lines), Decimal(0)),
            pnl=book.pnl,
            loss_limit=None if limits is None else limits.strategies.get(book.strategy),
            at_loss_limit=limits is not None and limits.strategy_reached(book.strategy, book.pnl),
            positions=[PositionOut.of(line) for line in lines if line.quantity or line.realised],
        )


class PendingOut(_Response):
    approval_id: str
    state: ApprovalState
    signal: SignalOut
    received_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    reason: str | None
    order_id: str | None

    @classmethod
    def of(cls, item: PendingSignal) -> PendingOut:
        return cls(
            approval_id=item.approval_id,
            state=item.state,
            signal=SignalOut.of(item.signal),
            received_at=item.received_at,
            expires_at=item.expires_at,
            decided_at=item.decided_at,
            reason=item.reason,
            order_id=item.order_id,
        )


SubmitOutcome = Literal["submitted", "existing", "pending_approval"]
"""What a signal became: ``submitted``, placed now; ``existing``, its (strategy, signal id) had
made an order already, of today or an earlier day, which answers it (nothing new is placed);
``pending_approval``, parked for the operator."""


class SubmitOut(_Response):
    """``submitted`` or ``existing`` with the order, or ``pending_approval`` with the parked
    signal."""

    outcome: SubmitOutcome
    order: OrderOut | None = None
    pending: PendingOut | None = None
    message: str | None = None
    """Said of an order the broker has not taken yet (``SUBMITTING``: it answers 429 while it
    rate-limits the desk): why, that the desk keeps sending it, and that the same signal id
    sent again answers with this order and never places a second. Said of an ``existing``
    order: that the signal was sent before, and when its order was taken. None otherwise."""


class KeptOrderOut(_Response):
    order_id: str
    reason: str
    """Why it can only reduce a position (a cover order's stop leg, the desk's own exit in
    progress, a protective stop)."""


class KillSwitchOut(_Response):
    engaged: bool
    reason: str
    cancelled: list[str] = Field(default_factory=list)
    """Engaging: the ids of the orders held back by the broker's 429s that the switch withdrew
    unsent, and with ``cancel_open`` those of the open orders a cancel was sent for."""
    kept: list[KeptOrderOut] = Field(default_factory=list)
    """Engaging with ``cancel_open``: the open orders left working because they can only
    reduce a position the desk holds (a cover order's stop leg, whose cancel would exit at
    market; the desk's own exit in progress, whose cancel would leave the position open; a
    stop on the other side of a position, within its quantity)."""


class LossLimitOut(_Response):
    """The day's P&L against the desk's daily loss limit: past it, new risk is refused and
    exits still go (``on_daily_loss`` may also have engaged the kill switch)."""

    limit: Decimal | None
    """Rupees (null: no desk-wide limit)."""
    day_pnl: Paise
    reached: bool
    strategies_at_limit: list[str]
    """Strategies past their own loss limit: their new risk is refused."""


class HealthOut(_Response):
    status: Literal["ok", "degraded"]
    """``degraded`` when the event log cannot be written, the broker stream is down, there is
    no usable broker session or reconciliations have kept failing (the doctor fails them)."""
    broker_connection: str | None
    """The live stream as the broker's adapter reports it (CONNECTED, DISCONNECTED…; None when
    the broker has none). Without a usable ``session`` a CONNECTED stream carries nothing."""
    kill_switch: KillSwitchOut
    open_orders: int
    in_flight_orders: int
    """Orders with a request to the broker still unanswered: placing, outcome unknown,
    modify or cancel pending."""
    quiet: bool
    """No order in flight (``in_flight_orders == 0``): what a script waits for before it reads
    the book as settled."""
    pending_approvals: int
    session: SessionStateName
    trading_day: date | None
    loss_limit: LossLimitOut
    event_log_unwritable: str | None = None
    """Why the event log cannot be written or read (the store's error, a database password
    never shown), as ``/api/health/detail`` says it; None while it can be."""
    reconciliation_failing: str | None = None
    """While the latest reconciliation failed, the doctor's words for it ("failing since
    10:01 IST: …", its error's secrets hidden); None while it succeeded, or before the first."""


class SessionOut(_Response):
    """The broker session as the desk sees it (never the token) and the day it has open."""

    state: SessionStateName
    usable: bool
    expires_at: datetime | None
    """When the session ends (valid) or ended (expired); null when not known: it does not
    expire, the broker refused it (the refusal ended it), or nobody has logged in."""
    since: datetime | None
    """When the session took its present state: reached the desk (valid; a token read at
    start-up: when the desk started, not the login), was first refused by the broker
    (refused), passed its expiry (expired); null while missing."""
    reason: str
    """Why it is not usable (empty while it is)."""
    trading_day: date | None
    """The trading day the desk has open (None when it keeps no days, or before the first)."""

    @classmethod
    def of(cls, status: SessionStatus, trading_day: date | None) -> SessionOut:
        return cls(
            state=status.state,
            usable=status.usable,
            expires_at=status.expires_at,
            since=status.since,
            reason=status.reason,
            trading_day=trading_day,
        )


class HoldingOut(_Response):
    """Delivered stock as the day opened with it: settled ``quantity`` and ``t1_quantity``
    still settling; ``sold_today`` of it sold since (as Kite's ``used_quantity``; 0 in a past
    day's record)."""

    instrument: str
    quantity: int
    t1_quantity: int
    average_price: ShownPrice
    close_price: ShownPrice
    sold_today: int = 0

    @classmethod
    def of(cls, holding: Holding, sold_today: int = 0) -> HoldingOut:
        return cls(
            instrument=str(holding.instrument),
            quantity=holding.quantity,
            t1_quantity=holding.t1_quantity,
            average_price=holding.average_price,
            close_price=holding.close_price,
            sold_today=sold_today,
        )


class DayPositionOut(_Response):
    """One position of a trading day; a carried one counts its P&L from the previous close, and
    ``from_holdings`` of a short CNC quantity is stock sold out of holdings (as
    :class:`PositionOut`)."""

    instrument: str
    product: Product
    quantity: int
    from_holdings: int = 0
    overnight_quantity: int
    average_price: ShownPrice
    last_price: ShownPrice | None
    realised: Paise
    unrealised: Paise
    pnl: Paise
    buy_quantity: int
    sell_quantity: int
    squared_off: int = 0
    """Of a closed day: the quantity the broker squared off that no trade of the desk's shows,
    inferred at a close made the next trading day and counted at the day's close price."""
    estimated: bool = False
    """This line's P&L rests on an estimate: an inferred square-off, or an open quantity no
    price of its day could be had for (at a late close, or while one waits)."""
    why_estimated: str = ""
    """Why the line is an estimate, in words, when its figures do not show it (trades made
    while the desk was away, found by what the broker carried out of the day)."""
    settled: bool = False
    """Its contract expired with the day: the open quantity was settled at ``last_price``, the
    final settlement price (its P&L realised; an option in the money exercised or assigned),
    not carried to the next day."""

    @classmethod
    def of(cls, snapshot: PositionSnapshot) -> DayPositionOut:
        return cls(
            instrument=str(snapshot.instrument),
            product=snapshot.product,
            quantity=snapshot.quantity,
            from_holdings=snapshot.from_holdings,
            overnight_quantity=snapshot.overnight_quantity,
            average_price=snapshot.average_price,
            last_price=snapshot.last_price,
            realised=snapshot.realised,
            unrealised=snapshot.unrealised,
            pnl=snapshot.pnl,
            buy_quantity=snapshot.buy_quantity,
            sell_quantity=snapshot.sell_quantity,
            squared_off=snapshot.squared_off,
            estimated=snapshot.estimated,
            why_estimated=snapshot.why_estimated,
            settled=snapshot.settled,
        )


class DayOut(_Response):
    """One trading day in the list of days: how it opened, and its totals.

    The day the desk has open is ``live`` until it closes: its figures are the desk's own now. A
    closed day's come from its close; ``pnl`` and ``realised`` are null for a day the log has no
    close of, and for a day the desk never opened (``missed``).
    """

    day: date
    live: bool
    opened_at: datetime | None
    """Null for a day the desk never opened (``missed``)."""
    closed_at: datetime | None
    pnl: Paise | None
    realised: Paise | None
    orders: int
    fills: int
    lapsed: int
    carried_positions: int
    """Positions the broker carried into the day."""
    holdings: int
    """Holdings the broker showed when the day opened."""
    estimated: bool = False
    """Some of its figures are estimates (the day's positions say which): a close made late,
    after the broker's books of the day were gone; or, live, a missed close still waiting for
    the broker, with open positions the desk has no price for."""
    close_waits: bool = False
    """Live, and its close is due but was missed: it waits for the broker (a login), which it
    closes at; until then its figures are the desk's own."""
    missed: bool = False
    """A trading day the desk never opened (it was stopped through it), as the next day's
    opening recorded: nobody kept its P&L (null), and what positions carried through it made
    over it is in no day's (``carried_positions`` of them; 0: nothing was carried)."""
    missed_move: Paise | None = None
    """On the latest day of a stretch of missed days: what the positions carried through the
    stretch made over it, from the desk's last close to the broker's close before the next
    opening; null when not known (the last close had no price of a line, or another
    quantity). Counted in no day's P&L."""


class DayDetailOut(_Response):
    """One trading day in full: positions, orders and holdings.

    For the day the desk has open and not yet closed (``live``), positions and orders are the
    desk's now; for a closed day, the positions as they stood at its close and its orders as
    the log left them.
    """

    day: date
    live: bool
    opened_at: datetime
    closed_at: datetime | None
    pnl: Paise | None
    realised: Paise | None
    positions: list[DayPositionOut]
    orders: list[OrderOut]
    """Newest first."""
    holdings: list[HoldingOut]
    """As the broker showed them when the day opened."""
    lapsed: list[str]
    """Orders whose day ended with their end unknowable (LAPSED): at its close, or at the next
    opening for one still working at the close (listed in ``still_open`` too)."""
    still_open: list[str]
    """Orders the broker still had working at the close (or now, for the live day)."""
    estimated: bool = False
    """As :attr:`DayOut.estimated`."""
    close_waits: bool = False
    """As :attr:`DayOut.close_waits`."""


class AlertOut(_Response):
    severity: Severity
    title: str
    body: str
    key: str
    order_id: str | None
    at: datetime
    """When it was last raised."""
    repeats: int = 1
    """How many times it was raised (its key and title) since it entered the list: the list
    keeps the latest of an alert raised again, not each raising."""


class ReconcileFindingOut(_Response):
    kind: str
    order_id: str | None
    detail: str


class ReconcileOut(_Response):
    ok: bool
    orders_checked: int
    trades_checked: int
    positions_checked: int
    findings: list[ReconcileFindingOut]


class FieldProblem(_Response):
    field: str
    reason: str


class ErrorOut(_Response):
    """Every error the API answers with: a machine word, a sentence, and the fields at fault."""

    error: str
    message: str
    fields: list[FieldProblem] = []
    check: str | None = None
    """The risk check that denied a signal (403 only)."""


__all__ = [
    "AlertOut",
    "ChildOut",
    "DayDetailOut",
    "DayOut",
    "DayPositionOut",
    "ErrorOut",
    "FieldProblem",
    "HealthOut",
    "HoldingOut",
    "KeptOrderOut",
    "KillSwitchIn",
    "KillSwitchOut",
    "LossLimitOut",
    "ModifyIn",
    "OrderOut",
    "PendingOut",
    "PositionOut",
    "RejectIn",
    "SessionIn",
    "SessionOut",
    "SignalIn",
    "SignalOut",
    "SubmitOut",
    "SubmitOutcome",
]
