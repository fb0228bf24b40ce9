"""A Python client for a running desk's HTTP API (``orderdesk run``).

Strategy processes other than the daemon submit through it; the CLI's trading commands are thin
wrappers around it. Every failure is a :class:`DeskClientError` with the API's own words
(arguments no request can be made of raise :class:`~orderdesk.domain.errors.ValidationError`
first, one line naming the field, and nothing is sent)::

    async with DeskClient.from_settings(load_settings()) as desk:
        reply = await desk.submit(Signal(instrument=InstrumentKey.parse("NSE:INFY"), ...))
        order = await desk.wait(reply.order.order_id)  # until filled, cancelled or rejected

(``examples/client_strategy.py`` is the whole of it.) :meth:`DeskClient.from_settings` finds the
desk that runs with the same config directory: its API token, and the address it announced
(:mod:`orderdesk.desk_address`), else ``[api]``'s.

A signal refused because the broker session is gone carries ``error == "session_expired"``
(``"day_not_open"`` before today's trading day could be opened): nothing was recorded, so the
same signal, sent again after the login, is placed once. A modify or cancel is refused the same
way, and one the broker itself refused for want of a session carries ``"broker_session"``: the
order stands as it was. :attr:`DeskClientError.retry_after_login` says which errors these are,
and :attr:`DeskClientError.transient` which are failures to answer (the broker's 5xx, an event
log that cannot be written, a desk stopping: ``desk_closed``), not refusals: the same request
may succeed when sent again. A request the desk was carrying out as it stopped is answered
``desk_closed`` too: its outcome is unknown, and the same signal id sent again is placed once.
A :meth:`DeskClient.wait` whose desk stops or dies raises :class:`DeskUnavailable`, as does any
request to an address where a server that is no desk answers (a 4xx without the API's ``error``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from datetime import date
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

import pydantic
from pydantic import BaseModel, TypeAdapter

from orderdesk.api.authorisation_schemas import HoldingsAuthorisationOut, HoldingsAuthoriseIn
from orderdesk.api.book_schemas import DayChargesOut, FundsOut, TradeOut
from orderdesk.api.convert_schemas import ConvertIn, ConvertOut
from orderdesk.api.exit_schemas import ExitIn, ExitOut
from orderdesk.api.schemas import (
    DayDetailOut,
    DayOut,
    HealthOut,
    HoldingOut,
    KillSwitchOut,
    ModifyIn,
    OrderOut,
    PendingOut,
    PositionOut,
    ReconcileOut,
    SessionOut,
    SignalIn,
    StrategyOut,
    SubmitOut,
)
from orderdesk.api.schemas_doctor import DoctorOut
from orderdesk.api_token import read_token
from orderdesk.config import Settings
from orderdesk.desk_address import ADDRESS_FILE_NAME, running_desk
from orderdesk.domain.errors import ValidationError
from orderdesk.domain.signal import DEFAULT_STRATEGY, Signal
from orderdesk.domain.status import TERMINAL
from orderdesk.domain.values import OrderType
from orderdesk.errors import OrderDeskError
from orderdesk.redaction import register_secret
from orderdesk.wire import ConnectFailed, ConnectTimeout, Origin, WireError, target

if TYPE_CHECKING:
    # Loaded by the event stream alone (``wait``): requests go over orderdesk.wire, and a CLI
    # command that never waits skips aiohttp's import (about 0.2 s of its start).
    import aiohttp

M = TypeVar("M")
R = TypeVar("R", bound=BaseModel)
_SUBMIT = TypeAdapter(SubmitOut)
_JSON = {"Content-Type": "application/json"}
_ORDERS = TypeAdapter(list[OrderOut])
_ORDER = TypeAdapter(OrderOut)
_POSITIONS = TypeAdapter(list[PositionOut])
_HEALTH = TypeAdapter(HealthOut)
_DOCTOR = TypeAdapter(DoctorOut)
_KILL = TypeAdapter(KillSwitchOut)
_PENDINGS = TypeAdapter(list[PendingOut])
_PENDING = TypeAdapter(PendingOut)
_EXIT = TypeAdapter(ExitOut)
_CONVERT = TypeAdapter(ConvertOut)
_RECONCILE = TypeAdapter(ReconcileOut)
_STRATEGIES = TypeAdapter(list[StrategyOut])
_SESSION = TypeAdapter(SessionOut)
_DAYS = TypeAdapter(list[DayOut])
_DAY = TypeAdapter(DayDetailOut)
_HOLDINGS = TypeAdapter(list[HoldingOut])
_TRADES = TypeAdapter(list[TradeOut])
_FUNDS = TypeAdapter(FundsOut)
_CHARGES = TypeAdapter(DayChargesOut)
_AUTHORISATION = TypeAdapter(HoldingsAuthorisationOut)
RETRY_AFTER_LOGIN = frozenset({"session_expired", "day_not_open", "broker_session"})
"""The API's ``error`` words for a request refused for want of a broker session (or of an open
trading day): ``session_expired`` and ``day_not_open`` before anything was recorded,
``broker_session`` when the broker refused the session on the request itself (an order it was
to modify or cancel stays as it was). Send the same request again once a login has reached the
desk (or the day has opened)."""
TRANSIENT = frozenset({"broker_unavailable", "store_unavailable", "desk_closed"})
"""The API's ``error`` words for a request the desk could not carry out now (the broker failed
to answer, the event log cannot be written, the desk is stopping): a failure, not a refusal."""
DEFAULT_TOTAL_SECONDS = 60.0
"""A request's whole time, unless the client is given an ``aiohttp.ClientTimeout``."""
# Connecting alone, not the wait for a free pooled connection (aiohttp's ``connect`` counts
# that too): a strategy with hundreds of requests in flight would time out in its own queue
# while the desk is healthy (seen with 3 × 600 concurrent submissions).
DEFAULT_CONNECT_SECONDS = 5.0
KEEPALIVE_SECONDS = 4.0
"""A kept-alive connection idle longer is not reused: uvicorn closes it after 5 s."""


