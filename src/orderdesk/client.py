"""A Python client for a running desk's HTTP API (``orderdesk run``).

Strategy processes other than the daemon submit through it; the CLI's trading commands are thin
wrappers around it. Every failure is a :class:`DeskClientError` with the API's own words::

    async with DeskClient("http://127.0.0.1:8700", token) as desk:
        result = await desk.submit(SignalIn(instrument="NSE:INFY", side="BUY", ...))

A signal refused because the broker session is gone carries ``error == "session_expired"``
(``"day_not_open"`` before today's trading day could be opened): nothing was recorded, so the
same signal, sent again after the login, is placed once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp
from pydantic import BaseModel, TypeAdapter

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
from orderdesk.errors import OrderDeskError
from orderdesk.logging import register_secret

M = TypeVar("M")
_SUBMIT = TypeAdapter(SubmitOut)
_ORDERS = TypeAdapter(list[OrderOut])
_ORDER = TypeAdapter(OrderOut)
_POSITIONS = TypeAdapter(list[PositionOut])
_HEALTH = TypeAdapter(HealthOut)
_KILL = TypeAdapter(KillSwitchOut)
_PENDINGS = TypeAdapter(list[PendingOut])
_PENDING = TypeAdapter(PendingOut)
_RECONCILE = TypeAdapter(ReconcileOut)
_STRATEGIES = TypeAdapter(list[StrategyOut])
_SESSION = TypeAdapter(SessionOut)
_DAYS = TypeAdapter(list[DayOut])
_DAY = TypeAdapter(DayDetailOut)
_HOLDINGS = TypeAdapter(list[HoldingOut])
RETRY_AFTER_LOGIN = frozenset({"session_expired", "day_not_open"})
"""The API's ``error`` words for a signal refused before anything was recorded: send the same
signal again once a login has reached the desk (or the day has opened)."""
# ``sock_connect``, not ``connect``: aiohttp's ``connect`` also counts the wait for a free
# pooled connection, so a strategy with hundreds of requests in flight would time out in its
# own queue while the desk is healthy (seen with 3 × 600 concurrent submissions).
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=5)


class DeskClientError(OrderDeskError):
    """The API refused a request, or could not be reached."""

    def __init__(
        self, message: str, *, status: int | None = None, body: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = dict(body or {})

    @property
    def error(self) -> str | None:
        """The API's machine word (``session_expired``, ``risk_denied``, ``not_found``…)."""
        word = self.body.get("error")
        return word if isinstance(word, str) else None

    @property
    def retry_after_login(self) -> bool:
        """Whether the same request may succeed once a login reaches the desk (nothing was
        recorded for it)."""
        return self.error in RETRY_AFTER_LOGIN


class DeskUnavailable(DeskClientError):
    """Nothing answered at the desk's address."""


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
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._session = session
        self._owns_session = session is None
        self._timeout = timeout

    def __repr__(self) -> str:  # the token stays out of reprs and tracebacks
        return f"DeskClient({self._base!r})"

    async def __aenter__(self) -> Self:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()

    # -- trading -------------------------------------------------------------------------------

    async def submit(self, signal: SignalIn) -> SubmitOut:
        return await self._call("POST", "/api/signals", _SUBMIT, json=_dump(signal))

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
    ) -> OrderOut:
        body = ModifyIn(quantity=quantity, price=price, trigger_price=trigger_price)
        return await self._call("PATCH", f"/api/orders/{order_id}", _ORDER, json=_dump(body))

    async def cancel(self, order_id: str) -> OrderOut:
        return await self._call("DELETE", f"/api/orders/{order_id}", _ORDER)

    async def cancel_all(self) -> list[OrderOut]:
        return await self._call("POST", "/api/orders/cancel-all", _ORDERS)

    async def positions(self) -> list[PositionOut]:
        return await self._call("GET", "/api/positions", _POSITIONS)

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

    async def days(self) -> list[DayOut]:
        """Every trading day in the log, newest first."""
        return await self._call("GET", "/api/days", _DAYS)

    async def day(self, day: date) -> DayDetailOut:
        """One trading day in full: positions, orders, holdings."""
        return await self._call("GET", f"/api/days/{day.isoformat()}", _DAY)

    async def holdings(self) -> list[HoldingOut]:
        """Delivered stock as the broker showed it when today's trading day opened."""
        return await self._call("GET", "/api/holdings", _HOLDINGS)

    # -- desk ----------------------------------------------------------------------------------

    async def health(self) -> HealthOut:
        return await self._call("GET", "/api/health", _HEALTH)

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

    async def get_json(self, path: str) -> Any:
        """Any other route's JSON (e.g. ``/api/reconcile``)."""
        return (await self._send("GET", path))[1]

    async def post_json(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        return (await self._send("POST", path, json=dict(body or {})))[1]

    # -- transport -----------------------------------------------------------------------------

    async def _call(self, method: str, path: str, adapter: TypeAdapter[M], **kwargs: Any) -> M:
        """Send one request; return the reply validated by ``adapter``."""
        text, _ = await self._send(method, path, **kwargs)
        return adapter.validate_json(text)

    async def _send(self, method: str, path: str, **kwargs: Any) -> tuple[str, dict[str, Any]]:
        if self._session is None:
            raise RuntimeError("use DeskClient as `async with`")
        try:
            async with self._session.request(
                method, self._base + path, headers=self._headers, **kwargs
            ) as response:
                text = await response.text()
                status = response.status
        except aiohttp.ClientConnectionError as exc:
            raise DeskUnavailable(
                f"no order desk answered at {self._base} ({type(exc).__name__}); "
                "is `orderdesk run` running?"
            ) from None
        except TimeoutError:
            raise DeskUnavailable(
                f"the order desk at {self._base} did not answer in time"
            ) from None
        body = _json_or_text(text)
        if status == 401:
            raise DeskAuthError(
                "the API token was refused (see `orderdesk config show-token`)",
                status=status,
                body=body,
            )
        if status >= 400:
            raise DeskClientError(_describe(status, body, text), status=status, body=body)
        return text, body


def _describe(status: int, body: Mapping[str, Any], text: str) -> str:
    """The API's error in one line: status, the check or fields named, and the message."""
    message = body.get("message") or body.get("detail") or text[:200]
    named = [str(body["check"])] if body.get("check") else []
    fields = body.get("fields")
    if isinstance(fields, list):
        named += [f"{f.get('field')}: {f.get('reason')}" for f in fields if isinstance(f, dict)]
    return f"{status}: " + " — ".join([*named, str(message)])


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
    "DeskAuthError",
    "DeskClient",
    "DeskClientError",
    "DeskUnavailable",
]
