"""The request and answer of ``POST /api/holdings/authorise`` (shared by the route and
:class:`~orderdesk.client.DeskClient`; no FastAPI here, so a strategy process can import it)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from orderdesk.api.schemas import Count


class HoldingToAuthorise(BaseModel):
    """One holding, and how much of it may be sold today (None: all of it, as the day opened
    with it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instrument: Annotated[str, Field(min_length=3, max_length=64, examples=["NSE:INFY"])]
    quantity: Annotated[Count, Field(gt=0, lt=10**9)] | None = None


class HoldingsAuthoriseIn(BaseModel):
    """The holdings to authorise for sale today; none named: every holding, in full."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    holdings: Annotated[list[HoldingToAuthorise], Field(max_length=100)] = []


class HoldingsAuthorisationOut(BaseModel):
    """The request the broker made, and the page where a person completes it."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    url: str
    """Open it in a browser and authorise with the depository (CDSL: TPIN and OTP)."""


__all__ = ["HoldingToAuthorise", "HoldingsAuthorisationOut", "HoldingsAuthoriseIn"]
