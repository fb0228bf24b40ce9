"""The simulator server: wires the components into one aiohttp application on loopback.

``async with SimServer(config) as sim:`` serves until the block ends; ``SimServer.run_in_thread``
does the same on a private event loop in a background thread, for synchronous callers such as
the official (``requests``-based) ``kiteconnect`` client in tests.

Request path, outermost first: the lost-response dropper, Kite's error envelope, then — for Kite
routes only — injected faults (latency, 5xx, 429 storms) and the per-second rate limits by
endpoint class; handlers authenticate with :meth:`SimServer.require_auth` and count order quotas.

A housekeeping task ticks once a second: a random-walk price step (unless prices are still),
the trading-day machine's catch-up (:mod:`orderdesk.sim.days`, with ``market_hours="nse"``) and
the exchange's sweep (TTL lapses, AMO release).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, Self, TypeVar

import aiohttp
import structlog
from aiohttp import web

from orderdesk.domain.calendar import IST
from orderdesk.sim.alerts import AlertBook
from orderdesk.sim.authorisation import HoldingsAuthorisation
from orderdesk.sim.clock import SimClock
from orderdesk.sim.config import SimConfig
from orderdesk.sim.control import add_control_routes
from orderdesk.sim.core import Core
from orderdesk.sim.days import DayActions, TradingDays
from orderdesk.sim.envelope import RateLimitError, SimError, TokenError, error_middleware
from orderdesk.sim.exchange import Exchange
from orderdesk.sim.faults import Faults
from orderdesk.sim.followers import ClockFollowers
from orderdesk.sim.funds import Funds
from orderdesk.sim.gtt import GttBook
from orderdesk.sim.ids import IdGenerator
from orderdesk.sim.instruments import InstrumentMaster
from orderdesk.sim.market import MarketData
from orderdesk.sim.orders import TERMINAL, Order
from orderdesk.sim.portfolio import Portfolio
from orderdesk.sim.postbacks import PostbackSender
from orderdesk.sim.ratelimit import RateLimiter, classify
from orderdesk.sim.routes_alerts import add_alert_routes
from orderdesk.sim.routes_gtt import add_gtt_routes
from orderdesk.sim.routes_margins import add_margin_routes
from orderdesk.sim.routes_market import add_market_routes
from orderdesk.sim.routes_orders import LostResponse, add_order_routes
from orderdesk.sim.routes_portfolio import add_portfolio_routes
from orderdesk.sim.routes_session import add_session_routes
from orderdesk.sim.sessions import SessionStore
from orderdesk.sim.static_ip import StaticIpRule
from orderdesk.sim.ticker import TickerHub

T = TypeVar("T")

log = structlog.get_logger(__name__)

_BAD_TOKEN = "Incorrect `api_key` or `access_token`."  # noqa: S105 - an error text, not a secret
# Paths outside Kite's API: no injected faults and no rate limits there. The root path is the
# ticker's (an upgrade) or nothing (404).
_UNMETERED = ("/_sim/", "/ws", "/connect/")
_ROOT = "/"
Handler = Callable[[web.Request], Any]


def _postback_status(order: Order) -> str:
    # Postbacks speak only four statuses; everything short of final is an UPDATE.
    return str(order.status) if order.status in TERMINAL else "UPDATE"


class SimServer:
    """One simulator: components, the aiohttp app, and its lifecycle."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config = config or SimConfig()
        self.clock = SimClock()
        self.faults = Faults()
        self.faults.reset(config.seed)
        self.faults.update(dict(config.faults))
        self.ids = IdGenerator(config.seed)
        self.master = InstrumentMaster.load(config.instruments, calendar=config.calendar)
        self.market = MarketData(
            self.master,
            config.seed,
            clock=self.clock.now,
            # Nothing trades while the exchange is shut (one rule with order acceptance).
            session_open=lambda exchange: self.exchange.market_open(exchange),
        )
        self.sessions = SessionStore(config.api_key, config.api_secret, self.clock)
        self.limiter = RateLimiter(
            enabled=config.rate_limits,
            orders_per_second=config.orders_per_second,
            orders_per_minute=config.orders_per_minute,
            orders_per_day=config.orders_per_day,
            # The daily cap follows the simulated clock, so a moved clock starts a new day.
            wall=lambda: self.clock.now().replace(tzinfo=IST).timestamp(),
        )
        self.portfolio = Portfolio(self.market.last_price)
        self.authorisation = HoldingsAuthorisation(
            required=config.holdings_authorisation,
            portfolio=self.portfolio,
            today=lambda: self.days.trading_day() or self.clock.now().date(),
        )
        self.exchange = Exchange(
            config=config,
            clock=self.clock,
            ids=self.ids,
            instruments=self.master,
            prices=self.market,
            portfolio=self.portfolio,
            faults=self.faults,
            authorisation=self.authorisation,
        )
        self.funds = Funds(
            opening_cash=config.opening_cash,
            exchange=self.exchange,
            portfolio=self.portfolio,
            instruments=self.master,
            prices=self.market,
        )
        self.exchange.bind_funds(self.funds.available)
        self.gtt = GttBook(
            clock=self.clock,
            ids=self.ids,
            exchange=self.exchange,
            prices=self.market,
            app_id=config.effective_app_id,
        )
        self.ticker = TickerHub(self.market, self._authenticate, self.faults)
        self.postbacks = PostbackSender(
            config.postback_url,
            config.api_secret,
            aiohttp.ClientSession,
            faults=self.faults,
            app_id=config.effective_app_id,
        )
        self.market.add_price_listener(self.exchange.on_prices)
        self.market.add_price_listener(self.gtt.on_prices)
        # Alerts, like GTTs, outlive trading days: the rollover never touches them.
        self.alerts = AlertBook(
            clock=self.clock,
            exchange=self.exchange,
            quotes=self.market,
            instruments=self.master,
            seed=config.seed,
        )
        self.market.add_price_listener(self.alerts.on_prices)
        self.exchange.add_listener(self._publish)
        self.days = TradingDays(
            config.calendar,
            self.clock.now,
            DayActions(
                clock=self.clock,
                master=self.master,
                market=self.market,
                exchange=self.exchange,
                portfolio=self.portfolio,
                funds=self.funds,
                gtt=self.gtt,
                calendar=config.calendar,
            ),
            enabled=config.trading_days,
        )
        self.core = Core(
            config=config,
            clock=self.clock,
            ids=self.ids,
            faults=self.faults,
            sessions=self.sessions,
            limiter=self.limiter,
            exchange=self.exchange,
            portfolio=self.portfolio,
            authorisation=self.authorisation,
            funds=self.funds,
            gtt=self.gtt,
            days=self.days,
            require_auth=self.require_auth,
            static_ip=StaticIpRule(config.allowed_ips),
            followers=ClockFollowers(),
        )
        self._runner: web.AppRunner | None = None
        self._housekeeping: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.port = config.port

    def __repr__(self) -> str:
        return f"SimServer(rest_root={self.rest_root!r})"

    # -- addresses ----------------------------------------------------------------------------

    @property
    def rest_root(self) -> str:
        """``http://HOST:PORT`` — pass as ``KiteConnect(root=...)``."""
        return f"http://{self._host_for_url()}:{self.port}"

    @property
    def ws_url(self) -> str:
        """``ws://HOST:PORT/ws`` — pass as ``KiteTicker(root=...)``; ``ws://HOST:PORT``, the
        root path Kite's own ticker is served at, works too."""
        return f"ws://{self._host_for_url()}:{self.port}/ws"

    def _host_for_url(self) -> str:
        host = self.config.host
        return f"[{host}]" if ":" in host else host

    # -- auth and updates ---------------------------------------------------------------------

    def _authenticate(self, api_key: str, access_token: str) -> str | None:
        if self.faults.expire_tokens:
            return None
        return self.sessions.user_for(api_key, access_token)

    async def require_auth(self, request: web.Request) -> str:
        """The user behind ``Authorization: token key:access_token``, or 403 TokenException."""
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        api_key, _, token = credentials.partition(":")
        if scheme.lower() != "token" or not api_key or not token:
            raise TokenError(_BAD_TOKEN)
        user_id = self._authenticate(api_key, token)
        if user_id is None:
            raise TokenError(_BAD_TOKEN)
        return user_id

    def issue_access_token(self, user_id: str | None = None) -> str:
        """A valid access token without the login dance (tests)."""
        return self.sessions.open_session(user_id or self.config.user_id).access_token

    def _publish(self, order: Order) -> None:
        # The ticker's order message carries the postback payload (KITE_API.md §10, §11).
        wire = order.to_wire()
        wire["user_id"] = order.user_id
        wire["unfilled_quantity"] = order.unfilled_quantity
        payload = self.postbacks.payload(wire)
        self.ticker.publish_order_update(order.user_id, payload)
        # Postbacks go only to the app that placed the order (WS updates cover all orders).
        if order.api_key == self.config.api_key:
            self.postbacks.send(payload | {"status": _postback_status(order)})

    def reset(self, seed: int | None = None) -> None:
        """Empty every book, switch faults off and reseed (sessions survive); the clock goes
        back to real time and the day machine starts from there with nothing processed."""
        seed = self.config.seed if seed is None else seed
        self.exchange.reset()
        self.portfolio.reset()
        self.authorisation.reset()
        self.funds.reset()
        self.gtt.reset()
        self.alerts.reset()
        self.faults.reset(seed)
        self.ids.reset(seed)
        self.limiter.reset()
        self.clock.reset()
        self.master.relist_all()
        self.market.reset(seed)
        self.days.restart()
        self.core.static_ip.reset()

    # -- the application ----------------------------------------------------------------------

    @web.middleware
    async def _drop_lost(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
        except LostResponse:
            # The work is done; close the socket so the client never sees a reply.
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError from None
        return response

    @web.middleware
    async def _kite_gate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path != _ROOT and not path.startswith(_UNMETERED):
            faults = self.faults
            if faults.latency_ms > 0:
                await asyncio.sleep(faults.latency_ms / 1000)
            if faults.roll(faults.error_5xx):
                raise SimError(
                    "Service unavailable (simulated).",
                    error_type="NetworkException",
                    http_status=503,
                )
            if faults.roll(faults.rate_limit_storm):
                raise RateLimitError()
            api_key = request.headers.get("Authorization", "").partition(" ")[2].partition(":")[0]
            self.limiter.check_request(api_key or "-", classify(request.method, path))
        response: web.StreamResponse = await handler(request)
        return response

    def build_app(self) -> web.Application:
        """The aiohttp application with every route mounted."""
        app = web.Application(middlewares=[self._drop_lost, error_middleware, self._kite_gate])
        add_session_routes(app, self.core)
        add_order_routes(app, self.core)
        add_portfolio_routes(app, self.core)
        add_gtt_routes(app, self.core)
        add_alert_routes(app, self.core, self.alerts)
        add_margin_routes(app, self.core)
        add_market_routes(app, self.market, self.master, self.require_auth, self.config.calendar)
        app.router.add_get("/ws", self.ticker.handle)
        app.router.add_route("*", _ROOT, self.ticker.handle_at_root)
        if self.config.is_loopback:
            add_control_routes(app, self.core, self.market, self.ticker, self.reset)
        return app

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and serve (``port=0`` picks a free port; :attr:`port` then tells which)."""
        self._loop = asyncio.get_running_loop()
        # Kite allows 1,000 keys in one /quote/ltp query string; aiohttp's default request-line
        # limit (8,190 bytes) would refuse such a request before it reaches the handler.
        self._runner = web.AppRunner(
            self.build_app(), access_log=None, handle_signals=False, max_line_size=65536
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        await self.ticker.start()
        self._housekeeping = asyncio.create_task(self._tick_forever(), name="sim-housekeeping")

    async def _tick_forever(self) -> None:
        interval = self.config.price_tick_interval
        while True:
            await asyncio.sleep(interval or 1.0)
            if self.core.followers.moving:
                continue  # a clock move runs its milestones once its followers have it
            # The milestones first: a price step before them would trade at the new time in
            # the old day (an AMO filled into the night's books before the 06:00 rollover).
            try:
                self.days.catch_up()
            except Exception:  # a bug in one milestone must not stop the housekeeping
                log.exception("sim.days.milestone_failed")
            if interval:
                self.market.step()
            self.exchange.sweep()

    async def close(self) -> None:
        """Stop serving and release everything."""
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
            self._housekeeping = None
        await self.ticker.close()
        await self.postbacks.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def serve_forever(self) -> None:
        """Start, then serve until cancelled (the CLI's main)."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()

    # -- threads ------------------------------------------------------------------------------

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the server's loop and return its result (thread-safe)."""
        loop = self._loop
        if loop is None:
            return fn(*args)
        try:
            if asyncio.get_running_loop() is loop:
                return fn(*args)
        except RuntimeError:
            pass

        async def run() -> T:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=30)

    @classmethod
    @contextlib.contextmanager
    def run_in_thread(cls, config: SimConfig | None = None) -> Iterator[SimServer]:
        """Serve on a private event loop in a daemon thread for the length of the block."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="orderdesk-sim", daemon=True)
        thread.start()
        server = cls(config)
        try:
            asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=30)
            yield server
        finally:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(server.close(), loop).result(timeout=30)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)
            loop.close()


__all__ = ["SimServer"]
