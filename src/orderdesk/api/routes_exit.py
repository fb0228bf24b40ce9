"""``POST /api/positions/exit``: close a position with an exit that really exits.

The desk places a protected MARKET order and watches it: not filled in time, it is re-priced
within the band, then alerted (:mod:`orderdesk.engine.exits`). Naming a strategy closes that
strategy's own share of the position (never more than the broker holds); naming none (or the
default strategy) flattens the broker's whole net position, credited in the strategies' books
to those that held it. The escalation's settings come from ``[exit]``; the request may override
each of them.

First the orders still working in the instrument and product are cancelled (the account's exit:
all of them; a strategy's: its own), each confirmed ended, so a stop left behind cannot fill
after the exit and open the opposite position (``cancel_working``, true unless the request says
false); the answer lists them (``cancelled``). One that cannot be cancelled places nothing: 409
``conflict`` naming it (``ExitBlocked``). So does an earlier exit in the line that does not
settle in time, its placement unresolved (it may still appear at the broker and fill) or not
ended after its cancel (``EarlierExitPending``, an ``ExitBlocked``): exiting again then could
exit twice.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from orderdesk.api.auth import bearer_scheme
from orderdesk.api.context import ApiContext, Context
from orderdesk.api.errors import ERROR_RESPONSES
from orderdesk.api.exit_schemas import ExitIn, ExitOut
from orderdesk.api.schemas import order_out
from orderdesk.domain.signal import DEFAULT_STRATEGY
from orderdesk.domain.values import InstrumentKey, Product

router = APIRouter(
    prefix="/api",
    tags=["orders"],
    dependencies=[Depends(bearer_scheme)],
    responses=ERROR_RESPONSES,
)


@router.post("/positions/exit")
async def exit_position(body: ExitIn, context: Context) -> ExitOut:
    """Close ``strategy``'s share of the position in ``instrument`` (``product``), or without
    one the broker's whole net position, with a protected MARKET order, re-priced within the
    band while it does not fill, then alerted."""
    instrument, product = InstrumentKey.parse(body.instrument), Product(body.product)
    placed = await context.desk.exit_position(
        instrument,
        product=product,
        strategy=body.strategy,
        reprice_after=body.reprice_after_seconds,
        max_reprices=body.max_reprices,
        band_percent=body.band_percent,
        cancel_working=body.cancel_working,
    )
    cancelled = list(placed.cancelled)
    order = placed.order
    if order is None:
        detail = _nothing_to_exit(context, body, instrument, product)
        return ExitOut(order=None, detail=detail, cancelled=cancelled)
    signal = order.signal
    warnings = (
        [
            "with the account's position exited, these orders of other strategies would open "
            f"a position if they filled: {', '.join(placed.exposed)}; cancel them or exit "
            "those strategies too"
        ]
        if placed.exposed
        else []
    )
    return ExitOut(
        order=order_out(context.desk, order),
        detail=f"exit {order.order_id} placed: {signal.side} {signal.quantity} at market",
        cancelled=cancelled,
        warnings=warnings,
    )


def _nothing_to_exit(
    context: ApiContext, body: ExitIn, instrument: InstrumentKey, product: Product
) -> str:
    """Why an exit placed nothing: the account holds nothing there (beyond stock sold out of
    holdings); or it does, and the strategy named holds nothing there, or holds it against the
    account (a short while the account is long: buying it back would add exposure)."""
    account = next(
        (
            p
            for p in context.desk.positions()
            if p.instrument == instrument and p.product is product
        ),
        None,
    )
    net, sold = (account.quantity, account.from_holdings) if account else (0, 0)
    if body.strategy != DEFAULT_STRATEGY:
        book = context.desk.strategies().get(body.strategy)
        own = book.positions.positions.get((instrument, product)) if book else None
        share = own.quantity + own.from_holdings if own else 0
        if share and not net + sold:
            # Another strategy's share offsets it: "no position" read as if its share were gone.
            return (
                f"nothing to exit for strategy {body.strategy}: its {product} share in "
                f"{instrument} ({share:+d}) is offset by other strategies' (the account holds "
                "none there), and an exit never adds to the account's exposure; close it with "
                "a signal"
            )
        if share:
            return (
                f"nothing to exit for strategy {body.strategy}: its {product} share in "
                f"{instrument} ({share:+d}) is against the account's position ({net:+d}), "
                "and an exit never adds to the account's exposure; close it with a signal"
            )
        if net + sold:
            return f"strategy {body.strategy} holds no {product} position in {instrument}"
    detail = f"no {body.product} position in {body.instrument}"
    if sold:
        detail += f" beyond the {sold} sold out of holdings (buying them back is no exit)"
    return detail


__all__ = ["router"]
