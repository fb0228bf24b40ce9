"""How one simulator run is set up: address, credentials, seed and the behaviour switches.

The defaults are what ``orderdesk sim`` uses when no flag is given. Tests build a
:class:`SimConfig` with ``port=0`` and ``price_tick_interval=None`` so prices move only when the
test says so.

``market_hours="nse"`` switches the trading day on (:mod:`orderdesk.sim.days`): sessions,
square-off, mass cancel and the 06:00 rollover on the :attr:`SimConfig.calendar` built from
``holidays`` and ``hours``. Without it the market is always open and days never end.

Kite reports the app an order came through by its numeric ``app_id`` (postbacks, the ticker's
order messages, the ``meta`` of a GTT's order; KITE_API.md §11). The simulator's is
:attr:`SimConfig.app_id` when given, else one derived from ``api_key``
(:func:`app_id_of`), so the same key always reports the same app.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from orderdesk.domain.calendar import (
    DEFAULT_HOURS,
    Segment,
    SegmentHours,
    SessionHours,
    TradingCalendar,
)
from orderdesk.holidays import NSE_HOLIDAYS

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def app_id_of(api_key: str) -> int:
    """A stable five-digit app id for ``api_key`` (Kite's look like ``12617``; never 0)."""
    return 10_000 + zlib.crc32(api_key.encode()) % 90_000


@dataclass(slots=True)
class SimConfig:
    """Everything a simulator run needs to know before it starts."""

    host: str = "127.0.0.1"
    port: int = 8765
    api_key: str = "sim_api_key"
    api_secret: str = field(default="sim_api_secret", repr=False)
    app_id: int | None = None
    """Kite's numeric id of the app; ``None`` derives one from ``api_key``
    (:attr:`effective_app_id` is the one reported)."""
    seed: int = 0
    redirect_url: str = "http://127.0.0.1:5000/callback"
    instruments: Path | None = None
    rate_limits: bool = True
    market_hours: str | None = None
    """``"nse"`` enforces NSE sessions (AMO outside them); ``None`` keeps the market always open."""
    postback_url: str | None = None
    login_form: bool = False
    price_tick_interval: float | None = 1.0
    """Seconds between random-walk steps; ``None`` = prices move only via ``/_sim/prices``."""
    user_id: str = "AB1234"
    opening_cash: Decimal = Decimal("1000000")
    orders_per_second: int = 10
    orders_per_minute: int = 400
    orders_per_day: int = 5000
    max_modifications: int = 25
    holidays: frozenset[date] = NSE_HOLIDAYS
    """Exchange holidays (weekends are always closed); default: NSE's published 2026 list."""
    special_sessions: frozenset[date] = frozenset()
    """Dates traded though on a weekend or holiday, with the usual hours (``--special-session``)."""
    session_hours: Mapping[date, SessionHours] = field(default_factory=dict)
    """Special sessions with hours of their own, a Muhurat evening
    (``--special-session YYYY-MM-DD@HH:MM-HH:MM``)."""
    hours: Mapping[Segment, SegmentHours] = field(default_factory=lambda: dict(DEFAULT_HOURS))
    """Each segment's square-off and mass-cancel times (IST)."""
    faults: Mapping[str, float | bool] = field(default_factory=dict)
    """Fault switches on from the start, as ``POST /_sim/faults`` sets them (``orderdesk sim
    --fault NAME=VALUE``); ``POST /_sim/reset`` still switches every fault off."""
    holdings_authorisation: bool = False
    """An account without DDPI: selling holdings needs the day's depository authorisation
    (``--holdings-authorisation``, :mod:`orderdesk.sim.authorisation`)."""
    allowed_ips: tuple[str, ...] | None = None
    """Source addresses from which place, modify and cancel are accepted (Kite's static-IP
    rule, :mod:`orderdesk.sim.static_ip`); ``None`` accepts every address."""

    def __post_init__(self) -> None:
        if self.app_id is not None and self.app_id <= 0:
            raise ValueError(f"app_id must be a positive number, got {self.app_id}")

    @property
    def effective_app_id(self) -> int:
        """The app id Kite would report for this app: :attr:`app_id`, or one derived from
        ``api_key``."""
        return app_id_of(self.api_key) if self.app_id is None else self.app_id

    @property
    def calendar(self) -> TradingCalendar:
        """The trading calendar these holidays, special sessions and hours make."""
        return TradingCalendar(
            holidays=self.holidays,
            hours=self.hours,
            sessions=self.special_sessions,
            session_hours=self.session_hours,
        )

    @property
    def trading_days(self) -> bool:
        """True when the simulator keeps trading days (``market_hours="nse"``)."""
        return self.market_hours is not None

    @property
    def is_loopback(self) -> bool:
        """True when the server only listens on this machine (test control is allowed then)."""
        return self.host in LOOPBACK_HOSTS


__all__ = ["LOOPBACK_HOSTS", "SimConfig", "app_id_of"]
