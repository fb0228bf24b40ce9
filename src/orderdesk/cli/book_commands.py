"""The trade book, its costs and the funds: ``orderdesk trades``, ``charges`` and ``funds``.

``trades`` reads the desk's own record of its fills, today's or any trading days' in the log,
so a day's executions, or a month's for a journal or the tax working, are one command
(``--csv`` for a spreadsheet). ``charges`` is what a day's executed orders cost, by the broker's
calculator, and the day's P&L after them; or a range of days', a line a day and their sum.
``funds`` is the broker's account as it stands now.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from orderdesk.api.book_schemas import (
    ChargesOut,
    DayChargesOut,
    ExerciseChargesOut,
    RangeChargesOut,
    SegmentOut,
    TradeOut,
    UnchargedOrderOut,
)
from orderdesk.cli import app
from orderdesk.cli._common import (
    EXIT_USAGE,
    ConfigOption,
    DayOption,
    JsonOption,
    SinceOption,
    UntilOption,
    UrlOption,
    cell,
    check_range,
    console,
    fail,
    plural,
    print_json,
    show,
    table,
    with_client,
)
from orderdesk.domain.calendar import IST
from orderdesk.domain.money import price_text

CsvOption = Annotated[
    bool,
    typer.Option("--csv", help="Print CSV, one trade a line."),
]

CSV_COLUMNS = (
    "day",
    "time",
    "trade_id",
    "order_id",
    "broker_order_id",
    "exchange_order_id",
    "strategy",
    "instrument",
    "side",
    "product",
    "quantity",
    "price",
    "value",
)


@app.command("trades", rich_help_panel="Watching")
def trades(
    day: DayOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    as_csv: CsvOption = False,
    config: ConfigOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """The desk's trades, newest first: today's, a trading day's (--day), or those of a range
    of days (--since, --until; either may be left out).

    Each trade names its order and strategy; the time is the exchange's, in IST. --csv prints
    one trade a line with its trading day and value (quantity × price × the contract's
    multiplier: 100 for a lot of MCX crude), for a spreadsheet.
    """
    if as_csv and as_json:
        fail("--csv or --json, not both", EXIT_USAGE)
    if day is not None and (since is not None or until is not None):
        fail("--day, or a range (--since, --until), not both", EXIT_USAGE)
    check_range(since, until)
    rows = with_client(
        config,
        url,
        lambda c: c.trades(
            day=day.date() if day else None,
            since=since.date() if since else None,
            until=until.date() if until else None,
        ),
    )
    if as_json:
        print_json(rows)
    elif as_csv:
        _print_csv(rows)
    else:
        _show_trades(
            _title(rows, day, since, until),
            rows,
            several_days=day is None and (since is not None or until is not None),
        )


def _title(
    rows: Sequence[TradeOut], day: datetime | None, since: datetime | None, until: datetime | None
) -> str:
    if day is not None:
        of = f" of {day:%Y-%m-%d}"
    elif since is not None or until is not None:
        of = f" from {f'{since:%Y-%m-%d}' if since else 'the first day'}"
        of += f" to {f'{until:%Y-%m-%d}' if until else 'today'}"
    else:
        # The desk's open day: before the morning login, still yesterday's, not "today".
        open_day = next((t.day for t in rows if t.day is not None), None)
        of = f" of trading day {open_day:%a %d %b %Y}" if open_day else " today"
    # The desk's value, not quantity × price: an MCX or currency lot is many quoted units.
    bought = sum((t.value for t in rows if t.side == "BUY"), Decimal(0))
    sold = sum((t.value for t in rows if t.side == "SELL"), Decimal(0))
    return f"{plural(len(rows), 'trade')}{of} — bought {bought:,.2f}, sold {sold:,.2f}"


TRADE_COLUMNS = (
    "day",
    "time",
    "instrument",
    "side",
    "qty",
    "price",
    "value",
    "product",
    "strategy",
    "order id",
    "trade id",
)


def _show_trades(title: str, rows: Sequence[TradeOut], *, several_days: bool) -> None:
    """The trades table; the day column only when the trades are of several days."""
    lines: list[Sequence[object]] = [
        (
            t.day.isoformat() if t.day else None,
            f"{t.filled_at.astimezone(IST):%H:%M:%S}" if t.filled_at else None,
            t.instrument,
            t.side,
            t.quantity,
            t.price,
            t.value,
            t.product,
            t.strategy,
            t.order_id,
            t.trade_id,
        )
        for t in rows
    ]
    columns: Sequence[str] = TRADE_COLUMNS
    if not several_days:
        columns, lines = columns[1:], [line[1:] for line in lines]
    show(table(title, columns, lines, spare=("trade id", "value", "strategy", "product")))


def _print_csv(rows: Sequence[TradeOut]) -> None:
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(CSV_COLUMNS)
    for t in rows:
        out.writerow(
            (
                t.day.isoformat() if t.day else "",
                t.filled_at.astimezone(IST).isoformat() if t.filled_at else "",
                t.trade_id,
                t.order_id,
                t.broker_order_id,
                t.exchange_order_id or "",
                t.strategy,
                t.instrument,
                t.side,
                t.product,
                t.quantity,
                # As the table shows them, ungrouped: Kite's float text read "7111.0" beside
                # a value of "29991.00".
                price_text(t.price, grouped=False),
                f"{t.value:.2f}",
            )
        )


@app.command("charges", rich_help_panel="Watching")
def charges(
    day: DayOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    config: ConfigOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """What a trading day's executed orders cost (today's, or --day's), by the broker's charge
    calculator (Kite's virtual contract note; the paper broker's is Zerodha's published
    schedule), and the day's P&L after them; or those of a range of days (--since, --until;
    either may be left out), one line a day and their sum, e.g. a month's.

    Brokerage, STT, exchange and SEBI fees, stamp duty and GST per order. An earlier day is
    charged at the calculator's rates of today. An order the calculator refuses (a contract it
    no longer knows) is listed below the table with the broker's reason, the others charged.
    The broker's fee for its own square-off of an MIS position is not in the calculator, nor in
    these figures.
    """
    if day is not None and (since is not None or until is not None):
        fail("--day, or a range (--since, --until), not both", EXIT_USAGE)
    check_range(since, until)
    if since is not None or until is not None:
        _range_charges(since, until, config, url, as_json=as_json)
        return
    report = with_client(config, url, lambda c: c.charges(day.date() if day else None))
    if as_json:
        print_json(report)
    else:
        _show_charges(report)


def _range_charges(
    since: datetime | None,
    until: datetime | None,
    config: Path | None,
    url: str | None,
    *,
    as_json: bool,
) -> None:
    """``orderdesk charges --since/--until``: the route's range answer, a line a day."""
    params = {
        name: f"{value:%Y-%m-%d}"
        for name, value in (("since", since), ("until", until))
        if value is not None
    }
    # DeskClient.charges asks for one day; the range's answer is read through the plain route.
    reply = with_client(config, url, lambda c: c.get_json("/api/charges", params))
    report = RangeChargesOut.model_validate(reply)
    if as_json:
        print_json(report)
    else:
        _show_range_charges(report)


