"""``orderdesk doctor``'s look at the Kite adapter's own path: where it leaves from, whether
Kite takes order writes from there, Kite's clock, and the order rate spent.

**The probe.** Kite's static-IP rule (KITE_API.md §14.2) refuses place, modify and cancel from
an unregistered address, and only those, so only an order write can test it. The probe is a
cancel of an order id that cannot exist (:data:`PROBE_ORDER_ID`): whatever Kite checks first,
it can change nothing, place nothing and block no margin, where a deliberately invalid placement
could be taken as valid should Kite change its validation. Its cost is one order request of the
per-second and per-minute rate (a cancel spends none of the day's 5,000 placements).

What it proves is limited, and said so: whether Kite checks the address before it looks the
order id up is unverified. A refusal naming the address proves the address is not accepted. An
"order not found" answer is reported as accepted, though it would also be Kite's answer if it
looked up the order first; the first real order then settles it (a refusal there is a CRITICAL
alert naming the address). A refused session or a failure tells nothing about the address.

**The address.** The one connections to Kite's host leave from is the one the kernel picks
for that destination on the pinned family (or the bound ``source_address``), found by
connecting a UDP socket, which sends nothing; aiohttp does not say which local address a
finished exchange used (the connection is back in its pool by then).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import deque
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from orderdesk.brokers.kite.client import KiteRestClient
from orderdesk.brokers.kite.config import KiteConfig
from orderdesk.brokers.kite.http import FAMILIES, Observation
from orderdesk.errors import (
    AddressRefused,
    BrokerAuthError,
    BrokerError,
    BrokerRateLimited,
    BrokerRejected,
)
from orderdesk.ports.preflight import OrderRate, Preflight, Verdict

PROBE_ORDER_ID = "000000000000000000"
"""An order id Kite never issues (its ids are a day's date and a sequence number)."""
PROBE = f"cancel of order {PROBE_ORDER_ID}, which cannot exist (changes nothing)"


class RequestTimes:
    """When this process sent order requests (place, modify, cancel) in the last minute.

    Kite counts order requests per user, on its own clock; this sees only the desk's, which is
    what the desk can spend or save.
    """

    def __init__(self) -> None:
        self._times: deque[float] = deque()

    def note(self) -> None:
        now = time.monotonic()
        self._times.append(now)
        self._forget(now)

    def counts(self) -> tuple[int, int]:
        """Requests in the last second and the last minute."""
        now = time.monotonic()
        self._forget(now)
        return sum(1 for at in self._times if now - at < 1.0), len(self._times)

    def _forget(self, now: float) -> None:
        while self._times and now - self._times[0] >= 60.0:
            self._times.popleft()


async def leaving_address(config: KiteConfig) -> str | None:
    """The local address a connection to Kite's REST host leaves from (None: no route, or the
    host does not resolve on the pinned family)."""
    parts = urlsplit(config.root)
    host = parts.hostname
    if host is None:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(
            host, port, family=FAMILIES[config.ip_family], type=socket.SOCK_STREAM
        )
        family, _, _, _, address = found[0]
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            if config.source_address is not None:
                probe.bind((config.source_address, 0))
            probe.connect(address)
            return str(probe.getsockname()[0])
    except (OSError, IndexError):
        return None


def _moment(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _broker_time(header: str | None) -> datetime | None:
    if not header:
        return None
    try:
        return parsedate_to_datetime(header).astimezone(UTC)
    except (TypeError, ValueError):
        return None  # a malformed Date says nothing about Kite's clock


def _verdict(error: BaseException | None) -> tuple[Verdict, str]:
    if error is None:
        return Verdict.ACCEPTED, "Kite accepted the cancel (of an order that cannot exist)"
    if isinstance(error, AddressRefused):
        return Verdict.REFUSED, str(error)
    if isinstance(error, BrokerAuthError):
        return (
            Verdict.SESSION_REFUSED,
            f"the session was refused ({error}); run `orderdesk login`",
        )
    if isinstance(error, BrokerRateLimited):
        return Verdict.THROTTLED, f"the broker is throttling orders now (HTTP 429: {error})"
    if isinstance(error, BrokerRejected):
        said = error.error_type or f"HTTP {error.http_status}"
        return Verdict.ACCEPTED, f"Kite did not refuse the address ({said}: {error})"
    return Verdict.UNKNOWN, f"no answer that tells ({type(error).__name__}: {error})"


async def check_path(client: KiteRestClient, config: KiteConfig, sent: RequestTimes) -> Preflight:
    """Read the day's book (Kite's count of today's orders), then send the probe. Neither
    waits out a throttle nor tries again: the doctor reports what the broker says now (a 429's
    re-queues alone could hold it for minutes)."""
    second, minute = sent.counts()
    try:
        today: int | None = len(await client.orders(patient=False))
    except BrokerError:
        today = None
    limits = config.rate_limits()
    rate = OrderRate(
        this_second=second,
        this_minute=minute,
        today=today,
        per_second=limits.order_per_second,
        per_minute=limits.orders_per_minute,
        per_day=limits.orders_per_day,
    )
    exchange = Observation()
    sent.note()
    error: BaseException | None = None
    try:
        await client.probe_order_path(PROBE_ORDER_ID, exchange)
    except BrokerError as exc:
        error = exc
    verdict, answer = _verdict(error)
    return Preflight(
        configured_address=config.source_address,
        family=config.ip_family,
        local_address=await leaving_address(config),
        verdict=verdict,
        probe=PROBE,
        answer=answer,
        sent_at=_moment(exchange.sent_at),
        answered_at=_moment(exchange.answered_at),
        broker_time=_broker_time(exchange.date),
        rate=rate,
    )


__all__ = ["PROBE", "PROBE_ORDER_ID", "RequestTimes", "check_path"]
