"""``orderdesk exit``: flatten a position with an exit the desk makes sure of."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from orderdesk.api.exit_schemas import ExitIn, ExitOut
from orderdesk.api.schemas import PositionOut
from orderdesk.cli import app
from orderdesk.cli._common import (
    EXIT_REFUSED,
    TRADING_EXIT_CODES,
    ConfigOption,
    JsonOption,
    UrlOption,
    build,
    console,
    fail,
    print_json,
    with_client,
)
from orderdesk.cli.desk_commands import ProductArg, _decimal, _show_orders
from orderdesk.client import DeskClient, DeskClientError
from orderdesk.domain.signal import DEFAULT_STRATEGY
from orderdesk.domain.status import OrderStatus
from orderdesk.domain.values import InstrumentKey

EXIT_POLICY = (
    "With --strategy the desk exits only that strategy's own share of the position (never "
    "more than the broker holds); without it, the whole net position, credited in the "
    "strategies' books to those that held it. "
    "The desk places a protected MARKET order and watches it: "
    "not filled within \\[exit] reprice_after_seconds (5), it is re-priced to band_percent (2) "
    "beyond the last price (a sell below, a buy above, within the circuit limits), up to "
    "max_reprices (3) times; then a CRITICAL alert says the position is still open. An exit "
    "order whose placement is unresolved (the broker could not tell whether it placed it) is "
    "not re-priced: the desk waits for its outcome, and alerts if it stays unknown past its "
    "late-order window; do not exit again until it is resolved or given up. Each step "
    "is in the event log (ExitStarted, ExitRepriced, ExitUnfilled). The options below override "
    "the \\[exit] settings for this exit only. "
    "Before the exit is placed, the orders still working in the instrument and product are "
    "cancelled (without --strategy all of them, with it that strategy's own), each confirmed "
    "ended, so a stop left behind cannot fill after the exit and open the opposite position; "
    "one that cannot be cancelled places nothing (exit code 3, naming it). --keep-working "
    "leaves them working. An exit asked while the earlier exit in the line is still "
    "unresolved (or not ended after its cancel) places nothing either (exit code 3, naming "
    "it)."
)


@app.command("exit", rich_help_panel="Trading", epilog=f"{EXIT_POLICY}\n\n{TRADING_EXIT_CODES}")
def exit_position(
    instrument: Annotated[str, typer.Argument(help="EXCHANGE:SYMBOL, e.g. NSE:INFY.")],
    product: Annotated[
        ProductArg | None,
        typer.Option(
            help="The position's product: CNC, NRML, MIS or MTF (default: the one product the "
            "position is held in, with --strategy that strategy's own; held in several, the "
            "command names them and places nothing)."
        ),
    ] = None,
    strategy: Annotated[
        str,
        typer.Option(
            help="Exit only this strategy's share (the order is booked to it); left out, or "
            f"{DEFAULT_STRATEGY}, the account's whole position."
        ),
    ] = DEFAULT_STRATEGY,
    reprice_after: Annotated[
        float | None,
        typer.Option(help="Seconds the exit may rest unfilled before it is re-priced."),
    ] = None,
    max_reprices: Annotated[
        int | None, typer.Option(help="Re-prices before the desk gives up and alerts.")
    ] = None,
    band: Annotated[
        str | None, typer.Option(help="Percent beyond the last price a re-price may go.")
    ] = None,
    keep_working: Annotated[
        bool,
        typer.Option(
            "--keep-working",
            help="Leave the orders working in the instrument and product (a stop-loss too) "
            "instead of cancelling them first: one filling after the exit opens the opposite "
            "position.",
        ),
    ] = False,
    config: ConfigOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Close a position (one strategy's share, or the account's): a protected market exit,
    re-priced until it fills, then alerted.

    A CNC sale out of holdings, which the broker shows as a short, is left alone: only a short
    beyond the holdings is bought back.
    """
    # Checked here, so a bad value exits 3 naming the field before the desk is asked (without
    # --product, with a stand-in: the product is read from the positions below).
    request = build(
        ExitIn,
        instrument=instrument,
        product=(product or ProductArg.MIS).value,
        strategy=strategy,
        reprice_after_seconds=reprice_after,
        max_reprices=max_reprices,
        band_percent=_decimal(band, "band"),
        cancel_working=not keep_working,
    )

    async def call(client: DeskClient) -> ExitOut:
        held = product.value if product else await _held_product(client, request)
        if held is None:
            answer = ExitOut(order=None, detail=_held_nowhere(request))
        else:
            answer = await client.exit_position(
                request.instrument,
                held,
                strategy=request.strategy,
                reprice_after_seconds=request.reprice_after_seconds,
                max_reprices=request.max_reprices,
                band_percent=request.band_percent,
                cancel_working=request.cancel_working,
            )
        if answer.order is None and request.strategy == DEFAULT_STRATEGY and held in {None, "CNC"}:
            holdings = await _held_as_holdings(client, request)
            if holdings is not None:
                answer = answer.model_copy(update={"detail": holdings})
        return answer

    result = with_client(config, url, call)
    rejected = result.order is not None and result.order.status == OrderStatus.REJECTED
    if as_json:
        print_json(result)
    else:
        if result.cancelled:
            console.print(f"cancelled first: {', '.join(result.cancelled)}")
        if result.order is None:
            console.print(f"nothing to exit: {result.detail}")
        elif rejected:
            title = f"{result.detail}, rejected by the broker: the position is still open"
            _show_orders(title, [result.order])
        elif result.order.status == OrderStatus.SUBMIT_UNKNOWN:
            # "placed" read as if the broker had it: its answer was lost, and the desk finds
            # it (or proves it absent) before the exit is watched.
            title = (
                f"{result.detail}: sent, outcome unknown, the desk is finding it out from the "
                "broker (do not exit again by hand; `orderdesk orders` follows it)"
            )
            _show_orders(title, [result.order])
        else:
            _show_orders(f"{result.detail} (watched until it fills)", [result.order])
        for warning in result.warnings:
            console.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)
    if rejected:  # as `place`'s: a script's `exit … && …` must not read the position as closing
        raise typer.Exit(EXIT_REFUSED)


