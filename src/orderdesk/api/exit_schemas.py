"""The request and answer of ``POST /api/positions/exit`` (shared by the route and
:class:`~orderdesk.client.DeskClient`; no FastAPI here, so a strategy process can import it)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict

from orderdesk.api.schemas import Count, NewOrderProduct, OrderOut
from orderdesk.domain.signal import DEFAULT_STRATEGY, reserved_strategy


def _not_reserved(name: str) -> str:
    """A name the desk gives its own orders is no exit's (``reserved_strategy``, the signal's
    refusal word for word): the exit would be booked, and credited, as the desk's own."""
    if (reason := reserved_strategy(name)) is not None:
        raise ValueError(reason)
    return name


class ExitIn(BaseModel):
    """Which position to close, and (optionally) how hard to push the exit; each setting left
    out is ``[exit]``'s. ``strategy``: close that strategy's own share only; left out (or the
    default strategy), the account's whole position."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instrument: Annotated[str, Field(min_length=3, max_length=64, examples=["NSE:INFY"])]
    product: NewOrderProduct
    strategy: Annotated[str, Field(min_length=1, max_length=32), AfterValidator(_not_reserved)] = (
        DEFAULT_STRATEGY
    )
    # Strict: a JSON ``true`` is neither a number of seconds nor a count.
    reprice_after_seconds: Annotated[float, Strict(), Field(gt=0, le=3600)] | None = None
    """Seconds the exit may rest unfilled before it is re-priced."""
    max_reprices: Annotated[Count, Field(ge=0, le=20)] | None = None
    band_percent: Annotated[Decimal, Field(gt=0, le=20, max_digits=6)] | None = None
    """How far beyond the last price a re-priced exit may go."""
    cancel_working: Annotated[bool, Strict()] = True
    """Cancel the orders still working in the instrument and product first (the account's
    exit: all of them; a strategy's: its own), each confirmed ended before the exit is placed,
    so a stop left working cannot fill after it and open the opposite position. One that
    cannot be cancelled places nothing (409). False: leave them working."""


class ExitOut(BaseModel):
    """The exit order (None when the broker shows no position to exit), the ids of the orders
    cancelled before it, and a sentence."""

    model_config = ConfigDict(frozen=True)

    order: OrderOut | None
    detail: str
    cancelled: list[str] = []
    """The orders working in the line that were cancelled (each confirmed ended) first."""
    warnings: list[str] = []
    """What the exit leaves to look at: other strategies' orders working in the line that
    would open a position if they filled, the account's position no longer behind them."""


__all__ = ["ExitIn", "ExitOut"]
