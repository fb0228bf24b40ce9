"""``POST /api/positions/convert``: keep an MIS position overnight as CNC (or NRML), or move a
carried one to MIS, without a trade (:mod:`orderdesk.engine.conversions`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from orderdesk.api.auth import bearer_scheme
from orderdesk.api.context import Context
from orderdesk.api.convert_schemas import ConvertIn, ConvertOut
from orderdesk.api.errors import ERROR_RESPONSES, NOT_OFFERED_RESPONSE
from orderdesk.api.schemas import PositionOut
from orderdesk.domain.values import InstrumentKey, Product

router = APIRouter(
    prefix="/api",
    tags=["orders"],
    dependencies=[Depends(bearer_scheme)],
    responses=ERROR_RESPONSES,
)


@router.post("/positions/convert", responses=NOT_OFFERED_RESPONSE)
async def convert_position(body: ConvertIn, context: Context) -> ConvertOut:
    """Move a position (all of it, or ``quantity``) from ``from_product`` to ``to_product``
    at the broker, at its cost; the desk's positions follow once the broker has made it. The
    request and the broker's answer are in the log (``PositionConversionRequested``,
    ``PositionConverted`` or ``PositionConversionRefused``). 400 when the desk's position
    cannot give the quantity, 422 with the broker's words when it refuses, 501
    ``not_offered`` for a broker without conversions."""
    instrument = InstrumentKey.parse(body.instrument)
    old, new = Product(body.from_product), Product(body.to_product)
    conversion = await context.desk.convert_position(
        instrument, old, new, quantity=body.quantity, overnight=body.overnight
    )
    moved = {old, new}
    return ConvertOut(
        detail=f"converted {conversion.describe()}",
        positions=[
            PositionOut.of(p)
            for p in context.desk.day_positions()
            if p.instrument == instrument and p.product in moved
        ],
    )


__all__ = ["router"]