async def _held_product(client: DeskClient, request: ExitIn) -> str | None:
    """The one product the position to exit is held in: the strategy's own lines with
    --strategy, else the account's (None: held in none). Held in several, the command refuses
    to choose: exiting the wrong one leaves the position open (exit 3, naming them)."""
    if request.strategy == DEFAULT_STRATEGY:
        lines = await client.positions()
    else:
        books = await client.strategies()
        lines = next((b.positions for b in books if b.strategy == request.strategy), [])
    # As the desk reads it (nfo:X is NFO:X), a bad one refused naming the field (exit 3).
    instrument = str(InstrumentKey.parse(request.instrument))
    held = sorted({str(p.product) for p in lines if _open(p, instrument)})
    if len(held) > 1:
        fail(
            f"{request.instrument} is held in {len(held)} products ({', '.join(held)}): "
            "say which to exit with --product",
            EXIT_REFUSED,
            extra={"products": held},
        )
    return held[0] if held else None


def _open(line: PositionOut, instrument: str) -> bool:
    """``line`` holds ``instrument`` beyond stock sold out of holdings, which no exit buys
    back."""
    return line.instrument == instrument and line.quantity + line.from_holdings != 0


async def _held_as_holdings(client: DeskClient, request: ExitIn) -> str | None:
    """What the account holds of the instrument as holdings, when an exit found no position
    to close: "nothing to exit: no position" read as if the stock were gone, while an exit
    never sells holdings (None: none held, or a broker that keeps no holdings)."""
    try:
        holdings = await client.holdings()
    except DeskClientError as exc:
        if exc.error == "not_offered":
            return None
        raise
    instrument = str(InstrumentKey.parse(request.instrument))
    holding = next((h for h in holdings if h.instrument == instrument), None)
    if holding is None:
        return None
    left = holding.quantity + holding.t1_quantity - holding.sold_today
    if left > 0:
        return (
            f"{instrument} is held as holdings ({left}): `orderdesk exit` closes positions; "
            f"sell holdings with `orderdesk place {instrument} SELL {left} --product CNC "
            "--type MARKET` (or a limit order with --price)"
        )
    if holding.sold_today:
        # The desk's own words for a CNC exit (routes_exit), which names the product.
        return (
            f"no CNC position in {instrument} beyond the {holding.sold_today} sold out of "
            "holdings (buying them back is no exit)"
        )
    return None


def _held_nowhere(request: ExitIn) -> str:
    """The exit's "nothing to exit" in the desk's words, for every product at once."""
    where = f"no position in {request.instrument} (in any product)"
    if request.strategy == DEFAULT_STRATEGY:
        return where
    return f"strategy {request.strategy} holds {where}"


__all__ = ["exit_position"]