def desk_url(settings: Settings) -> str:
    """Where the desk of these settings answers: the address a running desk of the same config
    directory announced (its port may be the system's choice).

    Raises :class:`DeskUnavailable` when none is running. Never ``[api]``'s port on its own
    word: with the desk stopped, whatever listens there is not the desk, and every request
    would hand it the API token, which the desk accepts again when it starts."""
    running = running_desk(settings.config_dir)
    if running is None:
        raise DeskUnavailable(
            f"no desk is running with this config: none announced its address in "
            f"{settings.config_dir}; start one with `orderdesk run` (or pass --url)"
        )
    return running.url


class DeskClientError(OrderDeskError):
    """The API refused a request, or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: Mapping[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = dict(body or {})
        self.reason = reason or message
        """The refusal in one line without the HTTP status, as a person reads it (the check
        or field first: ``price: is required for a LIMIT order``)."""

    @property
    def error(self) -> str | None:
        """The API's machine word (``session_expired``, ``risk_denied``, ``not_found``…)."""
        word = self.body.get("error")
        return word if isinstance(word, str) else None

    @property
    def retry_after_login(self) -> bool:
        """Whether the same request may succeed once a login reaches the desk: it was refused
        for want of a broker session (or of an open day), and nothing was placed or changed."""
        return self.error in RETRY_AFTER_LOGIN

    @property
    def transient(self) -> bool:
        """Whether the desk failed to carry the request out rather than refused it (the
        broker did not answer, the log cannot be written): the same request may succeed
        when sent again."""
        return self.error in TRANSIENT


class DeskUnavailable(DeskClientError):
    """No desk answered at the desk's address: nothing did, or a server that is no desk.

    ``may_have_arrived``: the request may have reached the desk all the same (the connection
    broke after it was sent, or no answer came in time), so a write may have been carried
    out: a signal sent again with the same signal id is answered with its order, never placed
    twice; one sent under a new id may be a second order."""

    may_have_arrived: bool = False


class DeskAuthError(DeskClientError):
    """The token was missing or wrong (401)."""