def _show_range_charges(report: RangeChargesOut) -> None:
    total = report.charges
    title = (
        f"charges of {plural(len(report.days), 'trading day')}{_span(report.since, report.until)}"
        f": {total.total:,.2f}"
    )
    if report.pnl is not None:
        title += f" — P&L {report.pnl:,.2f} before charges"
    if report.net is not None:
        title += f", after charges {report.net:,.2f}"
        if report.estimated:
            title += " (estimated: some days' trades the desk never saw are in neither)"
    # An order converted in part is charged in two lines, one per product: counted once.
    orders = [len({o.order_id for o in d.orders}) for d in report.days]
    rows: list[Sequence[object]] = [
        (d.day.isoformat() if d.day else None, count, *_kinds(d.charges), d.pnl, d.net, _note(d))
        for d, count in zip(report.days, orders, strict=True)
    ]
    rows.append(("total", sum(orders), *_kinds(total), report.pnl, report.net, ""))
    show(
        table(
            title,
            ("day", "orders", *CHARGE_COLUMNS, "P&L", "net", ""),
            rows,
            spare=("SEBI", "stamp", "exchange", "GST"),
        )
    )
    for d in report.days:
        _show_uncharged(d.uncharged)


def _span(since: date | None, until: date | None) -> str:
    start = since.isoformat() if since else "the first day"
    return f" from {start} to {until.isoformat() if until else 'today'}"


CHARGE_COLUMNS = ("brokerage", "STT", "exchange", "SEBI", "stamp", "GST", "DP", "total")
"""The charges' columns, in the order :func:`_kinds` gives their figures."""


def _kinds(charges: ChargesOut) -> tuple[Decimal, ...]:
    return (
        charges.brokerage,
        charges.transaction_tax,
        charges.exchange_turnover_charge,
        charges.sebi_turnover_charge,
        charges.stamp_duty,
        charges.gst,
        charges.dp_charge,
        charges.total,
    )


