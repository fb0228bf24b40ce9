"""The request and answer of ``POST /api/positions/convert`` (shared by the route and
:class:`~orderdesk.client.DeskClient`; no FastAPI here, so a strategy process can import it)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from orderdesk.api.schemas import Count, Flag, NewOrderProduct, PositionOut


class ConvertIn(BaseModel):
    """Which position to move to which product, and how much of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instrument: Annotated[str, Field(min_length=3, max_length=64, examples=["NSE:INFY"])]
    from_product: NewOrderProduct
    to_product: NewOrderProduct
    quantity: Annotated[Count, Field(gt=0, le=10_000_000)] | None = None
    """How much to move; left out, all the position has to convert."""
    overnight: Flag = False
    """Convert the quantity carried in from an earlier day, not today's (Kite's
    ``position_type``)."""


class ConvertOut(BaseModel):
    """What moved, in a sentence, and the two positions after it."""

    model_config = ConfigDict(frozen=True)

    detail: str
    positions: list[PositionOut]


__all__ = ["ConvertIn", "ConvertOut"]