class DeskClient:
    """An async client for one desk. Use as ``async with``; not reusable after close."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> None:
        """``timeout``: ``total`` bounds each request and ``sock_connect`` each connection
        (default :data:`DEFAULT_TOTAL_SECONDS` and :data:`DEFAULT_CONNECT_SECONDS`); the event
        stream is bounded in connecting only. ``session`` carries the event stream (default:
        one of the client's own, opened at the first wait)."""
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._session = session
        self._owns_session = session is None
        self._total = DEFAULT_TOTAL_SECONDS if timeout is None else timeout.total
        self._connect = (timeout.sock_connect if timeout else None) or DEFAULT_CONNECT_SECONDS
        self._wire: Origin | None = None
        """Requests and replies (the event stream stays on the aiohttp session)."""

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        url: str | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> Self:
        """A client of the desk that runs with these settings' config directory: its API token
        and its address (:func:`desk_url`, or ``url``).

        Raises :class:`DeskUnavailable` when no desk has run with that directory (there is no
        token yet), and :class:`~orderdesk.errors.ConfigError` when the token file is unsafe.
        """
        token = read_token(settings.config_dir)
        if token is None:
            raise DeskUnavailable(
                f"no API token in {settings.config_dir}: no desk has run with this config yet; "
                "start one with `orderdesk run` (or `orderdesk demo`)"
            )
        return cls(url or desk_url(settings), token, timeout=timeout)

    @property
    def base_url(self) -> str:
        return self._base

    def __repr__(self) -> str:  # the token stays out of reprs and tracebacks
        return f"DeskClient({self._base!r})"

    async def __aenter__(self) -> Self:
        self._wire = Origin(self._base, connect_timeout=self._connect, keepalive=KEEPALIVE_SECONDS)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._wire is not None:
            await self._wire.close()
            self._wire = None  # closed for good: a later call says so
        if self._owns_session and self._session is not None:
            await self._session.close()

    # -- trading -------------------------------------------------------------------------------

    async def submit(self, signal: Signal | SignalIn) -> SubmitOut:
        """Send one signal: ``outcome`` is ``submitted`` with the ``order`` (``existing`` when its
        signal id made that order before, of any day: nothing new placed), or
        ``pending_approval`` with the parked signal (``pending``) when its strategy waits for
        the operator. The same (strategy, signal id) again answers with the same order."""
        body = signal if isinstance(signal, SignalIn) else _signal_in(signal)
        # Serialised by pydantic straight to bytes, as the desk validates them: a strategy
        # pays this per signal (model_dump + aiohttp's json.dumps cost twice as much).
        data = body.model_dump_json(exclude_none=True).encode()
        return await self._call("POST", "/api/signals", _SUBMIT, data=data, headers=_JSON)

    async def wait(
        self,
        order_id: str,
        until: Callable[[OrderOut], bool] | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - mirrors OrderHandle.wait
    ) -> OrderOut:
        """Wait until ``until(order)`` holds (default: the order is done: filled, cancelled,
        rejected or lapsed) and return the order as it then is.

        Follows the desk's live stream (``GET /api/events``) instead of polling. No time limit
        unless ``timeout`` (seconds) is given: then ``TimeoutError``.
        """
        condition = until or (lambda order: order.status in TERMINAL)
        async with (
            asyncio.timeout(timeout),
            contextlib.aclosing(self._order_updates(order_id)) as updates,
        ):
            async for order in updates:
                if condition(order):
                    return order
        raise self._stream_ended()

    async def orders(
        self, *, strategy: str | None = None, signal_id: str | None = None
    ) -> list[OrderOut]:
        """Today's orders, newest first; only ``strategy``'s, or only what ``signal_id``
        became (with ``strategy``: on any trading day)."""
        params = {"strategy": strategy, "signal_id": signal_id}
        wanted = {name: value for name, value in params.items() if value is not None}
        return await self._call("GET", "/api/orders", _ORDERS, params=wanted)

    async def order_for_signal(self, strategy: str, signal_id: str) -> OrderOut | None:
        """The order that (``strategy``, ``signal_id``) became, of any trading day, or None:
        what a strategy that lost the reply to a submission asks before sending it again. A
        signal still waiting for approval has none yet (see :meth:`pending`)."""
        found = await self.orders(strategy=strategy, signal_id=signal_id)
        return found[0] if found else None

    async def order(self, order_id: str) -> OrderOut:
        return await self._call("GET", f"/api/orders/{order_id}", _ORDER)

    async def modify(
        self,
        order_id: str,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        order_type: OrderType | None = None,
    ) -> OrderOut:
        """New terms for a working order; those left out stay as the broker holds them."""
        changes = {
            "quantity": quantity,
            "price": price,
            "trigger_price": trigger_price,
            "order_type": order_type,
        }
        body = _request(ModifyIn, changes)
        return await self._call("PATCH", f"/api/orders/{order_id}", _ORDER, json=_dump(body))

    async def cancel(self, order_id: str) -> OrderOut:
        return await self._call("DELETE", f"/api/orders/{order_id}", _ORDER)

    async def cancel_all(self) -> list[OrderOut]:
        return await self._call("POST", "/api/orders/cancel-all", _ORDERS)

    async def exit_position(
        self,
        instrument: str,
        product: str,
        *,
        strategy: str = DEFAULT_STRATEGY,
        reprice_after_seconds: float | None = None,
        max_reprices: int | None = None,
        band_percent: Decimal | None = None,
        cancel_working: bool = True,
    ) -> ExitOut:
        """Flatten the broker's net position in ``instrument`` (``product``): a protected
        MARKET order the desk watches until it fills (re-priced within the band when it does
        not, then alerted; each setting left out is ``[exit]``'s). ``order`` is None when
        there is no position to exit. ``cancel_working``: first cancel the orders working in
        the line (listed in ``cancelled``); one that cannot be cancelled places nothing (a
        409 conflict naming it)."""
        body = _request(
            ExitIn,
            {
                "instrument": instrument,
                "product": product,
                "strategy": strategy,
                "reprice_after_seconds": reprice_after_seconds,
                "max_reprices": max_reprices,
                "band_percent": band_percent,
                "cancel_working": cancel_working,
            },
        )
        return await self._call("POST", "/api/positions/exit", _EXIT, json=_dump(body))

    async def positions(self) -> list[PositionOut]:
        return await self._call("GET", "/api/positions", _POSITIONS)

    async def convert_position(
        self,
        instrument: str,
        from_product: str,
        to_product: str,
        *,
        quantity: int | None = None,
        overnight: bool = False,
    ) -> ConvertOut:
        """Move the position in ``instrument`` from one product to another at the broker
        (all it has to convert, or ``quantity``; ``overnight``: the carried quantity), e.g.
        an MIS buy kept as CNC before the square-off. No order is placed."""
        body = _request(
            ConvertIn,
            {
                "instrument": instrument,
                "from_product": from_product,
                "to_product": to_product,
                "quantity": quantity,
                "overnight": overnight,
            },
        )
        return await self._call("POST", "/api/positions/convert", _CONVERT, json=_dump(body))

    async def strategies(self) -> list[StrategyOut]:
        """Orders and P&L attributed to each strategy."""
        return await self._call("GET", "/api/strategies", _STRATEGIES)

    # -- the session and the days --------------------------------------------------------------

    async def session(self) -> SessionOut:
        """The broker session's state and expiry, and the trading day the desk has open."""
        return await self._call("GET", "/api/session", _SESSION)

    async def renew_session(self, access_token: str) -> SessionOut:
        """Hand the day's access token to the running desk (what ``orderdesk login`` does)."""
        register_secret(access_token)
        body = {"access_token": access_token}  # checked by the API, which never echoes it
        return await self._call("POST", "/api/session", _SESSION, json=body)

    async def days(self, *, since: date | None = None, until: date | None = None) -> list[DayOut]:
        """Every trading day in the log, newest first, or those from ``since`` to ``until``
        (both included, either left open)."""
        params = {"since": since, "until": until}
        wanted = {name: value.isoformat() for name, value in params.items() if value is not None}
        return await self._call("GET", "/api/days", _DAYS, params=wanted)

    async def day(self, day: date) -> DayDetailOut:
        """One trading day in full: positions, orders, holdings."""
        return await self._call("GET", f"/api/days/{day.isoformat()}", _DAY)

    async def trades(
        self, *, day: date | None = None, since: date | None = None, until: date | None = None
    ) -> list[TradeOut]:
        """The desk's trades, newest first: today's; one trading day's (``day``); or those of
        the trading days from ``since`` to ``until`` (both included, either left open)."""
        params = {"day": day, "since": since, "until": until}
        wanted = {name: value.isoformat() for name, value in params.items() if value is not None}
        return await self._call("GET", "/api/trades", _TRADES, params=wanted)

    async def charges(self, day: date | None = None) -> DayChargesOut:
        """A trading day's charges (today's, or ``day``'s) from the broker's calculator, order by
        order, and the day's P&L before and after them."""
        params = {"day": day.isoformat()} if day is not None else {}
        return await self._call("GET", "/api/charges", _CHARGES, params=params)

    async def funds(self) -> FundsOut:
        """Funds and margins per segment, as the broker reports them now."""
        return await self._call("GET", "/api/funds", _FUNDS)

    async def holdings(self) -> list[HoldingOut]:
        """Delivered stock as the broker showed it when today's trading day opened."""
        return await self._call("GET", "/api/holdings", _HOLDINGS)

    async def authorise_holdings(
        self, holdings: Mapping[str, int | None] | None = None
    ) -> HoldingsAuthorisationOut:
        """Ask for today's authorisation to sell ``holdings`` (instrument → quantity, None for
        all of it; every holding when none is named): the answer's ``url`` is the page where a
        person completes it (an account without DDPI)."""
        body = _request(
            HoldingsAuthoriseIn,
            {
                "holdings": [
                    {"instrument": instrument, "quantity": quantity}
                    for instrument, quantity in (holdings or {}).items()
                ]
            },
        )
        return await self._call("POST", "/api/holdings/authorise", _AUTHORISATION, json=_dump(body))

    # -- desk ----------------------------------------------------------------------------------

    async def health(self) -> HealthOut:
        return await self._call("GET", "/api/health", _HEALTH)

    async def doctor(self) -> DoctorOut:
        """The morning pre-flight (``GET /api/doctor``): whether trading can work now."""
        return await self._call("GET", "/api/doctor", _DOCTOR)

    async def quiet(self) -> bool:
        """Whether no order waits on an answer from the broker (being placed, outcome unknown,
        modify or cancel pending): one ``GET /api/health``."""
        return (await self.health()).quiet

    async def wait_quiet(
        self,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - mirrors wait()
        interval: float = 0.2,
    ) -> HealthOut:
        """Ask :meth:`health` every ``interval`` seconds until the desk is quiet; no time
        limit unless ``timeout`` (seconds) is given: then ``TimeoutError``."""
        async with asyncio.timeout(timeout):
            while True:
                health = await self.health()
                if health.quiet:
                    return health
                await asyncio.sleep(interval)

    async def kill_switch(self) -> KillSwitchOut:
        return await self._call("GET", "/api/kill-switch", _KILL)

    async def set_kill_switch(
        self, engaged: bool, reason: str = "", *, cancel_open: bool = False
    ) -> KillSwitchOut:
        body = {"engaged": engaged, "reason": reason, "cancel_open": cancel_open}
        return await self._call("POST", "/api/kill-switch", _KILL, json=body)

    async def pending(self) -> list[PendingOut]:
        return await self._call("GET", "/api/approvals", _PENDINGS)

    async def approve(self, approval_id: str) -> OrderOut:
        """Submit the parked signal; answers with the order it became."""
        return await self._call("POST", f"/api/approvals/{approval_id}/approve", _ORDER)

    async def reject(self, approval_id: str, reason: str = "") -> PendingOut:
        path = f"/api/approvals/{approval_id}/reject"
        return await self._call("POST", path, _PENDING, json={"reason": reason})

    async def reconcile(self) -> ReconcileOut:
        """Compare the desk with the broker now; mismatches are recorded and alerted."""
        return await self._call("POST", "/api/reconcile", _RECONCILE)

    async def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """Any other route's JSON (e.g. ``/api/reconcile``); ``params`` are its query, encoded
        here (a ``?`` written into ``path`` is a character of the path, not a query)."""
        return (await self._send("GET", path, params=params))[1]

    async def post_json(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        return (await self._send("POST", path, json=dict(body or {})))[1]

    async def put_json(self, path: str, body: Mapping[str, Any]) -> Any:
        return (await self._send("PUT", path, json=dict(body)))[1]

    async def delete_json(self, path: str) -> Any:
        return (await self._send("DELETE", path))[1]

    # -- transport -----------------------------------------------------------------------------

    async def _call(self, method: str, path: str, adapter: TypeAdapter[M], **kwargs: Any) -> M:
        """Send one request; return the reply validated by ``adapter``."""
        status, body = await self._exchange(method, path, **kwargs)
        if status >= 400:
            self._check(status, body.decode("utf-8", "replace"))
        if not body:
            reason = f"the desk answered {method} {path} with an empty reply ({status})"
            raise DeskClientError(f"{status}: {reason}", status=status, reason=reason)
        return adapter.validate_json(body)  # parsed once, by the model, from the bytes

    async def _send(self, method: str, path: str, **kwargs: Any) -> tuple[str, dict[str, Any]]:
        status, body = await self._exchange(method, path, **kwargs)
        text = body.decode("utf-8", "replace")
        return text, self._check(status, text)

    async def _exchange(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        if self._wire is None:
            raise RuntimeError("use DeskClient as `async with`")
        if json is not None:
            data, headers = _encode_json(json), _JSON
        sent = {**self._headers, **headers} if headers else self._headers
        try:
            async with asyncio.timeout(self._total):
                reply = await self._wire.request(method, target(path, params), sent, data)
        except (ConnectFailed, ConnectTimeout) as exc:
            raise self._unreachable(exc) from None  # nothing was sent
        except WireError as exc:
            raise self._cut_off(method, path, f"stopped answering ({type(exc).__name__})") from None
        except TimeoutError:
            raise self._cut_off(method, path, "did not answer in time") from None
        if 300 <= reply.status < 400:
            # The API answers no route with a redirect of its own: this is Starlette's for a
            # path no route has (``/api/orders/`` for an empty order id), and following it
            # would send the request somewhere else than asked.
            reason = f"{method} {path} is not a route of the desk's API (it redirects)"
            raise DeskClientError(f"{reply.status}: {reason}", status=reply.status, reason=reason)
        return reply.status, reply.body

    async def _order_updates(self, order_id: str) -> AsyncGenerator[OrderOut, None]:
        """The order as it is now, then after each change, from the desk's event stream."""
        if self._wire is None:
            raise RuntimeError("use DeskClient as `async with`")
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession()
        # The stream stays open as long as a wait lasts; only connecting is bounded.
        stream_timeout = aiohttp.ClientTimeout(total=None, sock_connect=self._connect)
        opened = False
        try:
            async with self._session.get(
                self._base + "/api/events", headers=self._headers, timeout=stream_timeout
            ) as response:
                if response.status >= 400:
                    self._check(response.status, await response.text())
                opened = True
                async for kind, data in _sse_messages(response.content):
                    if kind == "snapshot":
                        # Subscribed before the snapshot was taken: no change falls between.
                        today = [o for o in data["orders"] if o["order_id"] == order_id]
                        yield (
                            _ORDER.validate_python(today[0])
                            if today
                            else await self.order(order_id)
                        )
                    elif kind == "order" and data.get("order_id") == order_id:
                        yield _ORDER.validate_python(data)
        except aiohttp.ClientError as exc:
            # Once open, any failure of the stream is the desk going away mid-stream (killed:
            # ClientPayloadError, a chunked body cut short, is no ClientConnectionError).
            raise (self._stream_ended(exc) if opened else self._unreachable(exc)) from None

    def _unreachable(self, exc: Exception) -> DeskUnavailable:
        return DeskUnavailable(
            f"no order desk answered at {self._base} ({type(exc).__name__}); "
            "is `orderdesk run` running?"
        )

    def _cut_off(self, method: str, path: str, what: str) -> DeskUnavailable:
        """No answer to a request that may have reached the desk: it was not said "nobody
        answered", which a strategy would read as nothing done and send its signal again
        under a new id (a second order)."""
        reason = f"the order desk at {self._base} {what} after the request was sent"
        message = reason
        # ``reason`` without the advice: the CLI gives its own (the command to run again).
        if path == "/api/signals":
            message += (
                ": it may have carried it out (a signal sent again with the same signal id "
                "is answered with its order, never placed twice)"
            )
        elif method != "GET":
            message += ": it may have carried it out (look before asking again)"
        error = DeskUnavailable(message, reason=reason)
        error.may_have_arrived = True
        return error

    def _stream_ended(self, exc: Exception | None = None) -> DeskUnavailable:
        cause = f" ({type(exc).__name__})" if exc is not None else ""
        return DeskUnavailable(f"the order desk at {self._base} ended its event stream{cause}")

    def _check(self, status: int, text: str) -> dict[str, Any]:
        """The reply's body, or the API's refusal raised as a :class:`DeskClientError`."""
        body = _json_or_text(text)
        if 400 <= status < 500 and not isinstance(body.get("error"), str):
            # The desk words every refusal with its ``error``; a 4xx without one (a bare 404
            # "Not Found") is some other server at this address, not a refusal of the request.
            raise DeskUnavailable(
                f"{self._base} answered {status} and is not an orderdesk desk "
                f"(check --url or the {ADDRESS_FILE_NAME} file)",
                status=status,
                body=body,
            )
        if status == 401:
            raise DeskAuthError(
                "the API token was refused (see `orderdesk config show-token`)",
                status=status,
                body=body,
            )
        if status >= 400:
            reason = _describe(body, text)
            raise DeskClientError(f"{status}: {reason}", status=status, body=body, reason=reason)
        return body


async def _sse_messages(stream: aiohttp.StreamReader) -> AsyncIterator[tuple[str, Any]]:
    """Server-sent events as (event name, JSON data). Read in chunks, not lines: a snapshot's
    one ``data:`` line can outgrow aiohttp's line limit."""
    pending = b""
    async for chunk in stream.iter_any():
        pending += chunk
        while b"\n\n" in pending:
            raw, pending = pending.split(b"\n\n", 1)
            kind, data = "message", []
            for line in raw.decode("utf-8").splitlines():
                if line.startswith("event:"):
                    kind = line.removeprefix("event:").strip()
                elif line.startswith("data:"):
                    data.append(line.removeprefix("data:").strip())
            if data:
                yield kind, json.loads("\n".join(data))


def _signal_in(signal: Signal) -> SignalIn:
    """The API's request for a domain signal (the inverse of ``SignalIn.to_signal``)."""
    return _request(
        SignalIn,
        {
            "instrument": str(signal.instrument),
            "side": signal.side,
            "quantity": signal.quantity,
            "order_type": signal.order_type,
            "product": signal.product.value,
            "variety": signal.variety,
            "validity": signal.validity,
            "price": signal.price,
            "trigger_price": signal.trigger_price,
            "disclosed_quantity": signal.disclosed_quantity,
            "validity_ttl": signal.validity_ttl,
            "iceberg_legs": signal.iceberg_legs,
            "iceberg_quantity": signal.iceberg_quantity,
            "auction_number": signal.auction_number,
            "market_protection": signal.market_protection,
            "strategy": signal.strategy,
            "signal_id": signal.signal_id,
            "tag": signal.tag,
        },
    )


def _request(model: type[R], fields: Mapping[str, Any]) -> R:
    """The API's request ``model`` from a method's arguments. A bad one raises orderdesk's
    :class:`~orderdesk.domain.errors.ValidationError` in one line naming the field, as a
    domain :class:`Signal` does, not pydantic's report of several lines."""
    try:
        return model.model_validate(fields)
    except pydantic.ValidationError as exc:
        raise _invalid(exc) from None


def _invalid(exc: pydantic.ValidationError) -> ValidationError:
    """pydantic's objections as one error: the first field and reason, then any others."""
    problems = [
        (".".join(str(part) for part in error["loc"]) or "request", error["msg"])
        for error in exc.errors(include_url=False, include_input=False)
    ]
    (field, reason), *others = problems
    return ValidationError(field, "; ".join([reason, *(f"{f}: {r}" for f, r in others)]))


def _describe(body: Mapping[str, Any], text: str) -> str:
    """The API's error in one line: the check or fields named, then the message, each once
    (the API's message for a bad field already is "field: reason")."""
    message = str(body.get("message") or body.get("detail") or text[:200])
    check = body.get("check")
    if check and not message.startswith(f"{check}:"):
        message = f"{check}: {message}"
    fields = body.get("fields")
    named = [
        f"{f.get('field')}: {f.get('reason')}"
        for f in (fields if isinstance(fields, list) else [])
        if isinstance(f, dict)
    ]
    return "; ".join([message, *(n for n in named if n not in message)])


def _encode_json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


def _json_or_text(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {"message": text[:200]}
    return value if isinstance(value, dict) else {"data": value}


__all__ = [
    "RETRY_AFTER_LOGIN",
    "TRANSIENT",
    "DeskAuthError",
    "DeskClient",
    "DeskClientError",
    "DeskUnavailable",
    "desk_url",
]
