"""The ``paper`` broker: in-process, no network, fills against the last price.

Selected with ``broker = "paper"``; its ``[paper]`` section may set starting ``cash`` and
``prices`` (``{"NSE:INFY" = 1500.0}``); the cash is a new book's only (a kept book goes on with
its own, with a warning when the configured cash differs). It exists to paper-trade without the
simulator and to prove that a new broker is an adapter package, not a change to the core. Its
book is kept in ``paper-broker.json`` in the desk's data directory across restarts
(:mod:`orderdesk.brokers.paper.state`), and it ends its trading days on the desk's calendar as
Kite does (:mod:`orderdesk.brokers.paper.days`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orderdesk.brokers import BrokerContext
from orderdesk.brokers.paper.broker import PaperBroker
from orderdesk.brokers.paper.state import state_path
from orderdesk.domain.errors import ValidationError as DomainValidationError
from orderdesk.domain.values import InstrumentKey
from orderdesk.errors import ConfigError

PositivePrice = Annotated[Decimal, Field(gt=0)]
"""A last price: above 0 (a price of 0 or less would fill orders at it)."""


class PaperOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cash: Decimal = Field(default=Decimal(1_000_000), ge=0)
    prices: dict[str, PositivePrice] = Field(default_factory=dict)
    market_hours: Literal["exchange", "always"] = "exchange"
    """``exchange``: regular orders only while their segment's market is open, as Kite takes
    them; ``always``: at any hour, to rehearse a strategy's code at night or on a weekend (the
    trading days still end as Kite's do: square-off, mass cancel, rollover)."""


def create_broker(options: Mapping[str, Any], context: BrokerContext) -> PaperBroker:
    """Entry point for ``broker = "paper"``."""
    try:
        parsed = PaperOptions.model_validate(dict(options))
        prices = {InstrumentKey.parse(k): v for k, v in parsed.prices.items()}
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"paper.{key}: {first['msg']}") from None
    except DomainValidationError as exc:
        raise ConfigError(f"paper.prices: {exc}") from None
    return PaperBroker(
        prices=prices,
        cash=parsed.cash,
        clock=context.clock,
        state_file=state_path(context.data_dir),
        calendar=context.calendar,
        cash_configured="cash" in options,
        always_open=parsed.market_hours == "always",
    )


__all__ = ["PaperBroker", "PaperOptions", "create_broker"]
