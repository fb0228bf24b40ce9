"""The simulator's live components in one place, handed to every route module.

Route modules take a :class:`Core` and close over it; they never import the server, so the
server can import them without cycles.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from orderdesk.sim.authorisation import HoldingsAuthorisation
from orderdesk.sim.clock import SimClock
from orderdesk.sim.config import SimConfig
from orderdesk.sim.days import TradingDays
from orderdesk.sim.envelope import InputError
from orderdesk.sim.exchange import Exchange
from orderdesk.sim.faults import Faults
from orderdesk.sim.followers import ClockFollowers
from orderdesk.sim.funds import Funds
from orderdesk.sim.gtt import GttBook
from orderdesk.sim.ids import IdGenerator
from orderdesk.sim.portfolio import Portfolio
from orderdesk.sim.ratelimit import RateLimiter
from orderdesk.sim.sessions import SessionStore
from orderdesk.sim.static_ip import StaticIpRule

RequireAuth = Callable[[web.Request], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Core:
    """What the REST handlers of the core work with."""

    config: SimConfig
    clock: SimClock
    ids: IdGenerator
    faults: Faults
    sessions: SessionStore
    limiter: RateLimiter
    exchange: Exchange
    portfolio: Portfolio
    authorisation: HoldingsAuthorisation
    funds: Funds
    gtt: GttBook
    days: TradingDays
    require_auth: RequireAuth
    static_ip: StaticIpRule
    followers: ClockFollowers


async def read_form(request: web.Request) -> dict[str, str]:
    """A form body (POST/PUT) or the query string (GET/DELETE) as plain strings.

    The official client sends DELETE parameters in the query and POST/PUT ones in the body; a
    few callers put them in the query for every method, so the query is read as a fallback.
    """
    values: dict[str, str] = dict(request.query)
    if request.method in ("POST", "PUT") and request.can_read_body:
        body = await request.post()
        for key, value in body.items():
            if not isinstance(value, str):
                raise InputError(f"Invalid `{key}`: files are not accepted.")
            values[key] = value
    return values


__all__ = ["Core", "RequireAuth", "read_form"]
