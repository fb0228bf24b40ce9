"""``KiteBroker``: the :class:`~orderdesk.ports.broker.Broker` the engine talks to for Kite.

It owns the REST client (with its own lean HTTP/1.1 connections,
:mod:`orderdesk.wire`) and an aiohttp session for the WebSocket ticker, reads the
access token from the secret store at start, and turns everything Kite says into broker-neutral
reports. Commands delegate to :class:`~orderdesk.brokers.kite.client.KiteRestClient`. Besides
the :class:`~orderdesk.ports.broker.Broker` port it offers every optional capability of
:mod:`orderdesk.ports.broker`: holdings, order history, charges, GTT triggers, the session and
postbacks.

The live stream (:meth:`KiteBroker.events`) comes from the ticker when ``stream = "ticker"``:
order updates become :class:`OrderStatusReport`s, ticks become :class:`PriceTick`s, and after
every (re)connection a gap-fill reads the order book and the trades over REST, so nothing
pushed while the socket was down is lost. The adapter maps and forwards: Kite's order updates
carry no trade ids, and reading the trades behind one is the engine's business (its news path
reads them, off the stream), so the pump that turns socket frames into events never waits for
REST and ticks never queue behind a trade read.
With ``stream = "poll"`` the same reads run on a timer instead.

The session is replaceable while running (:meth:`KiteBroker.renew_session`, the
:class:`~orderdesk.ports.broker.SessionControl` capability): Kite ends every access token at
06:00 IST and a person logs in each morning, so the new token reaches REST at once and the
ticker reconnects with it (its subscriptions carried over, the gap-fill run on connection). A
broker started with no token at all waits for one instead of failing. Duplicates are possible (a
gap-fill can repeat what the socket said); consumers apply updates monotonically, and identical
reports, reports that trail one already emitted (less filled, or open after final) and
already-seen trade ids are not emitted here (a bounded memory: the last 10,000 orders).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Coroutine, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import aiohttp
import structlog

from orderdesk.brokers.kite.client import KiteRestClient
from orderdesk.brokers.kite.config import ACCESS_TOKEN_SECRET, KiteConfig
from orderdesk.brokers.kite.errors import (
    MalformedResponse,
    TickerError,
    TickerTokenError,
    TokenException,
)
from orderdesk.brokers.kite.http import Limiter, default_session
from orderdesk.brokers.kite.mapping import order_update_to_report
from orderdesk.brokers.kite.postback import PostbackReceiver
from orderdesk.brokers.kite.preflight import RequestTimes, check_path
from orderdesk.brokers.kite.ratelimit import KiteRateLimiter
from orderdesk.brokers.kite.ticker import (
    Connected,
    Disconnected,
    KiteTicker,
    OrderUpdated,
    TickerConfig,
    TickerEvent,
    TicksReceived,
)
from orderdesk.brokers.kite.ticks import Mode
from orderdesk.domain.calendar import next_token_expiry
from orderdesk.domain.conversion import PositionConversion
from orderdesk.domain.reports import (
    Charges,
    Fill,
    GttTrigger,
    HoldingReport,
    InstrumentInfo,
    MarginsReport,
    OrderMargin,
    OrderStatusReport,
    PositionReport,
    PriceAlert,
    Quote,
)
from orderdesk.domain.status import BrokerStatus
from orderdesk.domain.values import Exchange, InstrumentKey, Variety
from orderdesk.errors import BrokerError, InputRejected, OrderDeskError
from orderdesk.ports.broker import (
    AutosliceReply,
    BrokerEvent,
    ConnectionState,
    ConnectionStateChanged,
    HoldingsAuthorisation,
    OrderChanges,
    PlaceOrder,
    PriceTick,
    SliceResult,
    WebhookHandler,
)
from orderdesk.ports.clock import Clock, SystemClock
from orderdesk.ports.preflight import OrderLimits, Preflight
from orderdesk.ports.secrets import SecretStore
from orderdesk.redaction import register_secret
from orderdesk.wire import Trace

log = structlog.get_logger(__name__)


_FINAL = frozenset({BrokerStatus.COMPLETE, BrokerStatus.CANCELLED, BrokerStatus.REJECTED})
RECENT_ORDERS = 10_000
"""Orders whose last report is remembered for de-duplication (Kite's daily cap is 5,000)."""
RECENT_TRADES = 50_000
NUDGE_SPACING_SECONDS = 1.0
"""The least time between two reads of one order's history that its postbacks ask for: a
postback replayed without end costs one read a second, not Kite's whole budget of reads."""
POLL_MARGIN_SECONDS = 5.0
"""What the poll stream may take beyond its interval to deliver a change: the poll's own reads
of the books, and Kite's times, which are in whole seconds."""

K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    """A mapping that forgets its oldest entries beyond ``size`` (de-duplication that must not
    grow with the months a process runs)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self._size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class _End:
    """Marks the end of the event stream."""


def _trails(report: OrderStatusReport, previous: OrderStatusReport) -> bool:
    """True when ``report`` is older news than ``previous``: less filled, or open after final."""
    if report.filled_quantity != previous.filled_quantity:
        return report.filled_quantity < previous.filled_quantity
    return previous.status in _FINAL and report.status not in _FINAL


class KiteBroker:
    """Kite Connect behind the broker-neutral interface. Start it, use it, close it once."""

    name = "kite"
    max_slices = 10
    """Kite's autoslice places at most 10 children (KITE_API.md §4.3)."""

    def __init__(
        self,
        config: KiteConfig,
        secrets: SecretStore,
        *,
        limiter: Limiter | None = None,
        trace: Trace | None = None,
        clock: Clock | None = None,
        ticker_config: TickerConfig | None = None,
    ) -> None:
        self.config = config
        self._secrets = secrets
        self._limiter = limiter
        # Only Kite's own limiter keeps the day's placement count (NoLimits keeps no cap).
        self._quota = limiter if isinstance(limiter, KiteRateLimiter) else None
        self._counting = asyncio.Lock()
        self._trace = trace
        self._clock = clock or SystemClock()
        self._ticker_config = ticker_config or TickerConfig(url=config.ws_url)
        self._session: aiohttp.ClientSession | None = None
        self._client: KiteRestClient | None = None
        self._ticker: KiteTicker | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._queue: asyncio.Queue[BrokerEvent | _End] = asyncio.Queue()
        # Bounded: a day's orders fit, and what falls out is only de-duplication the engine
        # repeats anyway (it applies news monotonically, trades by id).
        self._last_report: Recent[str, OrderStatusReport] = Recent(RECENT_ORDERS)
        self._seen_trades: Recent[str, bool] = Recent(RECENT_TRADES)
        self._keys_by_token: dict[int, InstrumentKey] = {}
        self._price_keys: list[InstrumentKey] = []
        self._postbacks: PostbackReceiver | None = None
        self._nudged: dict[str, asyncio.Task[None]] = {}
        """Orders whose history a postback is having read, by Kite's order id."""
        self._nudged_again: set[str] = set()
        """Of those, the ones a later postback asks to read once more."""
        self.nudge_spacing = NUDGE_SPACING_SECONDS
        self._sent = RequestTimes()
        self._token: str | None = None
        self._started = False
        self._closed = False

    def __repr__(self) -> str:
        return f"KiteBroker(root={self.config.root!r}, stream={self.config.stream})"

    @property
    def request_timeout(self) -> float:
        """The longest one REST request to Kite may take (``[kite] timeout_seconds``): a
        stopping API lets a request in flight finish for this long (``runtime._stop_grace``)."""
        return self.config.timeout_seconds

    @property
    def rest(self) -> KiteRestClient:
        """The REST client, for Kite-specific calls the Broker interface does not cover."""
        if self._client is None:
            raise RuntimeError("KiteBroker is not started")
        return self._client

    @property
    def ticker(self) -> KiteTicker:
        """The WebSocket ticker, for subscriptions in modes other than ``subscribe_prices``' LTP.

        Its subscriptions are restored on every reconnect; :meth:`events` reads its events, so
        do not read ``ticker.events()`` as well.
        """
        if self._ticker is None:
            raise RuntimeError('KiteBroker has no ticker: not started, or stream = "poll"')
        return self._ticker

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Read the access token, open the REST client and start the live stream. Idempotent.

        Without a stored token it starts anyway, with no session: every call is refused until
        :meth:`renew_session` brings one (the morning login reaching a running desk).
        """
        if self._closed:
            raise RuntimeError("this KiteBroker is closed; create a new one")
        if self._started:
            return
        self._token = self._secrets.get(ACCESS_TOKEN_SECRET) or None
        # The ticker's session, like REST's connections, leaves from [kite] source_address on
        # [kite] ip_family.
        self._session = default_session(self.config)
        self._client = KiteRestClient(
            self.config,
            access_token=self._token,
            limiter=self._limiter,
            trace=self._trace,
            now=self._clock.now,  # the instrument day turns on the desk's clock
        )
        await self._client.open()
        self._started = True
        if self._quota is not None:
            # Kite's day, not the machine's: the simulator's under clock = "simulator".
            self._quota.count_days_by(lambda: self._clock.now().timestamp())
        if self._token is None:
            self._connection(
                ConnectionState.STOPPED,
                f"no access token in the secret store under {ACCESS_TOKEN_SECRET}",
                token_refused=True,
            )
            return
        await self._count_the_book(settle=False)
        self._start_stream(self._token)

    def _start_stream(self, token: str) -> None:
        if self.config.stream == "ticker":
            previous = self._ticker
            ticker = self._ticker = KiteTicker(
                self.config.api_key,
                token,
                session=self.ticker_session,
                gap_fill=self._gap_fill,
                config=self._ticker_config,
            )
            if previous is not None:
                # Recorded before the first connection, sent when it opens.
                ticker.restore(previous.subscriptions)
            ticker.start()
            self._spawn(self._pump_ticker(ticker), "kite-ticker-pump")
        else:
            self._spawn(self._poll_forever(), "kite-poller")

    @property
    def ticker_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("KiteBroker is not started")
        return self._session

    # -- the session --------------------------------------------------------------------------

    def has_session(self) -> bool:
        """Whether an access token is in use (Kite may still refuse it)."""
        return self._token is not None

    def session_expiry(self, started: datetime) -> datetime:
        """Kite ends every access token at the next 06:00 IST."""
        return next_token_expiry(started)

    async def renew_session(self, credentials: str) -> None:
        """Use a fresh access token from now on: REST at once, the stream by reconnecting.

        Kite is asked whose token it is first (its profile call, on a client of its own): a
        token it refuses raises :class:`TokenException` and one it cannot be asked about a
        transport error, with nothing changed, so a mis-pasted token never replaces a working
        session. The token is also kept in the secret store, so the next start uses it.
        """
        if not self._started or self._closed:
            raise RuntimeError("KiteBroker is not running")
        token = credentials.strip()
        if not token:
            raise ValueError("an access token is required")
        register_secret(token)
        async with KiteRestClient(
            self.config, access_token=token, limiter=self._limiter, trace=self._trace
        ) as probe:
            await probe.profile()
        try:
            self._secrets.set(ACCESS_TOKEN_SECRET, token)
        except OrderDeskError as exc:
            log.warning("kite.token_not_stored", error=str(exc))
        self._token = token
        self.rest.set_access_token(token)
        # A new session is a new trading day at Kite (its books start empty): what was seen of
        # the old one cannot come again, so memory keeps a day, not the months of the process.
        self._last_report.clear()
        self._seen_trades.clear()
        old = self._ticker
        self._tasks = [task for task in self._tasks if not task.done()]
        if self.config.stream == "ticker" or not self._tasks:
            self._start_stream(token)
        if old is not None:
            await old.close()

    async def close(self) -> None:
        """Stop the stream and release the session; ``events()`` ends after what it holds."""
        if self._closed:
            return
        self._closed = True
        if self._ticker is not None:
            await self._ticker.close()
        tasks = [*self._tasks, *self._nudged.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.close()
        if self._session is not None:
            await self._session.close()
        self._queue.put_nowait(_End())

    async def __aenter__(self) -> KiteBroker:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=name))

    # -- commands -----------------------------------------------------------------------------

    async def place_order(self, command: PlaceOrder) -> str:
        await self._know_the_days_placements()
        self._sent.note()
        return await self.rest.place_order(command)

    async def place_autoslice(self, command: PlaceOrder) -> AutosliceReply:
        await self._know_the_days_placements()
        self._sent.note()  # one order request, like any placement (the doctor counts them)
        result = await self.rest.place_autoslice_order(command)
        if self._quota is not None:
            self._quota.count_slices(len(result.slices))
        return AutosliceReply(
            result.parent_order_id,
            tuple(
                SliceResult(
                    s.order_id,
                    None if s.error is None else f"{type(s.error).__name__}: {s.error}",
                )
                for s in result.slices
            ),
        )

    async def modify_order(
        self,
        broker_order_id: str,
        variety: Variety,
        changes: OrderChanges,
        *,
        parent_order_id: str | None = None,
    ) -> None:
        self._sent.note()
        await self.rest.modify_order(
            broker_order_id, variety, changes, parent_order_id=parent_order_id
        )

    async def cancel_order(
        self, broker_order_id: str, variety: Variety, *, parent_order_id: str | None = None
    ) -> None:
        self._sent.note()
        await self.rest.cancel_order(broker_order_id, variety, parent_order_id=parent_order_id)

    # -- the day's placements -----------------------------------------------------------------

    async def _know_the_days_placements(self) -> None:
        """Before a day's first placement, take its order book into the day's count (once)."""
        if self._quota is not None and not self._quota.book_counted():
            await self._count_the_book(settle=True)

    async def _count_the_book(self, *, settle: bool) -> None:
        """Count the day's order book into Kite's daily cap (``[kite] orders_per_day``).

        Kite counts the account's placements, not this process's: every row of the day's book
        spent the cap, whether placed before a restart or from Kite web (the doctor counts
        "today" the same way). A book that cannot be read leaves the count to this process's
        own placements, logged. ``settle`` counts the day as read even so, so a placement waits
        for one read of the book a day, not one each; the read at start does not settle, so the
        day's first placement tries again.
        """
        quota = self._quota
        if quota is None:
            return
        async with self._counting:
            if quota.book_counted():
                return  # a concurrent placement read it meanwhile
            try:
                placements = len(await self.rest.orders(patient=False))
            except BrokerError as exc:
                log.warning(
                    "kite.day_placements_unread",
                    error=f"{type(exc).__name__}: {exc}",
                    counting="this process's placements only",
                )
                if settle:
                    quota.count_book(None)
                return
            quota.count_book(placements)
            log.info(
                "kite.day_placements_read",
                in_book=placements,
                cap=quota.limits.orders_per_day,
            )

    # -- pre-flight ---------------------------------------------------------------------------

    def order_limits(self) -> OrderLimits:
        """``[kite] orders_per_second``, ``orders_per_minute`` and ``orders_per_day``."""
        config = self.config
        return OrderLimits(
            per_second=config.orders_per_second,
            per_minute=config.orders_per_minute,
            per_day=config.orders_per_day,
        )

    async def preflight(self) -> Preflight:
        """Where this adapter leaves from, whether Kite takes order writes from there (a
        cancel of an order that cannot exist), Kite's clock and the order rate spent."""
        return await check_path(self.rest, self.config, self._sent)

    # -- reads --------------------------------------------------------------------------------

    async def orders(self) -> list[OrderStatusReport]:
        return await self.rest.orders()

    async def order_history(self, broker_order_id: str) -> list[OrderStatusReport]:
        return await self.rest.order_history(broker_order_id)

    async def trades(self) -> list[Fill]:
        return await self.rest.trades()

    async def order_trades(self, broker_order_id: str) -> list[Fill]:
        return await self.rest.order_trades(broker_order_id)

    async def positions(self) -> list[PositionReport]:
        return (await self.rest.positions()).net

    async def holdings(self) -> list[HoldingReport]:
        return await self.rest.holdings()

    async def convert_position(self, conversion: PositionConversion) -> None:
        await self.rest.convert_position(conversion)

    async def authorise_holdings(
        self, quantities: Mapping[InstrumentKey, int]
    ) -> HoldingsAuthorisation:
        # Kite names a holding by its ISIN, which only the holdings rows carry.
        isins: dict[str, int] = {}
        if quantities:
            held = {h.instrument: h.isin for h in await self.rest.holdings() if h.isin}
            for instrument, quantity in quantities.items():
                if instrument not in held:
                    raise InputRejected(f"{instrument} is not in the holdings")
                isins[held[instrument]] = quantity
        request_id = await self.rest.authorise_holdings(isins)
        root = self.config.login_page_root().rstrip("/")
        page = f"{root}/connect/portfolio/authorise/holdings/{self.config.api_key}/{request_id}"
        return HoldingsAuthorisation(request_id, page)

    async def margins(self) -> MarginsReport:
        return await self.rest.margins()

    async def quotes(self, instruments: Sequence[InstrumentKey]) -> dict[InstrumentKey, Quote]:
        return await self.rest.quote(instruments)

    async def instruments(self, exchange: Exchange | None = None) -> list[InstrumentInfo]:
        return await self.rest.instruments(exchange)

    async def order_margins(self, commands: Sequence[PlaceOrder]) -> list[OrderMargin]:
        return await self.rest.order_margins(commands)

    async def order_charges(self, reports: Sequence[OrderStatusReport]) -> list[Charges]:
        return await self.rest.order_charges(reports)

    async def gtt_triggers(self) -> list[GttTrigger]:
        return await self.rest.gtt_triggers()

    async def place_gtt(self, trigger: GttTrigger) -> int:
        return await self.rest.place_gtt(trigger)

    async def modify_gtt(self, trigger_id: int, trigger: GttTrigger) -> None:
        await self.rest.modify_gtt(trigger_id, trigger)

    async def delete_gtt(self, trigger_id: int) -> None:
        await self.rest.delete_gtt(trigger_id)

    async def alerts(self) -> list[PriceAlert]:
        return await self.rest.alerts()

    async def create_alert(self, alert: PriceAlert) -> PriceAlert:
        return await self.rest.create_alert(alert)

    async def modify_alert(self, alert_id: str, alert: PriceAlert) -> PriceAlert:
        return await self.rest.modify_alert(alert_id, alert)

    async def delete_alert(self, alert_id: str) -> None:
        await self.rest.delete_alert(alert_id)

    async def alert_order_ids(self, alert_id: str) -> list[str]:
        return await self.rest.alert_order_ids(alert_id)

    # -- postbacks ----------------------------------------------------------------------------

    def webhooks(self) -> Mapping[str, WebhookHandler]:
        """Kite's postbacks, verified with the api_secret: each has its order read from Kite
        into the same stream as the ticker's updates (:meth:`_on_postback`).

        Empty when no api_secret is in the secret store (nothing could be verified).
        """
        secret = self._secrets.get(self.config.postback_secret)
        if not secret:
            return {}
        if self._postbacks is None:
            self._postbacks = PostbackReceiver(secret, self._on_postback)
        return {"kite": self._postbacks.receive}

    async def _on_postback(self, payload: dict[str, Any]) -> None:
        """A verified postback says that one order changed, not how: Kite's checksum signs the
        order id and its timestamp only, so a captured postback replayed with another status or
        filled quantity verifies all the same. What the order is now is read from Kite (its
        history), off the webhook's reply, and goes out as a socket update does.

        Postbacks for an order whose read is under way cost one more read after it (it may have
        left before their change), spaced by ``nudge_spacing``, not one each.
        """
        order_id = payload["order_id"]
        if order_id in self._nudged:
            self._nudged_again.add(order_id)
            return
        if self._client is None or self._closed:
            log.warning("kite.postback_unread", order_id=order_id, reason="broker not running")
            return
        self._nudged[order_id] = asyncio.create_task(
            self._read_nudged(order_id), name=f"kite-postback-{order_id}"
        )

    async def _read_nudged(self, order_id: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                self._nudged_again.discard(order_id)
                started = loop.time()
                await self._read_order(order_id)
                if order_id not in self._nudged_again:
                    return
                await asyncio.sleep(max(0.0, started + self.nudge_spacing - loop.time()))
        finally:
            del self._nudged[order_id]
            self._nudged_again.discard(order_id)

    async def _read_order(self, order_id: str) -> None:
        try:
            history = await self.rest.order_history(order_id)
        except BrokerError as exc:
            # Dropped: the stream, the poll or the next reconciliation reads what this would have.
            log.warning(
                "kite.postback_read_failed",
                order_id=order_id,
                error=f"{type(exc).__name__}: {exc}",
            )
            return
        if history:
            # The same path as a socket update: duplicates and older snapshots are dropped there.
            self._report(history[-1])

    # -- the live stream ----------------------------------------------------------------------

    def stream_delay(self) -> float:
        """Seconds within which :meth:`events` delivers a change at Kite (the
        :class:`~orderdesk.ports.broker.DelayedStream` capability): the ticker pushes it at
        once; the poll stream finds it at its next read of the books."""
        if self.config.stream == "ticker":
            return 0.0
        return self.config.poll_interval_seconds + POLL_MARGIN_SECONDS

    async def subscribe_prices(self, instruments: Sequence[InstrumentKey]) -> None:
        """Stream last prices of ``instruments`` (tokens come from today's instrument dump)."""
        tokens = []
        for key in instruments:
            info = await self.rest.instrument(key)
            if info is None:
                raise ValueError(f"{key} is not in today's instrument list")
            self._keys_by_token[info.instrument_token] = key
            tokens.append(info.instrument_token)
        self._price_keys = list(dict.fromkeys([*self._price_keys, *instruments]))
        if self._ticker is not None:
            await self._ticker.subscribe(tokens, Mode.LTP)

    async def events(self) -> AsyncIterator[BrokerEvent]:
        """Order reports, fills, prices and connection changes, until :meth:`close`."""
        while True:
            item = await self._queue.get()
            if isinstance(item, _End):
                self._queue.put_nowait(item)
                return
            yield item

    def _now(self) -> datetime:
        return self._clock.now()

    def _connection(
        self, state: ConnectionState, detail: str = "", *, token_refused: bool = False
    ) -> None:
        self._queue.put_nowait(
            ConnectionStateChanged(
                state=state, detail=detail, at=self._now(), token_refused=token_refused
            )
        )

    def _report(self, report: OrderStatusReport) -> None:
        """Emit ``report`` unless it repeats or trails the last one seen for its order.

        The gap-fill reads the book while socket updates keep arriving, so its snapshot of an
        order can be older than an update already emitted (or the reverse). Emitting the older
        one would make every consumer log a step backwards, and the newer one would then be
        emitted a second time. The adapter only maps and forwards: the trades behind a report
        are the engine's to read, so nothing here waits for REST.
        """
        previous = self._last_report.get(report.broker_order_id)
        if previous == report or (previous is not None and _trails(report, previous)):
            return
        self._last_report.put(report.broker_order_id, report)
        self._queue.put_nowait(report)

    def _fills(self, fills: Sequence[Fill]) -> None:
        for fill in fills:
            if self._seen_trades.get(fill.trade_id) is None:
                self._seen_trades.put(fill.trade_id, True)
                self._queue.put_nowait(fill)

    async def _gap_fill(self) -> None:
        """Read the book and the trades over REST: what the socket may have missed."""
        for report in await self.rest.orders():
            self._report(report)
        self._fills(await self.rest.trades())

    def _on_ticker_event(self, event: TickerEvent) -> None:
        if isinstance(event, OrderUpdated):
            try:
                report = order_update_to_report(event.order)
            except MalformedResponse as exc:
                log.warning("kite.order_update_unreadable", error=str(exc))
                return
            self._report(report)
        elif isinstance(event, TicksReceived):
            for tick in event.ticks:
                self._queue.put_nowait(
                    PriceTick(
                        instrument_token=tick.instrument_token,
                        last_price=tick.to_decimal(tick.last_price),
                        instrument=self._keys_by_token.get(tick.instrument_token),
                        at=getattr(tick, "exchange_time", None),
                    )
                )
        elif isinstance(event, Connected):
            self._connection(ConnectionState.CONNECTED, f"connection {event.connection}")
        elif isinstance(event, Disconnected):
            self._connection(ConnectionState.DISCONNECTED, event.reason)

    async def _pump_ticker(self, ticker: KiteTicker) -> None:
        self._connection(ConnectionState.CONNECTING)
        try:
            async for event in ticker.events():
                if ticker is not self._ticker:
                    return  # replaced by a ticker on a fresh session
                self._on_ticker_event(event)
        except TickerTokenError:
            self._connection(
                ConnectionState.STOPPED, "the access token was refused", token_refused=True
            )
        except TickerError as exc:
            self._connection(ConnectionState.STOPPED, str(exc))

    async def _poll_forever(self) -> None:
        """The stream of a desk without the ticker (Kite's Personal plan): the order book,
        trades and prices read every ``poll_interval_seconds``. While the reads fail it is
        down, as a socket that dropped is, so the desk says so (health, doctor, the "still
        down" alert) instead of showing the last prices as live and its P&L as known."""
        self._connection(ConnectionState.CONNECTED, "polling the order book")
        failing = False
        while True:
            try:
                await self._gap_fill()
                if self._price_keys:
                    for key, quote in (await self.rest.ltp(self._price_keys)).items():
                        self._queue.put_nowait(
                            PriceTick(
                                instrument_token=quote.instrument_token,
                                last_price=quote.last_price,
                                instrument=key,
                                at=self._now(),
                            )
                        )
            except TokenException:
                self._connection(
                    ConnectionState.STOPPED,
                    "the access token was refused",
                    token_refused=True,
                )
                return
            except BrokerError as exc:
                log.warning("kite.poll_failed", error=type(exc).__name__)
                if not failing:
                    failing = True
                    self._connection(
                        ConnectionState.DISCONNECTED,
                        f"polling the order book fails ({type(exc).__name__}: {exc})",
                    )
            else:
                if failing:
                    failing = False
                    self._connection(ConnectionState.CONNECTED, "polling the order book again")
            await asyncio.sleep(self.config.poll_interval_seconds)


__all__ = ["KiteBroker"]
