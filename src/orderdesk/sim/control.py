"""Test control, outside Kite's namespace: ``/_sim/*``. Mounted only on loopback servers.

- ``POST /_sim/prices`` ``{"NSE:INFY": 1502.5}`` sets last prices; matching runs at once. It is
  the operator's hand and works at any hour, the market closed included.
- ``POST /_sim/step`` moves every price one seeded random-walk step, as the housekeeping does
  each ``price_tick_interval``; outside the session (``market_hours="nse"``: after 15:30, before
  09:15, weekends, holidays) nothing trades and it moves nothing.
- ``POST /_sim/faults`` sets fault switches (``GET /_sim/state`` shows them).
- ``POST /_sim/reset`` (optional ``{"seed": N}``) empties books, cash back to the opening cash,
  relists expired contracts, switches faults off and puts the clock back to real time (the day
  machine starts again from there); sessions survive so logged-in clients keep working.
- ``GET /_sim/clock`` answers ``{"clock", "offset_seconds", "trading_day"}``: the simulated time
  and how far it runs ahead of real time, exactly (a desk with ``clock = "simulator"`` follows
  it, reading ``?follower=<id>``; :mod:`orderdesk.sim_time`).
- ``POST /_sim/clock`` ``{"advance_seconds": N}`` or ``{"set": "YYYY-MM-DD HH:MM:SS"}`` (IST;
  ISO 8601 too, e.g. ``2026-12-07T08:30``, and a time with an offset such as
  ``2026-12-07T03:00:00Z`` is converted to IST; :func:`~orderdesk.sim.clock.parse_wall_time`)
  moves the clock, waits (at most 2 s) until the desks following it have read the move
  (:mod:`orderdesk.sim.followers`), runs the trading-day milestones it crossed
  (``market_hours="nse"``; see :mod:`orderdesk.sim.days`), then the sweep; answers
  ``{"clock", "trading_day", "milestones": [{"at", "kind", "segment", "day"}, ...]}`` with the
  milestones this call ran, in order (``trading_day`` is ``null`` without trading days).
- ``GET /_sim/state`` shows the seed, switches, faults, clock, ``trading_day``, book sizes and
  ``static_ip``: the allowed addresses (``null``: any) and the order writes refused so far.
  ``market_open`` is NSE's (equity) market; ``market_open_by_exchange`` maps each exchange
  (``NSE``, ``BSE``, ``NFO``, ``BFO``, ``CDS``, ``BCD``, ``MCX``) to whether its own segment's
  market is open now (all ``true`` without ``market_hours="nse"``): at 20:00 on a trading day
  only ``MCX`` is.
- ``POST /_sim/holdings`` ``[{"exchange", "tradingsymbol", "quantity", "average_price"}]``
  (optional ``close_price``, ``t1_quantity``, ``isin``).
- ``POST /_sim/orders/external`` places an order as if from Kite web (no API tag, no postback).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from orderdesk.sim.clock import parse_wall_time
from orderdesk.sim.core import Core
from orderdesk.sim.envelope import InputError, ok
from orderdesk.sim.order_params import PlaceRequest
from orderdesk.sim.portfolio import Holding, made_up_isin
from orderdesk.sim.ports import MarketControl, TickerControl


async def _json_body(request: web.Request, default: Any = None) -> Any:
    if not request.can_read_body:
        if default is None:
            raise InputError("A JSON body is required.")
        return default
    try:
        return await request.json()
    except ValueError:
        raise InputError("Invalid JSON body.") from None


def _day(core: Core) -> str | None:
    day = core.days.trading_day()
    return None if day is None else day.isoformat()


def add_control_routes(
    app: web.Application,
    core: Core,
    market: MarketControl,
    ticker: TickerControl,
    on_reset: Callable[[int], None],
) -> None:
    """Mount ``/_sim/*`` (callers check that the server is on loopback)."""

    async def prices(request: web.Request) -> web.Response:
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise InputError('Expected {"EXCHANGE:SYMBOL": price, ...}.')
        parsed: dict[str, float] = {}
        for key, value in body.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise InputError(f"Invalid price for {key}.")
            parsed[key] = float(value)
        try:
            changed = market.set_prices(parsed)
        except KeyError as exc:
            raise InputError(f"Unknown instrument {exc.args[0]}.") from None
        return ok({"changed": changed})

    async def step(request: web.Request) -> web.Response:
        return ok({"changed": market.step()})

    async def faults(request: web.Request) -> web.Response:
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise InputError("Expected a JSON object of fault switches.")
        try:
            core.faults.update(body)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        dropped = 0
        if core.faults.ws_drop_now:
            dropped = ticker.drop_all()
            core.faults.ws_drop_now = False
        return ok({"faults": core.faults.as_dict(), "dropped": dropped})

    async def reset(request: web.Request) -> web.Response:
        body = await _json_body(request, default={})
        seed = body.get("seed", core.config.seed) if isinstance(body, dict) else None
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise InputError("Invalid `seed`.")
        on_reset(seed)
        return ok(True)

    async def state(request: web.Request) -> web.Response:
        """``GET /_sim/state``. ``market_open`` stays NSE's alone, as before the exchanges kept
        hours of their own; ``market_open_by_exchange`` answers for each exchange by its
        segment's hours (``{"NSE": false, ..., "MCX": true}`` on a trading day's evening)."""
        config = core.config
        orders = list(core.exchange.all_orders())
        return ok(
            {
                "seed": config.seed,
                "user_id": config.user_id,
                "api_key": config.api_key,
                "rate_limits": core.limiter.enabled,
                "market_hours": config.market_hours,
                "market_open": core.exchange.market_open(),
                "market_open_by_exchange": core.exchange.markets_open(),
                "clock": core.clock.stamp(),
                "trading_day": _day(core),
                "faults": core.faults.as_dict(),
                "orders": len(orders),
                "open_orders": sum(o.pending_quantity > 0 for o in orders),
                "static_ip": core.static_ip.state(),
            }
        )

    async def clock(request: web.Request) -> web.Response:
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise InputError("Expected a JSON object.")
        try:
            if "set" in body:
                core.clock.set(parse_wall_time(str(body["set"])))
            else:
                core.clock.advance(float(body.get("advance_seconds", 0)))
        except (TypeError, ValueError) as exc:
            raise InputError(str(exc)) from None
        await core.followers.caught_up()
        ran = core.days.catch_up()
        core.exchange.sweep()
        return ok(
            {
                "clock": core.clock.stamp(),
                "trading_day": _day(core),
                "milestones": [milestone.to_wire() for milestone in ran],
            }
        )

    async def read_clock(request: web.Request) -> web.Response:
        answer = ok(
            {
                "clock": core.clock.stamp(),
                "offset_seconds": core.clock.offset_seconds,
                "trading_day": _day(core),
            }
        )
        follower = request.query.get("follower")
        if follower:
            # Written first: the follower has this time before any news a move then makes.
            await answer.prepare(request)
            await answer.write_eof()
            core.followers.read(follower)
        return answer

    async def holdings(request: web.Request) -> web.Response:
        body = await _json_body(request)
        if not isinstance(body, list):
            raise InputError("Expected an array of holdings.")
        user = core.config.user_id
        for raw in body:
            if not isinstance(raw, dict):
                raise InputError("Invalid holding.")
            inst = core.exchange.instrument(str(raw.get("exchange")), str(raw.get("tradingsymbol")))
            try:
                quantity = int(raw["quantity"])
                t1_quantity = int(raw.get("t1_quantity", 0))
                average = Decimal(str(raw["average_price"]))
                close = Decimal(str(raw.get("close_price", raw["average_price"])))
            except (KeyError, TypeError, ValueError, InvalidOperation):
                raise InputError(
                    "A holding needs `quantity` and `average_price` (numbers, as are "
                    "`t1_quantity` and `close_price`)."
                ) from None
            core.portfolio.seed_holding(
                Holding(
                    user_id=str(raw.get("user", user)),
                    exchange=inst.exchange,
                    tradingsymbol=inst.tradingsymbol,
                    instrument_token=inst.instrument_token,
                    quantity=quantity,
                    t1_quantity=t1_quantity,
                    t1_price=average,
                    average_price=average,
                    close_price=close,
                    isin=str(raw.get("isin") or made_up_isin(inst.instrument_token)),
                )
            )
        return ok(True)

    async def external(request: web.Request) -> web.Response:
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise InputError("Expected a JSON object of order parameters.")
        user = str(body.pop("user", core.config.user_id))
        variety = str(body.pop("variety", "regular"))
        form = {k: str(v) for k, v in body.items() if v is not None and k != "tag"}
        if form.get("order_type") == "MARKET":
            # Kite's 2026 rule binds API orders; Kite web applies its own protection, so an
            # order "from the web" without one gets the automatic (UNVERIFIED: its default).
            form.setdefault("market_protection", "-1")
        req = PlaceRequest.parse(variety, form)
        order = core.exchange.place(user, None, req)
        return ok({"order_id": order.order_id})

    app.router.add_post("/_sim/prices", prices)
    app.router.add_post("/_sim/step", step)
    app.router.add_post("/_sim/faults", faults)
    app.router.add_post("/_sim/reset", reset)
    app.router.add_get("/_sim/state", state)
    app.router.add_post("/_sim/clock", clock)
    app.router.add_get("/_sim/clock", read_clock)
    app.router.add_post("/_sim/holdings", holdings)
    app.router.add_post("/_sim/orders/external", external)


__all__ = ["add_control_routes"]
