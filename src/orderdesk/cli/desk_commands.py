"""Trading commands: thin clients of the running daemon's HTTP API (``orderdesk run``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape

from orderdesk.api.desk import StreamReading, stream_reading
from orderdesk.api.schemas import (
    DayPositionOut,
    HealthOut,
    OrderOut,
    PositionOut,
    SignalIn,
    SubmitOut,
)
from orderdesk.approvals import ist_moment
from orderdesk.cli import app
from orderdesk.cli._common import (
    EXIT_REFUSED,
    TRADING_EXIT_CODES,
    ConfigOption,
    DayOption,
    JsonOption,
    UrlOption,
    build,
    carried_in,
    console,
    fail,
    plural,
    print_json,
    server_failed,
    show,
    table,
    with_client,
)
from orderdesk.client import DeskClient, DeskClientError, DeskUnavailable
from orderdesk.domain.calendar import IST
from orderdesk.domain.money import price_text
from orderdesk.domain.status import TERMINAL, UNRESOLVED, OrderStatus
from orderdesk.domain.values import OrderType, Side, Validity, Variety
from orderdesk.ports.broker import ConnectionState

STILL_WORKING = (
    frozenset(OrderStatus)
    - TERMINAL
    - UNRESOLVED
    - {OrderStatus.INITIALIZED, OrderStatus.CANCEL_PENDING}
)
"""An order's states after a cancel the broker did not take (a taken one is CANCEL_PENDING or
has ended; one not yet found at the broker is cancelled once it is)."""

ORDER_COLUMNS = (
    "order id",
    "time",
    "status",
    "instrument",
    "side",
    "type",
    "qty",
    "filled",
    "price",
    "avg",
    "strategy",
    "algo id",
    "reason",
)


def _order_row(order: OrderOut, day: date | None = None) -> tuple[object, ...]:
    """``day``: the trading day the row is shown among, whose orders' time alone says when."""
    return (
        order.order_id,
        _taken(order, day),
        order.status,
        order.instrument,
        order.side,
        _type_words(order),
        order.quantity,
        order.filled_quantity,
        order.price,
        order.average_price if order.filled_quantity else None,  # "—", not 0.00, until a fill
        order.strategy,
        order.algo_id,
        order.reason,
    )


def _type_words(order: OrderOut) -> str:
    """The order's type, with a stop's trigger: an SL-M read "—" under price, like a MARKET
    order, and its trigger showed nowhere (``--json`` has both)."""
    if order.trigger_price:
        return f"{order.order_type} trigger {price_text(order.trigger_price)}"
    return str(order.order_type)


def _taken(order: OrderOut, day: date | None) -> str:
    """When the desk took ``order``, in IST: the time, and the date too when it is not ``day``
    (an order carried from an earlier day, one taken on a holiday or after midnight, a signal's
    order of another day; None: the time alone)."""
    taken = order.created_at.astimezone(IST)
    if day is None or taken.date() == day:
        return f"{taken:%H:%M:%S}"
    return f"{taken:%Y-%m-%d %H:%M:%S}"


def _show_orders(title: str, orders: list[OrderOut], day: date | None = None) -> None:
    """The orders table; ``time`` is when the desk took the order, in IST (Kite's clock), with
    its date when that is not trading day ``day``."""
    rows = [_order_row(o, day) for o in orders]
    spare = ("algo id", "reason", "strategy", "avg", "filled")
    show(table(title, ORDER_COLUMNS, rows, spare=spare))