def _note(day: DayChargesOut) -> str:
    """What a day's line leaves out or holds besides its orders: orders the calculator refused,
    options settled at expiry (charged without an order), trades never seen, or the P&L of a
    day whose close is not in the log."""
    notes = []
    if day.exercised:
        notes.append(f"{plural(len(day.exercised), 'option')} settled at expiry")
    if day.held_sales:
        notes.append(f"{plural(len(day.held_sales), 'scrip')} sold from holdings (DP)")
    if day.uncharged:
        notes.append(f"{plural(len(day.uncharged), 'order')} not charged (below)")
    if day.estimated:
        notes.append("estimated")
    if day.pnl is None:
        notes.append("no close logged")
    return "; ".join(notes)


def _show_charges(report: DayChargesOut) -> None:
    of = f" of {report.day.isoformat()}" if report.day else ""
    total = report.charges.total
    # An order converted in part is charged in two lines, one per product: counted once.
    orders = len({o.order_id for o in report.orders})
    title = f"charges{of}: {plural(orders, 'order')}, {total:,.2f}"
    if report.uncharged:
        title += f" ({plural(len(report.uncharged), 'order')} not charged)"
    if report.pnl is not None and report.net is not None:
        title += f" — P&L {report.pnl:,.2f}, after charges {report.net:,.2f}"
        if report.estimated:
            title += " (estimated: trades the desk never saw are in neither)"
    show(
        table(
            title,
            ("order id", "instrument", "side", "product", "qty", "avg", *CHARGE_COLUMNS),
            [
                (
                    o.order_id,
                    o.instrument,
                    o.side,
                    o.product,
                    o.quantity,
                    o.average_price,
                    *_kinds(o),
                )
                for o in report.orders
            ],
            spare=("SEBI", "stamp", "exchange", "avg"),
        )
    )
    _show_uncharged(report.uncharged)
    _show_exercised(report.exercised)
    for sale in report.held_sales:
        console.print(
            f"sold from holdings: {sale.instrument} {sale.quantity}: DP charge "
            f"{sale.dp_charge:,.2f}, GST {sale.gst:,.2f}, total {sale.total:,.2f}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def _show_exercised(lines: Sequence[ExerciseChargesOut]) -> None:
    """The options the day's close settled in the money: no order of the day's, but in its
    total (STT on an exercised one's intrinsic value, brokerage, GST)."""
    for e in lines:
        how = "exercised" if e.quantity > 0 else "assigned"
        console.print(
            f"{how} at expiry: {e.instrument} {e.product} {e.quantity} "
            f"@ {cell(e.settlement_price, price=True)}: STT {e.transaction_tax:,.2f}, "
            f"brokerage {e.brokerage:,.2f}, GST {e.gst:,.2f}, total {e.total:,.2f}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def _show_uncharged(orders: Sequence[UnchargedOrderOut]) -> None:
    """The orders the broker's calculator refused, each with its reason: their charges are not
    in the day's total, and no P&L after charges is given."""
    for o in orders:
        console.print(
            f"not charged: {o.order_id} {o.instrument} {o.side} {o.quantity} "
            f"@ {cell(o.average_price, price=True)}: the broker refused it: {o.reason}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@app.command("funds", rich_help_panel="Watching")
def funds(config: ConfigOption = None, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Funds and margins per segment, as the broker reports them now (one read at the broker).

    net is what can be traded with; the utilised columns are what open orders and positions
    hold (debits, SPAN and exposure margin).
    """
    report = with_client(config, url, lambda c: c.funds())
    if as_json:
        print_json(report)
        return
    segments = [("equity", report.equity), ("commodity", report.commodity)]
    _show_funds([(name, s) for name, s in segments if s is not None])


def _show_funds(segments: Sequence[tuple[str, SegmentOut]]) -> None:
    if not segments:
        console.print("the broker reported no segment")
        return
    show(
        table(
            "funds (the broker's, now)",
            (
                "segment",
                "net",
                "cash",
                "opening",
                "live",
                "collateral",
                "debits",
                "span",
                "exposure",
            ),
            [
                (
                    name if s.enabled else f"{name} (not enabled)",
                    s.net,
                    s.cash,
                    s.opening_balance,
                    s.live_balance,
                    s.collateral,
                    s.utilised_debits,
                    s.utilised_span,
                    s.utilised_exposure,
                )
                for name, s in segments
            ],
            spare=("collateral", "exposure", "span", "opening"),
        )
    )