def _decimal(value: str | None, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        reason = f"{value!r} is not a number"
        fields = [{"field": name, "reason": reason}]
        fail(f"{name}: {reason}", EXIT_REFUSED, error="invalid_input", extra={"fields": fields})


class SideArg(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class ProductArg(StrEnum):
    """The products a new order may use: CO and BO only label positions (the API's rule)."""

    CNC = "CNC"
    NRML = "NRML"
    MIS = "MIS"
    MTF = "MTF"


@app.command("place", rich_help_panel="Trading", epilog=TRADING_EXIT_CODES)
def place(
    instrument: Annotated[str, typer.Argument(help="EXCHANGE:SYMBOL, e.g. NSE:INFY.")],
    side: Annotated[SideArg, typer.Argument(help="BUY or SELL.", case_sensitive=False)],
    quantity: Annotated[int, typer.Argument(help="Units (a multiple of the lot for F&O).")],
    price: Annotated[str | None, typer.Option(help="Limit price (LIMIT and SL).")] = None,
    trigger: Annotated[str | None, typer.Option(help="Trigger price (SL, SL-M, CO).")] = None,
    order_type: Annotated[OrderType, typer.Option("--type", help="Order type.")] = (
        OrderType.LIMIT
    ),
    product: Annotated[
        ProductArg | None,
        typer.Option(
            help="CNC (delivery), NRML (carry F&O), MIS (intraday) or MTF (default: CNC on "
            "NSE and BSE, NRML on the derivatives exchanges)."
        ),
    ] = None,
    variety: Annotated[Variety, typer.Option(help="regular, amo, co, iceberg, auction.")] = (
        Variety.REGULAR
    ),
    validity: Annotated[
        Validity, typer.Option(help="DAY, IOC or TTL (TTL takes --validity-ttl).")
    ] = Validity.DAY,
    validity_ttl: Annotated[
        int | None, typer.Option(help="TTL validity: the minutes the order lives.")
    ] = None,
    iceberg_legs: Annotated[
        int | None,
        typer.Option(help="Iceberg variety: how many legs, 2 to 50 (with --iceberg-quantity)."),
    ] = None,
    iceberg_quantity: Annotated[
        int | None,
        typer.Option(
            help="Iceberg variety: the quantity of each leg; legs x this must cover the "
            "quantity (with --iceberg-legs)."
        ),
    ] = None,
    auction_number: Annotated[
        str | None, typer.Option(help="Auction variety: the number of the auction to bid in.")
    ] = None,
    disclosed_quantity: Annotated[
        int, typer.Option(help="Equity: the quantity shown to the market (0: all of it).")
    ] = 0,
    market_protection: Annotated[
        str | None,
        typer.Option(
            help="MARKET and SL-M: how far, in percent (up to 100), the fill may be from the "
            "last price; -1 lets the broker choose (default: [kite] market_protection)."
        ),
    ] = None,
    strategy: Annotated[str, typer.Option(help="Strategy name for attribution.")] = "manual",
    signal_id: Annotated[
        str | None,
        typer.Option(
            help="Idempotency key: the same id never places twice (default: a new one, shown "
            "when the order is not placed yet or the desk does not answer)."
        ),
    ] = None,
    config: ConfigOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Submit one signal to the desk (risk checks apply; approval mode may park it)."""
    signal = build(
        SignalIn,
        instrument=instrument,
        side=Side(side.value),
        quantity=quantity,
        order_type=order_type,
        product=product.value if product else carried_in(instrument),
        variety=variety,
        validity=validity,
        price=_decimal(price, "price"),
        trigger_price=_decimal(trigger, "trigger"),
        validity_ttl=validity_ttl,
        iceberg_legs=iceberg_legs,
        iceberg_quantity=iceberg_quantity,
        auction_number=auction_number,
        disclosed_quantity=disclosed_quantity,
        market_protection=_decimal(market_protection, "market_protection"),
        strategy=strategy,
        # Chosen here rather than by the desk, so that the command can name it when the desk's
        # answer does not come: sent again with it, the signal cannot place a second order.
        signal_id=signal_id or uuid.uuid4().hex,
    )
    result, day = with_client(config, url, lambda c: _submit_dated(c, signal, as_json=as_json))
    rejected = result.order is not None and result.order.status == OrderStatus.REJECTED
    sending = result.order is not None and result.order.status == OrderStatus.SUBMITTING
    if as_json:
        print_json(result)
    elif result.order is not None:
        status = result.order.status
        title = _placed_words(result.order)
        if result.outcome == "existing" and not sending:
            # The order as it stands now: "submitted" read wrong over a row since filled or
            # cancelled.
            title = f"sent before, nothing new placed: {_now_words(result.order, title)}"
        _show_orders(title, [result.order], day)
        if result.outcome == "existing" and not sending:
            console.print(escape(result.message or ""), soft_wrap=True)
        if sending:
            console.print(f"[yellow]{escape(result.message or '')}[/]", soft_wrap=True)
        if status == OrderStatus.ACCEPTED and result.outcome != "existing":
            # Kite answers a placement before its checks (margins, circuit limits) have run:
            # exit 0 here is "taken", and a rejection may follow within the second.
            console.print(
                "the broker took it and may still reject it (margins, circuit limits): "
                "`orderdesk orders` follows it",
                soft_wrap=True,
            )
        if sending or status in _UNSETTLED:
            # Run again without the id, the command would choose a new one: a second order.
            console.print(
                f"signal id {escape(signal.signal_id or '')}: run the same command with "
                f"--signal-id {escape(signal.signal_id or '')} to see the order again (it "
                "places no second one), or follow it with `orderdesk orders`",
                soft_wrap=True,
            )
    elif result.pending is not None:
        console.print(
            f"waiting for approval: [bold]{result.pending.approval_id}[/] "
            f"(expires {ist_moment(result.pending.expires_at)})"
        )
    if rejected:  # a script's `place … && …` must not read the rejection as placed
        raise typer.Exit(EXIT_REFUSED)


_UNSETTLED = {
    OrderStatus.SUBMIT_UNKNOWN: "sent, outcome unknown: the desk is finding it out from the broker",
    OrderStatus.INITIALIZED: "recorded, not sent yet",
}
"""What ``place`` says of an order whose placement has no answer yet, besides SUBMITTING."""


async def _submit_dated(
    client: DeskClient, signal: SignalIn, *, as_json: bool
) -> tuple[SubmitOut, date | None]:
    """Send ``signal``; for a table of an order the signal made before, the desk's trading day
    too, so that an order of another day shows its date."""
    result = await _submit(client, signal)
    if as_json or result.outcome != "existing":
        return result, None
    return result, (await client.health()).trading_day


async def _submit(client: DeskClient, signal: SignalIn) -> SubmitOut:
    """Send ``signal``; a desk that did not answer may still have taken it, so the error says
    how to find out without placing it twice."""
    try:
        return await client.submit(signal)
    except DeskUnavailable as exc:
        reason = (
            f"{exc.reason.rstrip('.')} (if the desk took the signal, it places it once: run "
            f"the same command with --signal-id {signal.signal_id} to see its order; the same "
            "signal id never places a second)"
        )
        body = {**exc.body, "signal_id": signal.signal_id}
        raise DeskUnavailable(reason, status=exc.status, body=body, reason=reason) from None
    except DeskClientError as exc:
        if not (exc.transient or exc.retry_after_login or server_failed(exc)):
            raise  # a refusal: the same signal would be refused again
        reason = (
            f"{exc.reason.rstrip('.')} (this signal's id is {signal.signal_id}: run the same "
            f"command with --signal-id {signal.signal_id}, which never places a second order)"
        )
        body = {**exc.body, "signal_id": signal.signal_id}
        raise DeskClientError(reason, status=exc.status, body=body, reason=reason) from None


def _order_id(value: str) -> str:
    """An empty order id would name ``/api/orders/``, which is no order: a usage error."""
    if not value.strip():
        raise typer.BadParameter("must not be empty or blank (`orderdesk orders` lists the ids)")
    return value


OrderIdArg = Annotated[str, typer.Argument(help="orderdesk's order id.", callback=_order_id)]


@app.command("modify", rich_help_panel="Trading", epilog=TRADING_EXIT_CODES)
def modify(
    order_id: OrderIdArg,
    quantity: Annotated[int | None, typer.Option(help="New quantity.")] = None,
    price: Annotated[str | None, typer.Option(help="New limit price.")] = None,
    trigger: Annotated[str | None, typer.Option(help="New trigger price.")] = None,
    order_type: Annotated[
        OrderType | None,
        typer.Option("--type", help="New order type (e.g. an SL to LIMIT, a LIMIT to MARKET)."),
    ] = None,
    config: ConfigOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a working order's quantity, price, trigger or type; the rest stay as they are."""
    if quantity is None and price is None and trigger is None and order_type is None:
        fail("say what to change: --quantity, --price, --trigger or --type", EXIT_REFUSED)
    new_price, new_trigger = _decimal(price, "price"), _decimal(trigger, "trigger")

    async def call(client: DeskClient) -> OrderOut:
        return await client.modify(
            order_id,
            quantity=quantity,
            price=new_price,
            trigger_price=new_trigger,
            order_type=order_type,
        )

    order = with_client(config, url, call)
    if as_json:
        print_json(order)
    else:
        _show_orders("modify requested", [order])


@app.command("cancel", rich_help_panel="Trading", epilog=TRADING_EXIT_CODES)
def cancel(
    order_id: OrderIdArg,
    config: ConfigOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cancel one working order.

    Cancelling a cover order's stop leg (or a filled cover order, whose leg is what is
    cancelled) exits that position at market: that is how a cover order is exited.
    """
    order = with_client(config, url, lambda c: c.cancel(order_id))
    if as_json:
        print_json(order)
    else:
        _show_orders("cancel requested", [order])
        _say_cover_exits([order])


@app.command("cancel-all", rich_help_panel="Trading", epilog=TRADING_EXIT_CODES)
def cancel_all(
    config: ConfigOption = None, url: UrlOption = None, as_json: JsonOption = False
) -> None:
    """Cancel every open order.

    Every one: a cover order's stop leg too, which exits that position at market, and stops
    that protect a position. `kill-switch on --cancel-open` leaves those working.
    """
    orders = with_client(config, url, lambda c: c.cancel_all())
    if as_json:
        print_json(orders)
    else:
        _show_orders(f"cancel asked for {plural(len(orders), 'order')}", orders)
        _say_cover_exits(orders)
    _fail_if_not_cancelled(orders)


def _say_cover_exits(orders: list[OrderOut]) -> None:
    """A line for each cover order a cancel exits: cancelling its stop leg (or the filled cover
    order itself, which cancels the leg) closes the position at market."""
    for order in orders:
        if order.leg_of is not None:
            what = f"{order.order_id} is the stop leg of cover order {order.leg_of}"
        elif order.variety is Variety.CO and order.status is OrderStatus.FILLED:
            what = f"{order.order_id} is a filled cover order: the cancel went to its stop leg"
        else:
            continue
        console.print(
            f"note: {what}; that exits the {order.instrument} position at market",
            soft_wrap=True,  # one line a script can grep, whatever the terminal's width
        )


def _fail_if_not_cancelled(orders: list[OrderOut]) -> None:
    """Exit 3 naming the orders whose cancel the broker did not take (no session, a refusal):
    they are still working, and an operator pulling orders must not read them as pulled."""
    stuck = [o for o in orders if o.status in STILL_WORKING]
    if stuck:
        reasons = "; ".join(f"{o.order_id}: {o.reason or o.status}" for o in stuck)
        fail(f"{plural(len(stuck), 'order')} not cancelled, still working: {reasons}", EXIT_REFUSED)


@app.command("orders", rich_help_panel="Watching")
def orders(
    open_only: Annotated[
        bool, typer.Option("--open", help="Only open orders: those `orderdesk status` counts.")
    ] = False,
    day: DayOption = None,
    config: ConfigOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """List today's orders (or a trading day's with --day), newest first."""
    if day is None:
        rows, shown_day = with_client(config, url, lambda c: _today(c, as_json=as_json))
        of_day = ""
    else:
        shown_day = day.date()
        rows = with_client(config, url, lambda c: c.day(shown_day)).orders
        of_day = f" of {shown_day.isoformat()}"
    if open_only:
        rows = [o for o in rows if o.open]
    if as_json:
        print_json(rows)
    else:
        noun = "open order" if open_only else "order"
        _show_orders(plural(len(rows), noun) + of_day, rows, shown_day)


async def _today(client: DeskClient, *, as_json: bool) -> tuple[list[OrderOut], date | None]:
    """Today's orders and, for a table, the desk's trading day: an order carried into it, or
    taken on another calendar date (a holiday, after midnight), shows its date."""
    rows = await client.orders()
    if as_json:
        return rows, None
    return rows, (await client.health()).trading_day


def show_positions(rows: list[PositionOut], title: str = "positions") -> None:
    """The lines and their P&L summed under ``title``: name a part of the positions for what
    it is, or its sum reads as the account's P&L."""
    total = sum((p.pnl for p in rows), Decimal(0))
    # A carried line's P&L is the day's, from the previous close, beside what it cost when
    # opened: without saying so its avg and last read as an unrealised gain gone missing.
    carried = any(p.overnight_quantity for p in rows)
    columns = ["instrument", "product", "qty", "avg", "last", "realised", "unrealised", "P&L"]
    if carried:
        columns.insert(3, "overnight")
    show(
        table(
            f"{title} — P&L {total:,.2f}{_estimated(rows)}"
            + (" (of the day: carried quantity from the previous close)" if carried else ""),
            columns,
            [
                (
                    p.instrument,
                    p.product,
                    f"{p.quantity} (no price: estimated)"
                    if p.estimated
                    else _quantity(p.quantity, p.from_holdings),
                    *((p.overnight_quantity,) if carried else ()),
                    p.average_price,
                    p.last_price,
                    p.realised,
                    p.unrealised,
                    p.pnl,
                )
                for p in rows
            ],
            spare=("realised", "unrealised", "overnight"),
        )
    )


def _estimated(rows: Sequence[PositionOut | DayPositionOut]) -> str:
    """What the total is when a line is an estimate: it reads as one too, not as a sum."""
    return " (estimated: see the lines marked so)" if any(p.estimated for p in rows) else ""


def _quantity(quantity: int, from_holdings: int) -> str | int:
    """The broker's quantity, with what of a short is stock sold out of holdings."""
    return f"{quantity} ({from_holdings} from holdings)" if from_holdings else quantity


def _day_quantity(position: DayPositionOut) -> str | int:
    """A day's quantity, with what of it was stock sold out of holdings, or squared off by
    the broker as a close made the next day inferred (an estimate)."""
    if position.squared_off:
        return f"{position.quantity} ({position.squared_off} squared off by the broker, estimated)"
    if position.why_estimated:
        return f"{position.quantity} (estimated: {position.why_estimated})"
    if position.estimated:
        return f"{position.quantity} (no price of the day: estimated)"
    if position.settled and position.quantity and position.last_price is not None:
        # Expired with the day: not a line still open, though its quantity is the day's.
        return f"{position.quantity} (expired: settled at {price_text(position.last_price)})"
    return _quantity(position.quantity, position.from_holdings)


def show_day_positions(title: str, rows: list[DayPositionOut]) -> None:
    total = sum((p.pnl for p in rows), Decimal(0))
    show(
        table(
            f"{title} — P&L {total:,.2f}{_estimated(rows)}",
            (
                "instrument",
                "product",
                "qty",
                "overnight",
                "avg",
                "last",
                "realised",
                "unrealised",
                "P&L",
            ),
            [
                (
                    p.instrument,
                    p.product,
                    _day_quantity(p),
                    p.overnight_quantity,
                    p.average_price,
                    p.last_price,
                    p.realised,
                    p.unrealised,
                    p.pnl,
                )
                for p in rows
            ],
            spare=("realised", "unrealised", "overnight"),
        )
    )


@app.command("positions", rich_help_panel="Watching")
def positions(
    day: DayOption = None,
    config: ConfigOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Net positions with realised and unrealised P&L (today's, or a trading day's).

    A CNC sale out of holdings shows as a short, as at the broker, marked "from holdings":
    that part is valued as stock sold against the previous close, not as a short. With --day,
    an earlier day's positions as they stood at its close.
    """
    if day is not None:
        detail = with_client(config, url, lambda c: c.day(day.date()))
        if as_json:
            print_json(detail.positions)
        else:
            if detail.live:
                when = "now"
            elif detail.closed_at is None:
                when = "no close logged"
            else:
                when = "at its close"
            if detail.estimated:
                when += ", estimated"
            show_day_positions(f"positions of {detail.day.isoformat()} ({when})", detail.positions)
        return
    rows = with_client(config, url, lambda c: c.positions())
    if as_json:
        print_json(rows)
    else:
        show_positions(rows)


class Switch(StrEnum):
    ON = "on"
    OFF = "off"
    STATUS = "status"


@app.command("kill-switch", rich_help_panel="Safety")
def kill_switch(
    state: Annotated[
        Switch,
        typer.Argument(
            help="on: refuse new orders; off: accept again; status: say how it stands, and why."
        ),
    ],
    reason: Annotated[
        str,
        typer.Option(help="Recorded in the audit log (default: from the CLI)."),
    ] = "",
    cancel_open: Annotated[
        bool,
        typer.Option(
            "--cancel-open",
            help="With on: also cancel the open orders, but those that can only reduce a "
            "position (a cover order's stop leg, the desk's own exit in progress, a protective "
            "stop).",
        ),
    ] = False,
    config: ConfigOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Engage or release the kill switch, or say how it stands (status).

    Engaged, the desk refuses every new order except its own exits, which only reduce a
    position. With --cancel-open it also cancels the open
    orders that could add risk, and keeps those that can only reduce a position it holds: a
    cover order's stop leg (cancelling it would exit at market), the desk's own exit in
    progress (cancelling it would leave the position open) and a stop (SL, SL-M) on the other
    side of a position, within its quantity. An order the broker's 429s hold back, not yet
    sent, is withdrawn (never sent), unless it is an exit or protective. It names each order
    kept and why; `cancel ID` or `cancel-all` cancels them when that is what is wanted.
    """
    engaged = state is Switch.ON
    if state is Switch.STATUS:
        result = with_client(config, url, lambda c: c.kill_switch())
    else:
        # Said where it was done: the API's own default ("from the API") read as a script's.
        said = reason or ("engaged from the CLI" if engaged else "released from the CLI")
        result = with_client(
            config, url, lambda c: c.set_kill_switch(engaged, said, cancel_open=cancel_open)
        )
    if as_json:
        print_json(result)
    else:
        word = "[bold red]ENGAGED[/]" if result.engaged else "[green]released[/]"
        # A release's own reason is the caller's words (or "released from the API"): said by
        # `status`, which tells why the switch stands as it does, not echoed by `off`.
        told = result.engaged or state is Switch.STATUS
        why = f" ({escape(result.reason)})" if result.reason and told else ""
        console.print(f"kill switch {word}{why}")
        # `status` names what the engagement cancelled and kept, as `on --cancel-open` did (the
        # desk keeps the lists until a release or a restart).
        listed = (engaged and cancel_open) or (state is Switch.STATUS and result.engaged)
        if listed and (result.cancelled or result.kept or state is not Switch.STATUS):
            console.print(f"cancel asked for {plural(len(result.cancelled), 'open order')}")
            if state is Switch.STATUS and result.cancelled:
                console.print(f"cancelled: {escape(', '.join(result.cancelled))}", soft_wrap=True)
            for kept in result.kept:
                console.print(
                    f"kept: {escape(kept.order_id)}: {escape(kept.reason)}", soft_wrap=True
                )
    if engaged and cancel_open and result.cancelled:
        asked = set(result.cancelled)
        now = with_client(config, url, lambda c: c.orders())
        _fail_if_not_cancelled([o for o in now if o.order_id in asked])


def _placed_words(order: OrderOut) -> str:
    """What came of a signal's order, in `place`'s words: "rejected by the broker" (exit 3),
    "not placed yet" while the broker throttles the desk, an unsettled placement's words
    (``_UNSETTLED``), else "submitted"."""
    if order.status == OrderStatus.REJECTED:
        return "rejected by the broker"
    if order.status == OrderStatus.SUBMITTING:
        return "not placed yet"
    return _UNSETTLED.get(order.status, "submitted")


def _now_words(order: OrderOut, placed: str) -> str:
    """An order sent before, as it stands: its end once it has one ("filled", "cancelled"…),
    else how its placement went (``placed``)."""
    if order.status in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.LAPSED):
        return f"the order is {order.status.lower()}"
    return placed


@app.command("pending", rich_help_panel="Safety", epilog=TRADING_EXIT_CODES)
def pending(
    approve: Annotated[str | None, typer.Option(help="Approve this approval id.")] = None,
    reject: Annotated[str | None, typer.Option(help="Reject this approval id.")] = None,
    reason: Annotated[str, typer.Option(help="Why (with --reject).")] = "",
    config: ConfigOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Signals waiting for approval; approve or reject one."""
    if approve and reject:
        fail("approve or reject, not both", EXIT_REFUSED)
    if approve:
        order = with_client(config, url, lambda c: c.approve(approve))
        if as_json:
            print_json(order)
        else:
            _show_orders(f"approved {approve}: {_placed_words(order)}", [order])
        if order.status == OrderStatus.REJECTED:  # as `place`: a rejection is not "done"
            raise typer.Exit(EXIT_REFUSED)
        return
    if reject:
        decided = with_client(config, url, lambda c: c.reject(reject, reason))
        if as_json:
            print_json(decided)
        else:
            console.print(f"rejected {reject}")
        return
    rows = with_client(config, url, lambda c: c.pending())
    if as_json:
        print_json(rows)
        return
    show(
        table(
            f"{plural(len(rows), 'signal')} waiting",
            ("approval id", "state", "strategy", "instrument", "side", "qty", "price", "expires"),
            [
                (
                    p.approval_id,
                    p.state,
                    p.signal.strategy,
                    p.signal.instrument,
                    p.signal.side,
                    p.signal.quantity,
                    p.signal.price,
                    ist_moment(p.expires_at),  # with its date: it may lapse on another day
                )
                for p in rows
            ],
        )
    )


@app.command("status", rich_help_panel="Watching")
def status(config: ConfigOption = None, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """The daemon's health: broker stream and session, trading day, kill switch, orders, why
    the event log cannot be written while it cannot, and since when reconciliations fail
    while they do."""
    health = with_client(config, url, lambda c: c.health())
    if as_json:
        print_json(health)
        return
    day = health.trading_day.isoformat() if health.trading_day else "none"
    console.print(
        f"desk {health.status} · {_stream_words(health)} · {_session_words(health)} · "
        f"trading day {day} · "
        f"kill switch {'ENGAGED' if health.kill_switch.engaged else 'off'} · "
        f"{plural(health.open_orders, 'open order')} · "
        f"{plural(health.pending_approvals, 'pending approval')}"
    )
    if health.event_log_unwritable:
        # The store's reason (its URL's password hidden): a driver's may run over several
        # lines and hold brackets, printed as one line of text.
        reason = " ".join(health.event_log_unwritable.split())
        console.print(
            f"[red]event log cannot be written[/]: {escape(reason)}; "
            "signals are refused until it can be",
            highlight=False,
            soft_wrap=True,
        )
    if health.reconciliation_failing:
        # The doctor's own line: `status` said "desk ok" of a desk whose every pass failed.
        console.print(
            f"[red]reconciliation[/] {escape(health.reconciliation_failing)}",
            highlight=False,
            soft_wrap=True,
        )
    loss = health.loss_limit
    if loss.reached:
        console.print(
            f"[red]daily loss limit reached[/]: the day's P&L {loss.day_pnl:,.2f} against "
            f"the limit of {loss.limit or 0:,.2f}; new risk is refused, exits still go"
        )
    if loss.strategies_at_limit:
        console.print(
            f"[red]at their own loss limit[/]: {', '.join(loss.strategies_at_limit)}; their "
            "new risk is refused, exits still go"
        )


def _stream_words(health: HealthOut) -> str:
    """The broker stream as a person reads it (the desk's one rule, stream_reading): without a
    usable session it reads idle, whatever the socket's state, as it carries nothing (Kite's
    feed past 06:00 IST) and nothing can be polled in its place."""
    connection = health.broker_connection
    connected = None if connection is None else connection == ConnectionState.CONNECTED
    reading = stream_reading(connected, session_usable=health.session == "valid")
    if reading is StreamReading.NONE:
        return "broker stream n/a"
    if reading is StreamReading.IDLE:
        return "broker stream idle"
    return f"broker stream {connection}"


def _session_words(health: HealthOut) -> str:
    """The session's state, and the way back to a usable one when it is not."""
    if health.session == "valid":
        return "session valid"
    return f"session {health.session}: run `orderdesk login`"


@app.command("reconcile", rich_help_panel="Safety")
def reconcile(
    config: ConfigOption = None, url: UrlOption = None, as_json: JsonOption = False
) -> None:
    """Compare the desk's orders, fills and positions with the broker's, and print the report.

    Orders placed outside orderdesk are adopted, fills missed on the stream are inferred from
    trades, and every difference is recorded in the audit log and alerted. Exits 3 when any
    difference was found.
    """
    report = with_client(config, url, lambda c: c.reconcile())
    checked = (
        f"reconciliation — {plural(report.orders_checked, 'order')}, "
        f"{plural(report.trades_checked, 'trade')}, "
        f"{plural(report.positions_checked, 'position')} checked"
    )
    if as_json:
        print_json(report)
    elif report.findings:
        show(
            table(
                checked,
                ("kind", "order id", "detail"),
                [(f.kind, f.order_id, f.detail) for f in report.findings],
            )
        )
        console.print(f"[yellow]{plural(len(report.findings), 'difference')}[/]")
    else:
        # No table to show: an empty one squeezed the title into three lines.
        console.print(f"{checked}: [green]in agreement with the broker[/]", soft_wrap=True)
    if not report.ok:
        raise typer.Exit(EXIT_REFUSED)
